"""The Dagster code location: every dataset declared in the workspace, assembled in one place.

`build_definitions` is the only place that puts Definitions together: `dg dev`, `dg check defs`,
the schedules and sensors (through `defs` below), `trainset run` and the tests all call it. Each
dataset's `defs.yaml` becomes its TrainingDataset component's asset group, job, schedule and
sensor; the workspace resource and the in-process executor apply to all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.components.execution import Execution
from pipelines.components.resources import TrainsetWorkspace
from pipelines.components.training_dataset import TrainingDataset
from pipelines.lib.catalog import check_environment, dataset_specs
from pipelines.lib.release.killpoints import KillSwitch
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import default_workspace


def build_definitions(
    root: Path | None = None,
    *,
    datasets: Sequence[tuple[DatasetSpec, Path]] | None = None,
    as_of: date | None = None,
    kill_at: str | None = None,
) -> dg.Definitions:
    """The Definitions of a workspace (default: `default_workspace()`).

    `datasets` (spec, defs.yaml) overrides the datasets the workspace declares (tests pass specs
    with scaled bars); `as_of` fixes the reference day; `kill_at` names a release kill point
    (crash tests only). Returns the merged Definitions. Raises SpecError for an invalid spec and
    MissingEnvironmentError when a variable a spec declares under `requirements.env` is unset.

    Every job runs on the executor the environment declares (`components.execution`): in process
    by default, where the workspace resource is set up once per run and holds the dataset's run
    lock from the first step to the last; or on Celery workers. Raises ExecutionError for an
    executor the environment names wrongly."""
    root = Path(root or default_workspace()).resolve()
    KillSwitch(kill_at)  # an unknown point is an error now, not a release that never dies
    declared = list(datasets) if datasets is not None else list(dataset_specs(root).values())
    check_environment([spec_file for _, spec_file in declared])
    execution = Execution.from_environment()
    workspace = TrainsetWorkspace(
        root=str(root),
        as_of=as_of.isoformat() if as_of else None,
        key_envs={spec.name: spec.privacy.key_env for spec, _ in declared},
        kill_at=kill_at,
        distributed=execution.distributed,
    )
    return dg.Definitions.merge(
        *(dg.build_defs_for_component(TrainingDataset(spec, spec_file)) for spec, spec_file in declared),
        dg.Definitions(resources={"workspace": workspace}, executor=execution.executor_def()),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dg dev` and `dg check defs` load: the datasets of `$TRAINSET_WORKSPACE`, else of this project."""
    return build_definitions()
