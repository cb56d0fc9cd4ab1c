"""The feedback side of a dataset's graph: `feedback_events` (daily partitions from the pilot's
start, filled by a sensor that reads the event store by watermark) and `feedback_metrics`
(acceptance, drift and their gates over every ingested day). Thin, like the dataset's assets: each
calls one function of `pipelines.lib.feedback`."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from pipelines.components.resources import TrainsetWorkspace
from pipelines.lib.feedback.gates import evaluate_feedback
from pipelines.lib.feedback.ingest import Cursor, ingest_day, ingested_counts, pending_days
from pipelines.lib.feedback.store import FeedbackStore
from pipelines.lib.files import write_json
from pipelines.lib.spec import DatasetSpec

ROW_COUNT = "dagster/row_count"
#: run tag of an ingestion run: the events no partition takes, in words (`ingest.outside_partitions`)
OUTSIDE_TAG = "trainset/feedback_outside"


def feedback_job_name(dataset: str) -> str:
    """The job that ingests days of a dataset's feedback events."""
    return f"{dataset}_feedback_job"


def metrics_job_name(dataset: str) -> str:
    """The job that measures a dataset's ingested feedback (the daemon runs it by automation)."""
    return f"{dataset}_feedback_metrics_job"


def build_feedback_defs(spec: DatasetSpec) -> dg.Definitions:
    """feedback_events, feedback_metrics (with the max_misroute_rate and max_feedback_drift checks),
    the ingestion job and its sensor. Empty Definitions when the spec declares no feedback."""
    if spec.feedback is None:
        return dg.Definitions()
    feedback = spec.feedback
    key = lambda name: dg.AssetKey([spec.name, name])  # noqa: E731
    # end_offset=1: today is a partition too, re-ingested whole as its events arrive.
    daily = dg.DailyPartitionsDefinition(start_date=feedback.start.isoformat(), timezone="UTC", end_offset=1)
    common: dict[str, Any] = {"group_name": spec.name, "owners": [f"team:{spec.owner}"]}

    @dg.asset(
        key=key("feedback_events"),
        # Looked up in every stored day of the dataset: which tickets exist, and their segments.
        deps=[dg.AssetDep(key("redacted"), partition_mapping=dg.AllPartitionMapping())],
        partitions_def=daily,
        check_specs=[dg.AssetCheckSpec("row_accounting", asset=key("feedback_events"), blocking=True)],
        kinds={"sql", "parquet"},
        **common,
    )
    def feedback_events(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """One UTC day of prediction outcomes from the event store: checked (unknown ticket, model
        version, action or category are quarantined with the reason) and joined to the ticket's
        segments. No text: only consented events are ever joined to text, when `labeled` runs."""
        paths = workspace.paths(spec.name)
        day = context.partition_key
        store = FeedbackStore.for_dataset(spec, paths.root)
        result = ingest_day(paths, spec, store, day, workspace.key(spec))
        stats = {"accounting": result.accounting.model_dump(), "consented": result.consented, "store": store.location}
        write_json(stats | {"duplicates": result.duplicates}, paths.stats("feedback_events", day))
        accounting = result.accounting
        yield dg.MaterializeResult(
            metadata={ROW_COUNT: accounting.rows_out, "rows_in": accounting.rows_in, "consented": result.consented}
            | {"duplicates": result.duplicates}
            | {f"removed/{reason}": n for reason, n in accounting.removed.items()}
        )
        yield dg.AssetCheckResult(
            asset_key=key("feedback_events"),
            check_name="row_accounting",
            passed=accounting.balanced,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{accounting.rows_in} events in = {accounting.rows_out} kept + "
            f"{accounting.removed_total} quarantined",
        )

    severity = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}

    @dg.asset(
        key=key("feedback_metrics"),
        deps=[key("feedback_events")],
        check_specs=[
            dg.AssetCheckSpec("max_misroute_rate", asset=key("feedback_metrics")),
            dg.AssetCheckSpec("max_feedback_drift", asset=key("feedback_metrics")),
        ],
        kinds={"pandas", "parquet"},
        automation_condition=dg.AutomationCondition.eager(),
        **common,
    )
    def feedback_metrics(workspace: TrainsetWorkspace):
        """Acceptance, change, ignore and misroute rates per model version x class x segment x day
        and week (Wilson 95% intervals), and each week's drift against week 1."""
        outcome = evaluate_feedback(workspace.paths(spec.name), spec)
        yield dg.MaterializeResult(metadata={ROW_COUNT: outcome.rows} | outcome.metadata)
        for gate in outcome.gates:
            yield dg.AssetCheckResult(
                asset_key=key("feedback_metrics"),
                check_name=gate.name,
                passed=gate.passed,
                severity=severity[gate.severity],
                description=gate.message if gate.judged else f"not judged: {gate.message}",
                metadata={"measured": gate.measured_text, "threshold": gate.threshold_text, "judged": gate.judged},
            )

    job = dg.define_asset_job(
        feedback_job_name(spec.name), selection=dg.AssetSelection.assets(key("feedback_events")), partitions_def=daily
    )

    @dg.sensor(name=f"{spec.name}_feedback_sensor", job=job, minimum_interval_seconds=60)
    def feedback_sensor(context: dg.SensorEvaluationContext, workspace: TrainsetWorkspace):
        """Request the ingestion of each day holding events logged since the cursor's watermark
        (ts, event_id), and of each day whose events in the store differ from those ingested
        (logged late, deleted, another store). One run per day, keyed by the day, its count and
        the watermark: the same events never request a run twice."""
        paths = workspace.paths(spec.name)
        pending = pending_days(
            FeedbackStore.for_dataset(spec, paths.root),
            Cursor.parse(context.cursor),
            feedback.start,
            datetime.now(UTC),
            ingested_counts(paths),
        )
        context.update_cursor(pending.cursor.dump())
        if not pending.days:
            outside = pending.outside
            return dg.SkipReason("no new feedback event" + (f"; {outside}" if outside else ""))
        mark = f"{pending.cursor.ts.isoformat() if pending.cursor.ts else ''}/{pending.cursor.event_id}"
        tags = {OUTSIDE_TAG: pending.outside} if pending.outside else {}
        return [
            dg.RunRequest(run_key=f"{day}:{count}:{mark}", partition_key=day, tags=tags)
            for day, count in pending.days.items()
        ]

    metrics_job = dg.define_asset_job(
        metrics_job_name(spec.name), selection=dg.AssetSelection.assets(key("feedback_metrics"))
    )
    return dg.Definitions(
        assets=[feedback_events, feedback_metrics], jobs=[job, metrics_job], sensors=[feedback_sensor]
    )
