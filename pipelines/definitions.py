"""The Dagster code location: every dataset declared under `pipelines/defs/`, plus the workspace."""

from pathlib import Path

import dagster as dg

from pipelines.components.resources import TrainsetWorkspace

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
    dg.Definitions(resources={"workspace": TrainsetWorkspace()}),
)
