"""What a steward reads: every gate of a run with the checks beside it, the failing segments and
a few redacted examples, the run's HTML gate report; and how gates and coverage moved between
two versions. Built from the typed reports only (`GateRun`, `CheckRecord`, `TrainingSetReport`,
`Manifest`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.files import write_text
from pipelines.lib.quality.check_records import CheckRecord, check_run_ids, load_checks
from pipelines.lib.quality.gate_declarations import segment_column
from pipelines.lib.quality.gate_html import render_gate_report
from pipelines.lib.quality.gate_results import GateResult, GateStatus
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.report_files import (
    MissingReportError,
    gate_run_ids,
    gate_run_path,
    read_gate_run,
    read_training_set,
)
from pipelines.lib.reports import ContractResult, CoverageCount, ExpectationOutcome, GateRun
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


class GateReportError(LookupError):
    """No gate results for what was asked."""


class ReviewedGate(GateResult):
    """A gate result as a steward reviews it: with a few redacted examples of each failing segment."""

    examples: dict[str, list[str]] = Field(default_factory=dict, description="Segment -> redacted subjects.")


class RunReview(BaseModel):
    """One run for a steward: its gates (if it got that far) and every check beside them."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    run_id: str | None = None
    as_of: date | None = None
    evaluated_at: datetime | None = None
    contract: ContractResult | None = None
    expectations: list[ExpectationOutcome] = Field(default_factory=list)
    gates: list[ReviewedGate] = Field(default_factory=list)
    checks: list[CheckRecord] = Field(default_factory=list)
    latest_gated_run: str | None = Field(
        default=None, description="When this run measured no gate: the latest run that did."
    )
    report: str | None = Field(default=None, description="The run's HTML gate report.")

    @property
    def blocked_by(self) -> list[str]:
        """What stopped the release: blocking gates, failed checks and contracts, unmet expectations."""
        names = [g.name for g in self.gates if g.status.blocks]
        names += [f"{c.name} ({c.asset})" for c in self.checks if c.status.blocks]
        if self.contract is not None and not self.contract.passed:
            names.append(f"contract {self.contract.schema_name}")
        return names + (["expectation_suite"] if any(not e.success for e in self.expectations) else [])


def latest_run_id(paths: DatasetPaths) -> str | None:
    """The run that left the newest gate results or check verdict (a blocked run counts); None
    when no run kept an id (steps run outside Dagster)."""
    stamped: list[tuple[datetime, str | None]] = [
        (c.recorded_at, c.run_id) for c in load_checks(paths) if c.recorded_at is not None
    ]
    gated = read_gate_run(paths)
    if gated is not None and gated.evaluated_at is not None:
        stamped.append((gated.evaluated_at, gated.run_id))
    return max(stamped, key=lambda s: s[0])[1] if stamped else None


def load_run(paths: DatasetPaths, run_id: str | None = None) -> RunReview:
    """One run's gates and checks: a run id (or its first characters), by default the latest
    run, blocked or not. Raises GateReportError when nothing matches or nothing ran."""
    if run_id is not None:
        known = sorted(set(gate_run_ids(paths)) | set(check_run_ids(paths)))
        matches = [r for r in known if r.startswith(run_id)]
        if len(matches) != 1:
            raise GateReportError(
                f"run {run_id!r} matches {len(matches)} runs of {paths.dataset}; known: {[r[:8] for r in known]}"
            )
        run_id = matches[0]
    else:
        run_id = latest_run_id(paths)
    gate_run = read_gate_run(paths, run_id)
    checks = load_checks(paths, run_id)
    if gate_run is None and not checks:
        raise GateReportError(
            f"no gate results for {paths.dataset} in {paths.warehouse}; run `trainset run {paths.dataset}`"
        )
    latest = read_gate_run(paths) if gate_run is None else None
    report = gate_run_path(paths, run_id, ".html") if run_id else paths.reports / "gate_report.html"
    run = gate_run or GateRun(run_id=run_id)
    return RunReview(
        dataset=paths.dataset,
        run_id=run.run_id,
        as_of=run.as_of,
        evaluated_at=run.evaluated_at,
        contract=run.contract,
        expectations=run.expectations,
        gates=[ReviewedGate.model_validate(dict(g)) for g in run.gates],
        checks=checks,
        latest_gated_run=latest.run_id if latest is not None else None,
        report=str(report) if report.is_file() else None,
    )


def with_examples(review: RunReview, paths: DatasetPaths, spec: DatasetSpec, per_segment: int = 2) -> RunReview:
    """The review with a few redacted texts (of the first text column) for each failing segment
    that names a class or a segment value (the column the gate's declaration names)."""
    if not paths.training_set.is_file():
        return review
    frame = pd.read_parquet(paths.training_set)
    gates = []
    for gate in review.gates:
        column = None
        if gate.name in spec.gates:
            column = segment_column(gate.name, spec.gates[gate.name], spec.labels.column, spec.language_column)
        examples: dict[str, list[str]] = {}
        if column is not None and column in frame.columns and not gate.passed:
            for value in (s.segment for s in gate.failing if s.segment is not None):
                rows = frame.loc[frame[column] == value, spec.columns.text[0]].head(per_segment)
                examples[value] = [str(v) for v in rows]  # post-redaction text only
        gates.append(gate.model_copy(update={"examples": examples}))
    return review.model_copy(update={"gates": gates})


def write_gate_report(paths: DatasetPaths, run_id: str | None) -> Path:
    """Render one run's HTML gate report from its stored reports, also for a run a check stopped
    before the training set, to `data/warehouse/<name>/reports/gate_report.html` and (with a
    run id) `gate_runs/<run_id>.html`; returns the run's page."""
    gate_run = read_gate_run(paths, run_id)
    training = None
    if gate_run is not None:  # the run built the training set: plot its coverage
        with contextlib.suppress(MissingReportError):
            training = read_training_set(paths)
    page = render_gate_report(paths.dataset, gate_run or GateRun(run_id=run_id), training, load_checks(paths, run_id))
    write_text(page, paths.reports / "gate_report.html")
    if not run_id:
        return paths.reports / "gate_report.html"
    write_text(page, gate_run_path(paths, run_id, ".html"))
    return gate_run_path(paths, run_id, ".html")


class GateChange(BaseModel):
    gate: str
    before: float | int | str | None
    after: float | int | str
    status: GateStatus = Field(description="The newer version's status of the gate.")


class ShareChange(BaseModel):
    segment: str = Field(description="`<column>=<value>`.")
    before: float
    after: float
    change: float


class Comparison(BaseModel):
    """Gate measurements and the shares of every class and segment value of two versions."""

    old: int
    new: int
    gates: list[GateChange]
    shares: list[ShareChange]


def compare(releases: Path, old: int, new: int, spec: DatasetSpec) -> Comparison:
    """Gate measurements and the shares of every class and segment value of two versions, side by
    side; shares are fractions (0..1). Raises FileNotFoundError for a version that is not there."""
    a, b = read_manifest(releases / f"v{old}"), read_manifest(releases / f"v{new}")
    before = {g.name: g.measured for g in a.gates}
    gates = [GateChange(gate=g.name, before=before.get(g.name), after=g.measured, status=g.status) for g in b.gates]
    shares = []
    columns = list(dict.fromkeys(k for c in [*a.counts, *b.counts] for k in c.segments))
    segments: list[tuple[str, Callable[[CoverageCount], str | None]]] = [(spec.labels.column, _label)]
    segments += [(column, functools.partial(_segment_value, column)) for column in columns]
    for column, value_of in segments:
        share_a, share_b = _shares(a.counts, value_of), _shares(b.counts, value_of)
        for value in sorted(set(share_a) | set(share_b)):
            x, y = share_a.get(value, 0.0), share_b.get(value, 0.0)
            shares.append(
                ShareChange(segment=f"{column}={value}", before=round(x, 4), after=round(y, 4), change=round(y - x, 4))
            )
    return Comparison(old=old, new=new, gates=gates, shares=shares)


def _label(count: CoverageCount) -> str | None:
    return count.label


def _segment_value(column: str, count: CoverageCount) -> str | None:
    return count.segments.get(column)


def _shares(counts: list[CoverageCount], value_of: Callable[[CoverageCount], str | None]) -> dict[str, float]:
    totals: dict[str, int] = {}
    for row in counts:
        value = value_of(row)
        if value is None:  # the version was not counted by this column
            continue
        totals[value] = totals.get(value, 0) + row.n
    whole = sum(totals.values())
    return {value: n / whole for value, n in totals.items()} if whole else {}
