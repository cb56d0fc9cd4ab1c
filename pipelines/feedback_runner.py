"""Ingest a dataset's feedback events in process, as the Dagster daemon would: one tick of the
dataset's feedback sensor, a run of the ingestion job per requested day, then `feedback_metrics`.

`trainset feedback ingest`, the demo and the tests use this; `dg dev` with the daemon runs the same
sensor and job from the same `build_definitions`. The CLI's sensor cursor is kept in the
workspace (`data/feedback/<dataset>/sensor_cursor.json`); the daemon keeps its own in the Dagster
instance. Either may ingest a day again: a day is rewritten whole from the store, so that is
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.components.feedback_assets import OUTSIDE_TAG, feedback_job_name, metrics_job_name
from pipelines.definitions import build_definitions
from pipelines.lib.catalog import get_spec
from pipelines.lib.files import write_text
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


class FeedbackNotDeclaredError(ValueError):
    """The dataset declares no `feedback:` block."""

    exit_code = 2


@dataclass
class IngestSummary:
    """What one ingestion did: the days run, and the checks of `feedback_metrics`."""

    days: list[str] = field(default_factory=list)
    skipped: str | None = None
    failed: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    #: events no partition takes (before feedback.start, dated in the future), in words
    outside: str = ""


def ingest_feedback(
    spec: DatasetSpec, root: Path, *, instance: dg.DagsterInstance | None = None, log_level: str = "WARNING"
) -> IngestSummary:
    """Evaluate the feedback sensor once (from the workspace's stored cursor), run the ingestion
    job for each day it requests, and materialize feedback_metrics when any day was ingested (or
    none was ever measured). Raises FeedbackNotDeclaredError without a feedback block, and the
    store's FeedbackStoreError when the store cannot be read."""
    if spec.feedback is None:
        raise FeedbackNotDeclaredError(
            f"{spec.name} declares no feedback: add a `feedback:` block (store, start, segments) to its defs.yaml"
        )
    instance = instance or dg.DagsterInstance.get()  # $DAGSTER_HOME: the CLI sets it (cli.common)
    spec_file = get_spec(spec.name, root)[1]
    defs = build_definitions(root, datasets=[(spec, spec_file)])
    paths = DatasetPaths(root, spec.name)
    cursor_file = paths.feedback_work / "sensor_cursor.json"
    cursor = cursor_file.read_text() if cursor_file.is_file() else None
    sensor = defs.resolve_sensor_def(f"{spec.name}_feedback_sensor")
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"workspace": (defs.resources or {})["workspace"]}, definitions=defs
    ) as context:
        tick = sensor.evaluate_tick(context)
    summary = IngestSummary()
    if not tick.run_requests:
        summary.skipped = tick.skip_message or "no new feedback event"
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    job = defs.resolve_job_def(feedback_job_name(spec.name))
    for request in tick.run_requests or []:
        day = str(request.partition_key)
        result = job.execute_in_process(
            instance=instance, partition_key=day, run_config=run_config, raise_on_error=False
        )
        (summary.days if result.success else summary.failed).append(day)
        for event in result.get_asset_materialization_events():
            meta = event.step_materialization_data.materialization.metadata
            summary.events[day] = int(meta["dagster/row_count"].value)  # type: ignore[arg-type]
            summary.quarantined[day] = {
                key.removeprefix("removed/quarantined:"): int(value.value)  # type: ignore[arg-type]
                for key, value in meta.items()
                if key.startswith("removed/quarantined:") and value.value
            }
    # Said by the sensor: in its skip message, or in the tags of the runs it asks for.
    summary.outside = next((r.tags.get(OUTSIDE_TAG, "") for r in tick.run_requests or []), "")
    if tick.cursor is not None and not summary.failed:  # a failed day is asked for again next time
        write_text(tick.cursor, cursor_file)
    ingested = (paths.warehouse / "feedback_events").is_dir()
    if summary.days or (ingested and not paths.feedback_metrics.is_file()):
        result = defs.resolve_job_def(metrics_job_name(spec.name)).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
        for evaluation in result.get_asset_check_evaluations():
            verdict = "passed" if evaluation.passed else f"FAILED [{evaluation.severity.value}]"
            summary.checks.append(f"{evaluation.check_name}: {verdict}: {evaluation.description}")
        if not result.success:
            summary.failed.append("feedback_metrics")
    return summary
