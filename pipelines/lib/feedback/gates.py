"""Step of the `feedback_metrics` asset: every ingested day measured, the metrics table written,
and the two feedback gates evaluated (`max_misroute_rate`, `max_feedback_drift`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.lib.feedback.drift import drift_gate, feedback_drift, misroute_gate
from pipelines.lib.feedback.ingest import ingested_days, read_events
from pipelines.lib.feedback.metrics import feedback_metrics
from pipelines.lib.feedback.results import FeedbackGate
from pipelines.lib.files import write_parquet
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


@dataclass(frozen=True)
class FeedbackOutcome:
    """The metrics table's size, a few headline figures for the asset's metadata, and the gates."""

    rows: int
    metadata: dict
    gates: list[FeedbackGate]


def evaluate_feedback(paths: DatasetPaths, spec: DatasetSpec) -> FeedbackOutcome:
    """Measure every ingested day: write `paths.feedback_metrics` (`metrics.feedback_metrics`'s
    table), measure each week's drift against week 1, and evaluate both gates. With no event
    ingested yet, the table is empty and both gates pass unjudged."""
    feedback = spec.feedback
    assert feedback is not None  # the asset exists only with a feedback block
    segments = spec.feedback_segments
    days = ingested_days(paths)
    events = read_events(paths, days, segments)
    metrics = feedback_metrics(events, segments, feedback.start, feedback.min_n)
    write_parquet(metrics, paths.feedback_metrics)
    weeks = feedback_drift(metrics, segments, feedback.drift, feedback.min_n)
    gates = [misroute_gate(metrics, feedback.misroute), drift_gate(weeks, feedback.drift)]
    consented = int(events["consent_flag"].astype(bool).sum())
    return FeedbackOutcome(
        rows=len(metrics),
        metadata={"events": len(events), "consented": consented, "days": len(days), "weeks": len(weeks) + 1},
        gates=gates,
    )
