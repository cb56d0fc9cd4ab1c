"""A backfill of a dataset's days through the deployment: Dagster's asset backfill, launched on the
webserver's GraphQL endpoint (as the UI launches one), run by the daemon from the queue in batches
of days, each step on a Celery worker.

The exports are landed first, under the dataset's run lock, as `trainset run` lands them; the
daemon then runs ingest once over the range, redaction in runs of `TRAINSET_DAYS_PER_RUN` days
side by side, and the whole-history steps once after the last day.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipelines.components.resources import AS_OF_TAG
from pipelines.deployment.local import Deployment, DeploymentError, running_pid
from pipelines.lib.spec import DatasetSpec

#: the run tag the deployment's queue limits runs by (deploy/dagster.yaml)
DATASET_TAG = "trainset/dataset"

_BACKFILL_STATUS = """
query BackfillStatus($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 1000) { runId status } }
    ... on PythonError { message }
    ... on BackfillNotFoundError { message }
  }
}
"""


@dataclass
class BackfillOutcome:
    """How a backfill ended: its status, its runs by status, and the steps each worker ran."""

    backfill_id: str
    status: str
    runs: Counter = field(default_factory=Counter)
    steps_by_worker: dict[str, list[str]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == "COMPLETED_SUCCESS" and set(self.runs) <= {"SUCCESS"}


class BackfillError(DeploymentError):
    """The deployment answered, but refused the backfill or failed to report it."""

    exit_code = 1  # the backfill failed, as a failed run does


def launch(
    deployment: Deployment, spec: DatasetSpec, start: date, end: date, as_of: date, *, asset_names: list[str]
) -> str:
    """Ask the webserver for an asset backfill of the dataset's assets over [start, end], as of
    `as_of` (every run's reference day, as `trainset run` fixes it); returns its id. Raises
    DeploymentError when the deployment is not running or refuses the backfill."""
    if running_pid(deployment, "webserver") is None or running_pid(deployment, "daemon") is None:
        raise DeploymentError(f"the deployment of {deployment.root} is not running: start it with `make deploy-local`")
    from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION

    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    params = {
        "partitionNames": days,
        "assetSelection": [{"path": [spec.name, name]} for name in asset_names],
        "tags": [{"key": DATASET_TAG, "value": spec.name}, {"key": AS_OF_TAG, "value": as_of.isoformat()}],
        "title": f"{spec.name} {days[0]}..{days[-1]}",
    }
    answer = _graphql(deployment, LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params})
    launched = answer["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        raise BackfillError(
            f"the deployment at {deployment.url} refused the backfill of {spec.name}: "
            f"{_first_line(launched.get('message', launched['__typename']))}; {_logs(deployment)}"
        )
    return launched["backfillId"]


def wait(deployment: Deployment, backfill_id: str, timeout: float = 1800.0, poll: float = 2.0) -> BackfillOutcome:
    """Wait for the backfill to end (or `timeout` seconds); returns its outcome, with the Celery
    worker that ran each step (from the run's engine events). Raises DeploymentError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        answer = _graphql(deployment, _BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if answer["__typename"] != "PartitionBackfill":
            cause = _first_line(answer.get("message", answer["__typename"]))
            raise BackfillError(f"backfill {backfill_id}: {cause}; {_logs(deployment)}")
        status = answer["status"]
        if status not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        if time.monotonic() > deadline:
            raise DeploymentError(f"backfill {backfill_id} still {status} after {timeout:.0f} s: see {deployment.url}")
        time.sleep(poll)
    run_ids = [run["runId"] for run in answer["runs"]]
    return BackfillOutcome(
        backfill_id=backfill_id,
        status=status,
        runs=Counter(run["status"] for run in answer["runs"]),
        steps_by_worker=steps_by_worker(deployment, run_ids),
    )


def steps_by_worker(deployment: Deployment, run_ids: list[str]) -> dict[str, list[str]]:
    """Each Celery worker's host name and the steps (`run id prefix:step key`) it executed, from
    dagster-celery's "Executing steps ... in celery worker" engine events."""
    import os

    import dagster as dg

    os.environ.setdefault("TRAINSET_DAGSTER_PG_URL", deployment.pg_url)
    by_worker: dict[str, list[str]] = {}
    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        for run_id in run_ids:
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                event = entry.dagster_event
                data = getattr(event, "event_specific_data", None)
                metadata = getattr(data, "metadata", None) or {}
                worker = metadata.get("Celery worker")
                if worker is not None:
                    by_worker.setdefault(str(worker.value), []).append(f"{run_id[:8]}:{entry.step_key}")
    return by_worker


@dataclass
class RunFigures:
    """One run of a backfill: when it started and ended (epoch seconds), how it ended, the days it
    covered, and each step's first start and last end (a retried step spans its retries)."""

    run_id: str
    status: str
    start: float
    end: float
    partitions: str
    steps: dict[str, tuple[float, float]]


def backfill_runs(instance, backfill_id: str) -> list[RunFigures]:
    """Every run a backfill launched, in the order they started, with their steps' spans from the
    instance's event log (step keys without the dataset's prefix)."""
    import dagster as dg

    step_events = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE"}
    runs = []
    for record in instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id})):
        run, tags = record.dagster_run, record.dagster_run.tags
        first = tags.get("dagster/asset_partition_range_start", tags.get("dagster/partition", ""))
        last = tags.get("dagster/asset_partition_range_end", first)
        times: dict[str, list[float]] = {}
        for entry in instance.all_logs(run.run_id):
            if entry.dagster_event is not None and entry.dagster_event.event_type_value in step_events:
                times.setdefault(str(entry.step_key).split("__", 1)[-1], []).append(entry.timestamp)
        steps = {key: (min(ts), max(ts)) for key, ts in sorted(times.items(), key=lambda item: min(item[1]))}
        start = record.start_time or record.create_timestamp.timestamp()
        partitions = first if first == last else f"{first}..{last}"
        runs.append(RunFigures(run.run_id, run.status.value, start, record.end_time or start, partitions, steps))
    return sorted(runs, key=lambda run: run.start)


def seconds_per_step(runs: list[RunFigures]) -> dict[str, tuple[int, float]]:
    """Each step (an asset of the dataset): in how many runs it ran, and its seconds summed over them."""
    summed: dict[str, tuple[int, float]] = {}
    for run in runs:
        for step, (start, end) in run.steps.items():
            count, seconds = summed.get(step, (0, 0.0))
            summed[step] = (count + 1, seconds + end - start)
    return summed


def _graphql(deployment: Deployment, query: str, variables: dict) -> dict:
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.port)
    try:
        return client._execute(query, variables)  # noqa: SLF001 - the client has no backfill method
    except DagsterGraphQLClientError as error:
        # The client's own message is the whole query and its variables; the cause says what happened.
        cause = _first_line(error.__cause__ or error)
        raise BackfillError(
            f"the deployment's webserver at {deployment.url} could not take the request ({cause}); {_logs(deployment)}"
        ) from None


def _first_line(message: object, limit: int = 200) -> str:
    """The first line of a server's answer, cut at `limit` characters: its SQL, GraphQL query and
    variables stay in the logs."""
    line = (str(message).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _logs(deployment: Deployment) -> str:
    """Where to read more, and what to check."""
    return (
        f"its logs: {deployment.log_file('webserver')}, {deployment.log_file('daemon')} "
        f"(is that the deployment `trainset deploy status --workspace {deployment.root}` shows?)"
    )
