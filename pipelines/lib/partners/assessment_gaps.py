"""Section 7 of a partner assessment: whether the partner's rows close the dataset's failing or
warned coverage bars, and what our own labeling would charge for the same gain.

Each bar is measured again by its own gate (`quality.gate_registry`), on our training set as the
gate run measured it and on that set with the partner's rows added: the usable sample rows
(`assessment_coverage.usable_rows`), their composition scaled to the partner's delivery size.
The gain per shortfall is what the gate says is missing before, less what it says after; our cost
of the same gain is the labeling plan's rule (items sent per example by the adjudication yield,
gold items per batch) priced by `labeling.budget`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from pipelines.lib.durations import cutoff
from pipelines.lib.labeling.budget import budget, cents, money, split_items
from pipelines.lib.labeling.plan import adjudication_yield
from pipelines.lib.labeling.selection import COVERAGE_GATES, open_cells
from pipelines.lib.partners.assessment_model import CellGain, Finding, GapClosure, GateGap, Roi, SegmentGap
from pipelines.lib.quality import gate_measures  # noqa: F401  (importing it registers every gate's measure)
from pipelines.lib.quality.gate_registry import GateInputs
from pipelines.lib.quality.gate_results import GateResult, Shortfall
from pipelines.lib.quality.gates import measure_gate
from pipelines.lib.quality.splits import SPLITS
from pipelines.lib.quality.steps import as_detected, detect_training_languages
from pipelines.lib.report_files import MissingReportError, read_labeled
from pipelines.lib.reports import UNDETERMINED, GateRun
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: the bars the partner's rows are measured against: what labeling can close, and recency
ASSESSED = (*COVERAGE_GATES, "min_recent_share")
_RECENT = "__recent"
#: the share of annotated items a plan expects adjudication to keep before any batch was adjudicated
FIRST_YIELD = 0.9


@dataclass(frozen=True)
class Measured:
    """The open bars measured before and after, as gate results (for `open_cells`)."""

    before: list[GateResult]
    after: list[GateResult]


def gap_closure(
    paths: DatasetPaths,
    spec: DatasetSpec,
    run: GateRun,
    usable: pd.DataFrame,
    removed: dict[str, int],
    sample_records: int,
    rows_available: int,
) -> tuple[GapClosure, Measured, list[Finding]]:
    """Every failing, warned or waived coverage bar of `run`, measured on our training set and
    with `usable` (the sample rows that would reach it) scaled by rows_available / sample_records."""
    gate_as_of = run.as_of or date.today()
    open_gates = [g for g in run.gates if g.name in ASSESSED and not g.passed and g.name in spec.gates]
    ours = pd.read_parquet(paths.training_set) if paths.training_set.is_file() else None
    scale = rows_available / sample_records if sample_records else 0.0
    detect = _reads_language(spec, open_gates)
    partner = _scaled(usable, spec, scale, gate_as_of, [g.name for g in open_gates], detect)
    if ours is not None and detect and spec.columns.language:
        ours = as_detected(ours, spec, detect_training_languages(ours, spec))
    gaps, before, after = [], [], []
    for recorded in open_gates if ours is not None else []:
        params = spec.gates[recorded.name]
        was = _measure(recorded, params, ours, spec, gate_as_of)
        now = _measure(recorded, params, pd.concat([ours, partner], ignore_index=True), spec, gate_as_of)
        before.append(was)
        after.append(now)
        gaps.append(_gate_gap(recorded, was, now, partner))
    findings = _findings(gaps, spec, ours is not None)
    closed = [g.gate for g in gaps if g.closes]
    verdict = (
        f"closes {len(closed)} of {len(gaps)} failing or warned coverage bars"
        + (f" ({', '.join(closed)})" if closed else "")
        + f" with {len(partner)} rows scaled from {len(usable)} usable sample rows"
        if gaps
        else "no coverage bar of the latest gate run is failing or warned: the partner's rows close no gap"
    )
    if ours is None:
        verdict = f"the latest gate run's training set is not in {paths.warehouse}: run `trainset run {spec.name}`"
    label = spec.labels.column
    section = GapClosure(
        verdict=verdict,
        gate_run=run.run_id,
        gate_as_of=run.as_of,
        training_rows=0 if ours is None else len(ours),
        sample_records=sample_records,
        rows_available=rows_available,
        scale=round(scale, 4),
        removed=removed,
        usable=len(usable),
        partner_rows=len(partner),
        by_class={name: int((partner[label] == name).sum()) for name in spec.labels.classes},
        gates=gaps,
    )
    return section, Measured(before, after), findings


def no_gate_run(spec: DatasetSpec, usable: int, removed: dict[str, int], records: int, available: int) -> GapClosure:
    """Section 7a when the dataset has no gate results yet."""
    return GapClosure(
        verdict=f"no gate results for {spec.name} yet: run `trainset run {spec.name}`, then assess again",
        gate_run=None,
        gate_as_of=None,
        training_rows=0,
        sample_records=records,
        rows_available=available,
        scale=round(available / records, 4) if records else 0.0,
        removed=removed,
        usable=usable,
        partner_rows=0,
        by_class={},
        gates=[],
    )


def roi(paths: DatasetPaths, spec: DatasetSpec, measured: Measured, price: Decimal | None) -> tuple[Roi, list[Finding]]:
    """What our own labeling plan would charge to gain what the partner's rows gain on each open
    shortfall (`labeling.selection.open_cells`), against the partner's `price`. Raises ValueError
    without a `labeling:` block."""
    labeling = spec.labeling
    if labeling is None:
        raise ValueError(f"{spec.name}: no `labeling:` block: our own labels have no price to compare with")
    after = {cell.name: cell.missing for cell in open_cells(measured.after)}
    cells = [
        CellGain(cell=c.name, missing=c.missing, gained=max(0, min(c.missing, c.missing - after.get(c.name, 0))))
        for c in open_cells(measured.before)
    ]
    try:
        kept = adjudication_yield(read_labeled(paths))
    except MissingReportError:
        kept = FIRST_YIELD
    items = sum(math.ceil(c.gained / kept) for c in cells)
    batches = split_items(items, labeling.pilot, labeling.batches)
    gold = labeling.gold_per_batch * len(batches) if labeling.guideline else 0
    cost = budget(
        items + gold,
        labeling.labels_per_item,
        labeling.price_per_label,
        str(labeling.qa_overhead),
        str(labeling.contingency),
        labeling.currency,
    )
    total = cents(cost.total)
    saving = None if price is None else total - price
    gained = sum(c.gained for c in cells)
    verdict = f"the same gain ({gained} examples) by our own labeling: {items} items + {gold} gold, " + (
        f"{money(total, cost.currency)} with QA and contingency"
    )
    findings = []
    if price is not None and saving is not None:
        cheaper = f"{money(abs(saving), cost.currency)} {'less' if saving >= 0 else 'more'}"
        verdict += f"; the partner asks {money(price, cost.currency)} ({cheaper})"
        if saving < 0:
            findings.append(
                Finding(
                    section="roi",
                    level="note",
                    text=f"the partner asks {cheaper} than our own labeling would charge for the same gain",
                )
            )
    section = Roi(
        verdict=verdict,
        cells=cells,
        examples=gained,
        adjudication_yield=round(kept, 4),
        items=items,
        gold=gold,
        labels=cost.labels,
        currency=cost.currency,
        base=cents(cost.base),
        with_qa=cents(cost.with_qa),
        total=total,
        partner_price=price,
        saving=saving,
    )
    return section, findings


def _reads_language(spec: DatasetSpec, gates: list[GateResult]) -> bool:
    names = {g.name for g in gates}
    if names & {"min_share_outside_language", "min_examples_top_languages"}:
        return True
    required = spec.gates["required_values"] if "required_values" in names else None
    return getattr(required, "column", None) == spec.language_column


def _scaled(
    usable: pd.DataFrame, spec: DatasetSpec, scale: float, as_of: date, gates: list[str], detect: bool
) -> pd.DataFrame:
    """The usable rows' composition (class x language x segments x recent or not), scaled: each
    cell's share of round(len(usable) x scale) rows, by largest remainder; each row split by the
    spec's shares. Languages as the gates count them (detected) when `detect`, or when the dataset
    declares no language column."""
    frame = usable.copy()
    if detect or spec.columns.language is None:
        detected = detect_training_languages(frame, spec) if len(frame) else pd.Series([], dtype="str")
        if spec.columns.language is None:
            frame[spec.language_column] = detected.fillna(UNDETERMINED).astype("str")
        else:
            frame = as_detected(frame, spec, detected)
    timestamp = spec.columns.timestamp
    keys = [spec.labels.column, spec.language_column, *spec.columns.segments]
    if timestamp and "min_recent_share" in gates:
        within = spec.gates["min_recent_share"].within  # type: ignore[attr-defined]
        frame[_RECENT] = frame[timestamp] >= pd.Timestamp(cutoff(as_of, within))
        keys.append(_RECENT)
    total = round(len(frame) * scale)
    if not total:
        columns = [*keys, *([timestamp] if timestamp else []), "split"]
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns}).drop(columns=[_RECENT], errors="ignore")
    grouped = frame.groupby(keys, dropna=False, sort=True)
    sizes = grouped.size()
    counts = apportion(sizes.to_numpy() * scale, total)
    rows = sizes.index.to_frame(index=False).loc[np.repeat(np.arange(len(sizes)), counts)].reset_index(drop=True)
    if timestamp:  # a cell's rows take its first row's time: inside the cell, time does not matter
        rows[timestamp] = grouped[timestamp].first().repeat(counts).reset_index(drop=True)
    shares = np.array([getattr(spec.split, name) for name in SPLITS])
    rows["split"] = np.concatenate([np.repeat(np.array(SPLITS), apportion(shares * n, int(n))) for n in counts])
    return rows.drop(columns=[_RECENT], errors="ignore")


def apportion(exact: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers summing to `total`, each the floor of `exact` plus one for the largest
    remainders (ties: the earlier)."""
    base = np.floor(exact).astype(int)
    short = max(0, int(total) - int(base.sum()))
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    return base


def _measure(recorded: GateResult, params, frame: pd.DataFrame, spec: DatasetSpec, as_of: date) -> GateResult:
    return measure_gate(recorded.name, recorded.severity, params, GateInputs(frame, spec, as_of))


def _same(a: Shortfall, b: Shortfall) -> bool:
    return (a.column, a.segment, a.other_than) == (b.column, b.segment, b.other_than) and a.segment is not None


def _gate_gap(recorded: GateResult, was: GateResult, now: GateResult, partner: pd.DataFrame) -> GateGap:
    segments = []
    for short in was.failing:
        later = next((s for s in now.failing if _same(s, short)), None)
        rows = 0
        if short.column is not None and short.segment is not None and short.column in partner.columns:
            match = partner[short.column].astype("str") == short.segment
            rows = int((~match if short.other_than else match).sum())
        closed = later is None if short.segment is not None else now.passed
        segments.append(
            SegmentGap(
                shortfall=short.text,
                column=short.column,
                segment=short.segment,
                other_than=short.other_than,
                missing_before=short.missing,
                partner_rows=rows,
                missing_after=0 if closed else (later.missing if later else None),
                closed=closed,
            )
        )
    return GateGap(
        gate=recorded.name,
        severity=recorded.severity,
        status=recorded.status.value,
        measured=was.measured,
        measured_after=now.measured,
        required=was.required,
        closes=now.passed,
        segments=segments,
        after=now.explanation,
    )


def _findings(gaps: list[GateGap], spec: DatasetSpec, measured: bool) -> list[Finding]:
    if not measured:
        return [
            Finding(
                section="coverage",
                level="condition",
                text=f"the coverage gaps are not measured: run `trainset run {spec.name}` and assess again (a partner "
                "is approved only if its rows close coverage gaps)",
            )
        ]
    if not gaps:
        return [Finding(section="coverage", level="note", text="no coverage bar is failing or warned: no gap to close")]
    closed = [g for g in gaps if g.closes]
    if not closed:
        names = ", ".join(g.gate for g in gaps)
        return [
            Finding(
                section="coverage",
                level="blocking",
                text=f"the partner's rows close none of the {len(gaps)} failing or warned coverage bars ({names}): "
                "approve only if coverage gaps are closed",
            )
        ]
    return [
        Finding(
            section="coverage",
            level="note",
            text=f"{g.gate}: {'closed' if g.closes else 'still short'} with the partner's rows "
            f"(measured {g.measured} -> {g.measured_after}, required {g.required})",
        )
        for g in gaps
    ]
