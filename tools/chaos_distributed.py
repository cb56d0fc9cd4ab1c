"""`make chaos` (its distributed part): faults of a run on the deployment, against the machine's
real servers.

Each scenario starts the deployment (`trainset deploy start`, a PostgreSQL database of its own)
on a fresh copy of the same generated workspace, submits the dataset's job over every landed day
to the run queue (every step on a Celery worker), and injects one fault once a named step has
begun on a worker:

- worker killed: SIGKILL to the worker running the step and its pool;
- broker restarted: `rabbitmqctl stop_app`, then `start_app`;
- PostgreSQL restarted: the machine's cluster, `pg_ctlcluster <version> main restart`.

A fault is handled when the run succeeds, or fails and a second run succeeds, within the time
allowed; and the release then holds exactly the rows of the in-process baseline: the same
content hash, no id twice. Prints one line per fault; exits 1 if one was not handled.

This restarts the machine's RabbitMQ application and PostgreSQL cluster: run it when nothing
else is using them (it is not part of `make test`).

    python tools/chaos_distributed.py [--rows 6000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos import AS_OF, DATASET, GIT_IDENTITY, Outcome, make_template, run_pipeline, scaled_spec  # noqa: E402

from pipelines.lib.release.versions import read_manifest, versions  # noqa: E402

TRAINSET = str(Path(sys.executable).parent / "trainset")
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
STEP = f"{DATASET}__training_set"


def main() -> None:
    """Every distributed fault, one line each; exits 1 if one was not handled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--keep", action="store_true", help="keep the scenario workspaces for inspection")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="trainset-chaos-distributed-"))
    os.environ.setdefault("TRAINSET_PSEUDONYM_KEY", "chaos-pseudonymisation-key")
    os.environ["XDG_DATA_HOME"] = str(scratch / "data-home")
    try:
        spec = scaled_spec(args.rows)
        template = scratch / "template"
        make_template(template, args.rows, spec)
        baseline_root = scratch / "baseline"
        shutil.copytree(template, baseline_root)
        [(code, success, message)] = run_pipeline(baseline_root, spec)
        if not success:
            sys.exit(f"the in-process baseline did not release (exit {code}): {message}")
        baseline = read_manifest(_latest(baseline_root))
        faults: list[tuple[str, Callable[[Path, str], None]]] = [
            ("Celery worker killed mid-step", _kill_worker),
            ("broker restarted mid-step", _restart_broker),
            ("PostgreSQL restarted mid-run", _restart_postgres),
        ]
        outcomes = [_scenario(template, scratch, name, fault, baseline.content_sha256) for name, fault in faults]
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    for outcome in outcomes:
        print(f"{outcome.fault:<36} {'ok ' if outcome.ok else 'NOT HANDLED'}  {outcome.outcome}")
    failed = [o.fault for o in outcomes if not o.ok]
    print(f"\n{len(outcomes)} distributed faults, {len(failed)} not handled: {failed or 'none'}")
    sys.exit(1 if failed else 0)


def _scenario(template: Path, scratch: Path, name: str, fault: Callable[[Path, str], None], expected: str) -> Outcome:
    root = scratch / name.split()[0].lower()
    shutil.copytree(template, root)
    (root / ".gitignore").write_text("data/\n.deploy/\n")
    database = f"trainset_chaos_{uuid.uuid4().hex[:10]}"
    port = _free_port()
    env = (
        os.environ
        | GIT_IDENTITY
        | {"TRAINSET_DAGSTER_PG_URL": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"}
    )
    cli = lambda *a: subprocess.run([TRAINSET, *a, "--workspace", str(root)], env=env, capture_output=True, text=True)  # noqa: E731
    try:
        started = cli("deploy", "start", "--port", str(port), "--vhost", database)  # its own queues
        if started.returncode != 0:
            return Outcome(name, f"deployment did not start: {started.stderr.strip()[-200:]}", 0, False)
        os.environ["TRAINSET_DAGSTER_PG_URL"] = env["TRAINSET_DAGSTER_PG_URL"]
        days = _land(root)
        first = _submit(port, *days)
        _when_step_begins(root, first, lambda worker: fault(root, worker))
        status = _wait(root, first)
        story = f"first run {status}"
        if status != "SUCCESS":
            second = _submit(port, *days)
            status = _wait(root, second)
            story += f", second run {status}"
        if status != "SUCCESS":
            return Outcome(name, story, 0, False)
        manifest = read_manifest(_latest(root))
        ids = pd.concat(pd.read_parquet(f, columns=["ticket_id"]) for f in _latest(root).glob("*.parquet"))
        duplicates = int(ids["ticket_id"].duplicated().sum())
        same = manifest.content_sha256 == expected
        story += f"; release {'= baseline' if same else '!= baseline'}, {duplicates} ids twice"
        return Outcome(name, story, 0, same and duplicates == 0)
    finally:
        cli("deploy", "stop")
        subprocess.run(["psql", SERVER, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=False)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", database], capture_output=True, check=False)


def _land(root: Path) -> tuple[date, date, date]:
    """Land the workspace's exports as `trainset run` and `trainset backfill` do; returns (first day,
    last day, as-of day)."""
    from pipelines.lib.catalog import get_spec
    from pipelines.runner import prepare_run

    spec, spec_file = get_spec(DATASET, root)
    return prepare_run(spec, root, spec_file, as_of=AS_OF)


def _submit(port: int, first: date, last: date, as_of: date, attempts: int = 5) -> str:
    """Submit the dataset's job over the days (the one run of `trainset run`) to the queue. Right
    after PostgreSQL restarted, the webserver may answer once from a connection the restart
    closed: a user submits again, and so does this, up to `attempts` times, 3 s apart."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    from pipelines.components.assets import RANGE_END, RANGE_START
    from pipelines.components.resources import AS_OF_TAG

    tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), AS_OF_TAG: as_of.isoformat()}
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    for attempt in range(attempts):
        try:
            return client.submit_job_execution(f"{DATASET}_job", tags=tags | {"trainset/dataset": DATASET})
        except DagsterGraphQLClientError as error:
            if attempt == attempts - 1 or "OperationalError" not in str(error):
                raise
            time.sleep(3)
    raise AssertionError("unreachable")


def _instance(root: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(root / ".deploy" / "dagster_home"))


def _when_step_begins(root: Path, run_id: str, act: Callable[[str], None], timeout: float = 600) -> None:
    """Call `act(worker)` as soon as a Celery worker begins STEP in the run."""
    import dagster as dg

    deadline = time.monotonic() + timeout
    with _instance(root) as instance:
        while time.monotonic() < deadline:
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                metadata = getattr(entry.dagster_event.event_specific_data, "metadata", None) or {}
                if entry.step_key == STEP and "Celery worker" in metadata:
                    act(str(metadata["Celery worker"].value))
                    return
            time.sleep(0.2)
    raise TimeoutError(f"{STEP} did not begin within {timeout:.0f} s")


def _wait(root: Path, run_id: str, timeout: float = 900) -> str:
    """The run's final status, or HUNG when it has not ended in time (connections may fail while
    a server restarts: asked again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with _instance(root) as instance:
                run = instance.get_run_by_id(run_id)
                if run is not None and run.is_finished:
                    return run.status.value
        except Exception:  # noqa: BLE001 - the server is restarting
            pass
        time.sleep(2)
    return "HUNG"


def _kill_worker(root: Path, worker: str) -> None:
    pid = int((root / ".deploy" / f"{worker.split('@')[0]}.pid").read_text())
    os.killpg(pid, signal.SIGKILL)


def _restart_broker(root: Path, worker: str) -> None:
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
    time.sleep(2)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)


def _restart_postgres(root: Path, worker: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, capture_output=True
    )


def _latest(root: Path) -> Path:
    releases = root / "datasets" / DATASET
    return releases / f"v{versions(releases)[-1]}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
