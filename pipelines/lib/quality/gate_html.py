"""The HTML gate report of a run: every gate, and plots of coverage and freshness.

Self-contained (inline SVG, no script, no network), so it opens from disk, from the Dagster UI's
metadata link, or as a CI artifact. Built from counts only: no example text.
"""

from __future__ import annotations

import html

import pandas as pd

from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.reports import GateRun, TrainingSetReport

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
STATUS_COLOURS = {"pass": "#2e7d32", "WARN": "#b26a00", "FAIL": "#c62828", "WAIVED": "#6a1b9a"}


def render_gate_report(
    dataset: str, run: GateRun, training: TrainingSetReport | None, checks: list[CheckRecord] | None = None
) -> str:
    """HTML page for one run: its gates, its checks (`pii_residue`, `row_accounting`, contracts)
    with every residue finding, and plots of the training set's coverage and freshness. A run
    that a check stopped before the training set has checks and no gates or plots."""
    counts = [c.model_dump() for c in training.counts] if training else []
    frame = pd.DataFrame(counts) if counts else pd.DataFrame(columns=["label", "language", "channel", "split", "n"])
    gates = run.gates
    rows = "".join(_gate_row(g) for g in gates)
    by_language = frame.pivot_table(index="label", columns="language", values="n", aggfunc="sum", fill_value=0)
    by_channel = frame.pivot_table(index="label", columns="channel", values="n", aggfunc="sum", fill_value=0)
    failed = sum(not g.passed for g in gates)
    weekly = training.weekly if training else {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(dataset)} gates — run {_e(str(run.run_id))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
.status {{ font-weight: bold; color: white; border-radius: 3px; padding: 0 .4rem; }}
figure {{ margin: 1.5rem 0; }} figcaption {{ font-weight: bold; margin-bottom: .5rem; }}
</style></head><body>
<h1>{_e(dataset)}: quality gates</h1>
<p>Run <code>{_e(str(run.run_id))}</code>, as of {_e(str(run.as_of))},
evaluated {_e(str(run.evaluated_at))}: {len(gates)} gates, {failed} not passed.{_blocked(run, checks or [])}</p>
<table id="gates"><tr><th>status</th><th>gate</th><th>severity</th><th>measured</th><th>required</th><th>result</th></tr>
{rows}</table>
{_checks_section(checks or [])}
<figure id="coverage-language"><figcaption>Examples per class and language</figcaption>{_grouped_bars(by_language)}</figure>
<figure id="coverage-channel"><figcaption>Examples per class and channel</figcaption>{_grouped_bars(by_channel)}</figure>
<figure id="freshness"><figcaption>Examples per week (freshness)</figcaption>{_weekly_bars(weekly)}</figure>
</body></html>
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _blocked(run: GateRun, checks: list[CheckRecord]) -> str:
    names = [g.name for g in run.gates if g.blocking] + [f"{c.name} ({c.asset})" for c in checks if c.status.blocks]
    if not names:
        return ""
    return f" <strong>Blocked by {_e(', '.join(names))}: no version was released.</strong>"


def _gate_row(gate: GateResult) -> str:
    status = gate.status.label
    segments = "<br>".join(_e(s.text) for s in gate.failing)
    if gate.explanation:
        segments = f"{_e(gate.explanation)}" + (f"<br>{segments}" if segments and not gate.passed else "")
    if gate.waiver:
        w = gate.waiver
        segments += f"<br><em>waived by {_e(w.approver)} until {_e(str(w.expires))}: {_e(w.reason)}</em>"
    return (
        f'<tr><td><span class="status" style="background:{STATUS_COLOURS[status]}">{status}</span></td>'
        f"<td>{_e(gate.name)}</td><td>{_e(gate.severity)}</td><td>{_e(str(gate.measured))}</td>"
        f"<td>{_e(str(gate.required))}</td><td>{segments}</td></tr>\n"
    )


def _checks_section(checks: list[CheckRecord]) -> str:
    """The checks beside the gates, and each residue finding by row, column, offset and kind."""
    if not checks:
        return ""
    rows = "".join(
        f'<tr><td><span class="status" style="background:{STATUS_COLOURS[c.status.label]}">{c.status.label}</span></td>'
        f"<td>{_e(c.name)}</td><td>{_e(c.asset)}</td><td>{_e(c.description)}</td></tr>\n"
        for c in checks
    )
    findings = ""
    for check in (c for c in checks if c.residue is not None):
        review = check.residue
        assert review is not None
        lines = [("unreviewed", f, "") for f in review.unreviewed]
        lines += [("allowed", a.finding, f"{a.approver} until {a.expires}: {a.reason}") for a in review.allowed]
        findings += "".join(
            f"<tr><td>{status}</td><td>{_e(check.asset)}</td><td>{_e(f.file or '')}</td><td>{_e(f.row_id)}</td>"
            f"<td>{_e(f.column)}</td><td>{f.offset}</td><td>{_e(f.kind)}</td><td>{_e(note)}</td></tr>\n"
            for status, f, note in lines
        )
    table = (
        '<table id="residue-findings"><tr><th>finding</th><th>asset</th><th>file</th><th>row id</th>'
        f"<th>column</th><th>offset</th><th>kind</th><th>allowance</th></tr>\n{findings}</table>"
        if findings
        else "<p>No PII residue findings.</p>"
    )
    return (
        '<h2>Checks beside the gates</h2><table id="checks"><tr><th>status</th><th>check</th><th>asset</th>'
        f"<th>result</th></tr>\n{rows}</table>\n<h2>PII residue findings</h2>{table}"
    )


def _grouped_bars(table: pd.DataFrame, height: int = 220) -> str:
    """One group of bars per row (class), one bar per column (language or channel)."""
    if table.empty:
        return "<p>No examples.</p>"
    groups, series = list(table.index), list(table.columns)
    bar, gap, top = 14, 24, max(int(table.to_numpy().max()), 1)
    width = 60 + len(groups) * (len(series) * bar + gap)
    parts = [f'<svg class="plot" width="{width}" height="{height + 60}" role="img">']
    for g, group in enumerate(groups):
        x0 = 60 + g * (len(series) * bar + gap)
        for s, name in enumerate(series):
            value = int(table.loc[group, name])
            h = round(height * value / top)
            colour = PALETTE[s % len(PALETTE)]
            parts.append(
                f'<rect class="bar" x="{x0 + s * bar}" y="{height - h + 10}" width="{bar - 2}" height="{h}" '
                f'fill="{colour}"><title>{_e(str(group))} / {_e(str(name))}: {value}</title></rect>'
            )
        parts.append(f'<text x="{x0}" y="{height + 28}" font-size="12">{_e(str(group))}</text>')
    parts.append(f'<text x="0" y="20" font-size="11">{top}</text><text x="0" y="{height + 10}" font-size="11">0</text>')
    legend = " ".join(f'<tspan fill="{PALETTE[i % len(PALETTE)]}">■ {_e(str(n))}</tspan>' for i, n in enumerate(series))
    parts.append(f'<text x="60" y="{height + 52}" font-size="12">{legend}</text></svg>')
    return "".join(parts)


def _weekly_bars(weekly: dict[str, int], height: int = 160) -> str:
    if not weekly:
        return "<p>No examples.</p>"
    weeks = sorted(weekly)
    top, bar = max(weekly.values()) or 1, 12
    parts = [f'<svg class="plot" width="{60 + len(weeks) * bar}" height="{height + 40}" role="img">']
    for i, week in enumerate(weeks):
        h = round(height * weekly[week] / top)
        parts.append(
            f'<rect class="bar" x="{60 + i * bar}" y="{height - h + 10}" width="{bar - 2}" height="{h}" '
            f'fill="{PALETTE[0]}"><title>week of {_e(week)}: {weekly[week]}</title></rect>'
        )
    parts.append(f'<text x="60" y="{height + 30}" font-size="12">{_e(weeks[0])}</text>')
    parts.append(
        f'<text x="{max(60, 60 + len(weeks) * bar - 80)}" y="{height + 30}" font-size="12">{_e(weeks[-1])}</text>'
    )
    parts.append(f'<text x="0" y="20" font-size="11">{top}</text></svg>')
    return "".join(parts)
