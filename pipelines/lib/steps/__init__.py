"""The work of each asset, as plain functions over a workspace: read inputs, apply the pure
policies, write the output, return the row accounting. No Dagster here; assets stay thin."""

from pipelines.lib.steps.build import TrainingSetEvaluation, build_eligible, build_training_set
from pipelines.lib.steps.ingest import collect_quarantine, land_raw, redact_partitions
from pipelines.lib.steps.publish import release_training_set

__all__ = [
    "TrainingSetEvaluation",
    "build_eligible",
    "build_training_set",
    "collect_quarantine",
    "land_raw",
    "redact_partitions",
    "release_training_set",
]
