"""The workspace resource: where a dataset's zones live, which day counts as "today", and what a run
holds for its whole duration: the dataset's run lock and its checked pseudonymisation key."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from pipelines.lib.locks import exclusive
from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.release.killpoints import KillSwitch
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths, default_workspace, last_complete_day


def job_name(dataset: str) -> str:
    """The Dagster job that materializes one dataset's whole graph."""
    return f"{dataset}_job"


#: a run's reference day when its resource does not fix one (a backfill through the deployment sets it)
AS_OF_TAG = "trainset/as_of"


def run_lock_name(dataset: str) -> str:
    """The workspace lock (`pipelines.lib.locks`) every run of a dataset holds, however it started."""
    return f"{dataset}.run"


class TrainsetWorkspace(dg.ConfigurableResource):
    """A trainset workspace: specs, suites, landing files, intermediate zones, releases, DVC and git.

    When a run starts (on the in-process executor, once per run), the resource takes the run
    lock of every dataset the run materializes, the same lock `trainset run` takes, and loads and
    checks each one's pseudonymisation key: a second run of a dataset, or a missing key, fails
    the run before any asset runs. On Celery (`distributed`), every step sets the resource up in
    its worker and holds the lock shared: the dataset's Dagster pool keeps its whole-history
    steps one at a time across runs, while days are redacted side by side."""

    root: str = Field(default_factory=default_workspace, description="Workspace folder.")
    as_of: str | None = Field(
        default=None,
        description="Reference day (YYYY-MM-DD) for retention and freshness; default: yesterday, UTC.",
    )
    key_envs: dict[str, str] = Field(
        default_factory=dict,
        description="Each declared dataset's name and the variable holding its pseudonymisation key "
        "(`privacy.key_env` of its spec).",
    )
    kill_at: str | None = Field(
        default=None,
        description="Crash tests only: the release point (pipelines.lib.release.killpoints.POINTS) at which "
        "the run kills itself with SIGKILL. Leave unset.",
    )
    distributed: bool = Field(
        default=False,
        description="Steps run in worker processes (the Celery executor): each holds the run lock shared.",
    )
    _keys: dict[str, bytes] = PrivateAttr(default_factory=dict)
    _run_as_of: str | None = PrivateAttr(default=None)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[TrainsetWorkspace]:
        """Hold the run lock of the run's datasets and their checked keys until the run ends.

        Raises LockedError (another run of a dataset is in progress) or MissingKeyError (a key
        is missing or unusable); Dagster reports either as the run's failure."""
        datasets = run_datasets(context.dagster_run, self.key_envs)
        if datasets and _finished(context):
            # Dagster sets the resources up once more after a run has ended (to hand back its
            # result); no step runs then, and the lock may already be another run's.
            datasets = set()
        root = Path(self.root).resolve()
        self._run_as_of = (context.dagster_run.tags.get(AS_OF_TAG) if context.dagster_run else None) or None
        with contextlib.ExitStack() as held:
            for name in sorted(datasets):
                held.enter_context(exclusive(root, run_lock_name(name), f"run of {name}", shared=self.distributed))
            self._keys = {name: load_key(self.key_envs[name]) for name in datasets}
            yield self

    def paths(self, dataset: str) -> DatasetPaths:
        """The dataset's zones in this workspace."""
        return DatasetPaths(Path(self.root).resolve(), dataset)

    def as_of_date(self) -> date:
        """The reference day: `as_of`, else the run's `trainset/as_of` tag, else yesterday (UTC)."""
        chosen = self.as_of or self._run_as_of
        return date.fromisoformat(chosen) if chosen else last_complete_day()

    def key(self, spec: DatasetSpec) -> bytes:
        """The dataset's pseudonymisation key, as checked when the run started (loaded now if this
        resource was built outside a run). Raises MissingKeyError if it is missing or unusable."""
        return self._keys.get(spec.name) or load_key(spec.privacy.key_env)

    def kill_switch(self) -> KillSwitch:
        """Where the release kills itself (crash tests), or nowhere."""
        return KillSwitch(self.kill_at)


def run_datasets(run, declared: Collection[str]) -> set[str]:
    """The declared datasets a Dagster run materializes: by its job (`<name>_job`) and by the assets
    and checks it selects (an asset materialized from the UI runs in Dagster's implicit asset job).
    Empty outside a run (a sensor's evaluation, a unit test)."""
    if run is None:
        return set()
    selected = set(run.asset_selection or ()) | {check.asset_key for check in run.asset_check_selection or ()}
    # Feedback ingestion reads the dataset's stored days and writes only its own zone: it runs
    # beside a run of the dataset, never waiting for its lock.
    by_asset = {key.path[0] for key in selected if len(key.path) > 1 and not key.path[-1].startswith("feedback_")}
    return {name for name in declared if run.job_name == job_name(name) or name in by_asset}


def _finished(context: dg.InitResourceContext) -> bool:
    """Whether the instance records the context's run as ended (success, failure or canceled)."""
    run = context.dagster_run
    if run is None or context.instance is None:
        return False
    stored = context.instance.get_run_by_id(run.run_id)
    return stored is not None and stored.is_finished
