"""The HTML gate report of a run: every gate, and plots of coverage and freshness.

Self-contained (inline SVG, no script, no network), so it opens from disk, from the Dagster UI's
metadata link, or as a CI artifact. Built from counts only: no example text.

The page is the Jinja2 template `pipelines/templates/gate_report.html.j2`, autoescaped; this module
lays the plots out in pixels and hands the template plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from pipelines.lib import templates
from pipelines.lib.privacy.residue import ResidueFinding
from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.reports import GateRun, TrainingSetReport

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
STATUS_COLOURS = {"pass": "#2e7d32", "WARN": "#b26a00", "FAIL": "#c62828", "WAIVED": "#6a1b9a"}

# Dataset, class, segment and finding names come from the data: every value is escaped.
_TEMPLATES = templates.environment(autoescape=True)


@dataclass(frozen=True)
class Bar:
    """One bar of a plot, in pixels from the top left; `title` is its tooltip."""

    kind: ClassVar[str] = "bar"
    x: int
    y: int
    width: int
    height: int
    colour: str
    title: str


@dataclass(frozen=True)
class Label:
    """A text on a plot: an axis value or a group's name."""

    kind: ClassVar[str] = "label"
    x: int
    y: int
    text: str
    font_size: int


@dataclass(frozen=True)
class Legend:
    """One line naming the colour of each series."""

    x: int
    y: int
    entries: list[tuple[str, str]]


@dataclass(frozen=True)
class Plot:
    """An SVG bar chart laid out in pixels; the template draws `marks` in order."""

    width: int
    height: int
    marks: list[Bar | Label]
    legend: Legend | None = None


@dataclass(frozen=True)
class GateRow:
    """One gate of the report: its status as `gate_verdict` decides it, and the lines of its result
    (the result in words, then, if it failed, each segment below the bar)."""

    status: str
    gate: GateResult
    lines: list[str]


@dataclass(frozen=True)
class FindingRow:
    """One residue finding of the report: unreviewed or allowed, and the allowance if any."""

    status: str
    asset: str
    finding: ResidueFinding
    note: str


def render_gate_report(
    dataset: str, run: GateRun, training: TrainingSetReport | None, checks: list[CheckRecord] | None = None
) -> str:
    """The HTML page (one self-contained document, as a str) of one run: its gates, its checks
    (`pii_residue`, `row_accounting`, contracts) with every residue finding, and plots of the
    training set's coverage (class x each segment column: the language, then the declared
    segments) and freshness (examples per week).

    A run that a check stopped before the training set has checks and no gates or plots
    (`training` None); the page then says which checks blocked it."""
    checks = checks or []
    counts = training.counts if training else []
    coverage = []
    for column in dict.fromkeys(k for c in counts for k in c.segments):
        frame = pd.DataFrame([(c.label, c.segments.get(column), c.n) for c in counts], columns=["label", column, "n"])
        table = frame.dropna().pivot_table(index="label", columns=column, values="n", aggfunc="sum", fill_value=0)
        coverage.append((column, _grouped_bars(table)))
    return _TEMPLATES.get_template("gate_report.html.j2").render(
        dataset=dataset,
        run=run,
        evaluated_at=run.evaluated_at.isoformat() if run.evaluated_at else None,
        gates=[_gate_row(g) for g in run.gates],
        failed=sum(not g.passed for g in run.gates),
        blocked=_blocked(run, checks),
        checks=checks,
        findings=_finding_rows(checks),
        coverage=coverage,
        weekly=_weekly_bars(training.weekly if training else {}),
        status_colours=STATUS_COLOURS,
    )


def _gate_row(gate: GateResult) -> GateRow:
    failing = [s.text for s in gate.failing]
    if not gate.explanation:
        return GateRow(gate.status.label, gate, failing)
    return GateRow(gate.status.label, gate, [gate.explanation, *([] if gate.passed else failing)])


def _blocked(run: GateRun, checks: list[CheckRecord]) -> list[str]:
    """What stopped the release: each blocking gate, and each failed check with its asset."""
    return [g.name for g in run.blocking] + [f"{c.name} ({c.asset})" for c in checks if c.status.blocks]


def _finding_rows(checks: list[CheckRecord]) -> list[FindingRow]:
    """Each residue finding by check: the unreviewed ones first, then those a steward allowed."""
    rows = []
    for check in checks:
        if check.residue is None:
            continue
        rows += [FindingRow("unreviewed", check.asset, f, "") for f in check.residue.unreviewed]
        rows += [
            FindingRow("allowed", check.asset, a.finding, f"{a.approver} until {a.expires}: {a.reason}")
            for a in check.residue.allowed
        ]
    return rows


def _grouped_bars(table: pd.DataFrame, height: int = 220) -> Plot | None:
    """One group of bars per row (class), one bar per column (a segment value); None if empty."""
    if table.empty:
        return None
    groups, series = list(table.index), list(table.columns)
    bar, gap, top = 14, 24, max(int(table.to_numpy().max()), 1)
    marks: list[Bar | Label] = []
    for g, group in enumerate(groups):
        x0 = 60 + g * (len(series) * bar + gap)
        for s, name in enumerate(series):
            value = int(table.loc[group, name])
            h = round(height * value / top)
            colour = PALETTE[s % len(PALETTE)]
            marks.append(Bar(x0 + s * bar, height - h + 10, bar - 2, h, colour, f"{group} / {name}: {value}"))
        marks.append(Label(x0, height + 28, str(group), 12))
    marks += [Label(0, 20, str(top), 11), Label(0, height + 10, "0", 11)]
    legend = Legend(60, height + 52, [(PALETTE[i % len(PALETTE)], str(n)) for i, n in enumerate(series)])
    return Plot(60 + len(groups) * (len(series) * bar + gap), height + 60, marks, legend)


def _weekly_bars(weekly: dict[str, int], height: int = 160) -> Plot | None:
    """One bar per week, oldest first, with the first and last week named; None if empty."""
    if not weekly:
        return None
    weeks = sorted(weekly)
    top, bar = max(weekly.values()) or 1, 12
    marks: list[Bar | Label] = []
    for i, week in enumerate(weeks):
        h = round(height * weekly[week] / top)
        marks.append(Bar(60 + i * bar, height - h + 10, bar - 2, h, PALETTE[0], f"week of {week}: {weekly[week]}"))
    marks.append(Label(60, height + 30, weeks[0], 12))
    marks.append(Label(max(60, 60 + len(weeks) * bar - 80), height + 30, weeks[-1], 12))
    marks.append(Label(0, 20, str(top), 11))
    return Plot(60 + len(weeks) * bar, height + 40, marks)
