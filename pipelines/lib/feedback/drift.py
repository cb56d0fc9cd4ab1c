"""Each pilot week against week 1, and the two feedback gates.

Mix drift, for the predicted class and for each segment column: the shares of its values in
week w against week 1, measured three ways as Evidently does for a categorical column:

- Jensen-Shannon distance, base 2 (0 = same mix, 1 = disjoint): `scipy.spatial.distance.jensenshannon`.
  (Evidently's own test uses the natural logarithm, which reads sqrt(ln 2) ~ 0.83 times as large.)
- PSI = sum over values of (p - q) ln(p / q). An empty share would make it infinite; as in Evidently's
  `get_binned_data`, it is replaced by 0.0001, or by a millionth of the smallest non-empty share
  when that share is itself 0.0001 or less.
- a chi-square test of homogeneity of the two weeks' counts (`scipy.stats.chi2_contingency`). With
  thousands of events it finds differences too small to matter, so above `SMALL_SAMPLE` it is only
  reported; on a small sample it is what tells a move from chance.

A mix is judged only when both weeks hold at least `min_n` events; below that it is too small to
judge and never drifted. A judged mix drifted when JS >= `max_js` or PSI >= `max_psi` (Evidently's
default bars: 0.1 and 0.1) and, when either week holds `SMALL_SAMPLE` (1,000) events or fewer, the
chi-square p-value is also below `alpha`. So does Evidently: its default test for a categorical
column is the chi-square test up to 1,000 reference rows and Jensen-Shannon above, since on a few
dozen events JS and PSI pass their bars by chance alone.

Acceptance drift, overall and for each segment value: a two-proportion z-test (statsmodels
`proportions_ztest`) of week w's acceptance against week 1's. It drifted when both weeks hold at
least `min_n` decided events, p < `alpha` and the change is at least `min_change` either way.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency
from statsmodels.stats.proportion import proportions_ztest

from pipelines.lib.feedback.declaration import DriftBar, MisrouteBar
from pipelines.lib.feedback.metrics import ALL
from pipelines.lib.feedback.results import (
    AcceptanceDrift,
    Cell,
    FeedbackGate,
    MixDrift,
    Proportion,
    ValueShare,
    WeekDrift,
    counted,
)

#: the column whose mix is the predicted class mix
CLASS = "predicted_category"
#: Evidently's replacement of an empty share in PSI, and the share at or below which it uses a
#: millionth of the smallest non-empty share instead
EMPTY_SHARE = 0.0001
#: events of a week at or below which a mix drifts only when the chi-square test agrees: Evidently's
#: bound between its small-sample test (chi-square) and Jensen-Shannon for a categorical column
SMALL_SAMPLE = 1000


def psi(before: np.ndarray, after: np.ndarray) -> float:
    """Population stability index of two share vectors over the same values, empty shares
    replaced as Evidently replaces them (see the module docstring)."""
    before, after = _filled(np.asarray(before, dtype="float64")), _filled(np.asarray(after, dtype="float64"))
    return float(np.sum((before - after) * np.log(before / after)))


def _filled(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares > 0].min()
    return np.where(shares > 0, shares, smallest / 10**6 if smallest <= EMPTY_SHARE else EMPTY_SHARE)


def mix_drift(column: str, before: pd.Series, after: pd.Series, bar: DriftBar, min_n: int) -> MixDrift:
    """How the mix of `column` moved: `before` and `after` are event counts by value (week 1, week w).
    Judged only when both weeks hold `min_n` events; drifted when judged, JS or PSI reach their bar
    and, when either week holds `SMALL_SAMPLE` events or fewer, the chi-square p is below alpha."""
    counts = pd.concat([before.rename("before"), after.rename("after")], axis=1).fillna(0).astype("int64")
    counts = counts[(counts["before"] + counts["after"]) > 0].sort_index()
    totals = counts.sum()
    fewest = int(totals.min()) if len(counts) else 0
    shares = counts / totals
    p, q = shares["before"].to_numpy(), shares["after"].to_numpy()
    js = float(jensenshannon(p, q, base=2)) if len(counts) > 1 and fewest > 0 else 0.0
    found = chi2_contingency(counts.to_numpy().T).pvalue if len(counts) > 1 and fewest > 0 else None
    values = [
        ValueShare(value=str(v), before_n=int(b), after_n=int(a), before=float(sb), after=float(sa))
        for v, b, a, sb, sa in zip(counts.index, counts["before"], counts["after"], p, q, strict=True)
    ]
    moved = max(values, key=lambda s: abs(s.after - s.before), default=None)
    index = psi(p, q) if fewest > 0 else 0.0
    judged = fewest >= min_n
    small = fewest <= SMALL_SAMPLE
    tested = found is not None and found < bar.alpha
    return MixDrift(
        column=column,
        before_events=int(totals["before"]),
        after_events=int(totals["after"]),
        js_distance=js,
        psi=index,
        chi2_p=found,
        judged=judged,
        small_sample=small,
        drifted=judged and (js >= bar.max_js or index >= bar.max_psi) and (tested or not small),
        moved=moved,
        shares=values,
    )


def acceptance_drift(
    segment: str, value: str, before: Proportion, after: Proportion, bar: DriftBar, min_n: int
) -> AcceptanceDrift:
    """How acceptance of `segment`=`value` (`*`, `*`: all events) changed from week 1 to week w."""
    change = after.rate - before.rate if after.rate is not None and before.rate is not None else None
    pooled = (before.count + after.count) / (before.of + after.of) if before.of and after.of else None
    p_value = None
    if pooled is not None and 0 < pooled < 1:  # all accepted (or none) in both: no variance to test
        p_value = float(proportions_ztest([after.count, before.count], [after.of, before.of])[1])
    judged = min(before.of, after.of) >= min_n
    drifted = judged and p_value is not None and p_value < bar.alpha and abs(change or 0) >= bar.min_change
    return AcceptanceDrift(
        segment=segment,
        value=value,
        before=before,
        after=after,
        change=change,
        p_value=p_value,
        judged=judged,
        drifted=drifted,
    )


def feedback_drift(
    metrics: pd.DataFrame, segments: list[str], bar: DriftBar, min_n: int, baseline: int = 1
) -> list[WeekDrift]:
    """Each week after `baseline` (week 1 unless said) that has events, against it, from the rows of
    `metrics.feedback_metrics` (all model versions together). Empty when the baseline week has no
    events."""
    weekly = metrics[(metrics["level"] == "week") & (metrics["model_version"] == ALL)]
    overall = weekly[(weekly["predicted_category"] == ALL) & (weekly["segment"] == ALL) & (weekly["n"] > 0)]
    weeks = sorted(int(w) for w in overall["period"])
    if baseline not in weeks:
        return []
    by_week = {w: weekly[weekly["period"] == str(w)] for w in weeks}
    found = []
    for week in weeks[weeks.index(baseline) + 1 :]:
        before, after = by_week[baseline], by_week[week]
        mixes = [mix_drift(CLASS, _mix(before, CLASS), _mix(after, CLASS), bar, min_n)]
        mixes += [mix_drift(s, _mix(before, s), _mix(after, s), bar, min_n) for s in segments]
        rates_before, rates_after = _acceptance(before), _acceptance(after)
        acceptance = [
            acceptance_drift(segment, value, rates_before[(segment, value)], rates_after[(segment, value)], bar, min_n)
            for segment, value in rates_after
            if (segment, value) in rates_before
        ]
        first, last = after["first_day"].iloc[0], after["last_day"].iloc[0]
        events = int(overall.loc[overall["period"] == str(week), "n"].iloc[0])
        found.append(
            WeekDrift(
                baseline=baseline,
                week=week,
                first_day=date.fromisoformat(first),
                last_day=date.fromisoformat(last),
                events=events,
                mixes=mixes,
                acceptance=acceptance,
            )
        )
    return found


def _mix(rows: pd.DataFrame, column: str) -> pd.Series:
    """Events by value of `column` in one week's rows."""
    if column == CLASS:
        cells = rows[(rows["segment"] == ALL) & (rows[CLASS] != ALL)]
        return cells.set_index(CLASS)["n"]
    cells = rows[(rows[CLASS] == ALL) & (rows["segment"] == column)]
    return cells.set_index("value")["n"]


def _acceptance(rows: pd.DataFrame) -> dict[tuple[str, str], Proportion]:
    """Acceptance of all events and of each segment value, in one week's rows."""
    cells = rows[rows[CLASS] == ALL]
    return {(s, v): proportion(row, "acceptance") for (s, v), row in cells.set_index(["segment", "value"]).iterrows()}


def proportion(row: pd.Series, rate: str) -> Proportion:
    """The `acceptance` or `misroute` proportion of one metrics row."""
    count, of = ("accepted", "decided") if rate == "acceptance" else ("misrouted", "with_final")
    return Proportion(
        count=int(row[count]),
        of=int(row[of]),
        rate=row[f"{rate}_rate"],
        low=row[f"{rate}_low"],
        high=row[f"{rate}_high"],
    )


def cell(row: pd.Series) -> Cell:
    """One metrics row as a typed cell."""
    return Cell(
        model_version=row["model_version"],
        predicted_category=row[CLASS],
        segment=row["segment"],
        value=row["value"],
        events=int(row["n"]),
        acceptance=proportion(row, "acceptance"),
        misroute=proportion(row, "misroute"),
        change_rate=row["change_rate"],
        ignore_rate=row["ignore_rate"],
        judged=bool(row["judged"]),
    )


def drift_gate(weeks: list[WeekDrift], bar: DriftBar) -> FeedbackGate:
    """`max_feedback_drift`: fails when any week's class or segment mix, or any acceptance (overall
    or of a segment value), drifted from week 1; the message names each, with its figures. Judged
    when some mix or acceptance of some week was large enough to judge."""
    lines, drifts = [], 0
    for week in weeks:
        found = [_mix_words(m, bar) for m in week.mixes if m.drifted]
        found += [_acceptance_words(a) for a in week.acceptance if a.drifted]
        drifts += len(found)
        if found:
            lines.append(f"week {week.week}: " + "; ".join(found))
    mixes = [m for w in weeks for m in w.mixes if m.judged]
    judged = bool(mixes) or any(a.judged for w in weeks for a in w.acceptance)
    listed = ("weeks " if len(weeks) > 1 else "week ") + ", ".join(str(w.week) for w in weeks)
    if not weeks:
        message = "no week after week 1 with events yet (or none in week 1): nothing to compare"
    elif lines:
        message = "; ".join(lines)
    elif not judged:
        message = (
            f"{listed} too small to judge against week 1: no mix with "
            "feedback.min_n events, nor acceptance with feedback.min_n decided events, in both weeks"
        )
    elif not mixes:
        message = f"{listed} within the bars against week 1 (every mix too small to judge)"
    else:
        widest = max(mixes, key=lambda m: m.js_distance)
        untested = f", chi-square {p_text(widest.chi2_p)} >= {bar.alpha:g}" if widest.js_distance >= bar.max_js else ""
        message = (
            f"{listed} within the bars against week 1 "
            f"(widest judged mix move: {widest.column}, JS {widest.js_distance:.3f}{untested})"
        )
    return FeedbackGate(
        name="max_feedback_drift",
        severity=bar.severity,
        passed=drifts == 0,
        judged=judged,
        message=message,
        measured=drifts,
        threshold=0,
        measured_text=counted(drifts, "drift") if judged else "n/a",
        threshold_text="0 allowed",
    )


def _mix_words(mix: MixDrift, bar: DriftBar) -> str:
    over = [f"JS {mix.js_distance:.2f} >= {bar.max_js:g}"] if mix.js_distance >= bar.max_js else []
    over += [f"PSI {mix.psi:.2f} >= {bar.max_psi:g}"] if mix.psi >= bar.max_psi else []
    over += [f"chi-square {p_text(mix.chi2_p)} < {bar.alpha:g}"] if mix.small_sample else []
    moved = f": {mix.moved.value} {mix.moved.before:.0%} -> {mix.moved.after:.0%}" if mix.moved else ""
    name = "predicted class" if mix.column == CLASS else mix.column
    return f"{name} mix moved ({', '.join(over)}){moved}"


def _acceptance_words(drift: AcceptanceDrift) -> str:
    before, after = drift.before.rate or 0.0, drift.after.rate or 0.0
    return f"{drift.label} {'fell' if after < before else 'rose'} {before:.2f} -> {after:.2f} ({p_text(drift.p_value)})"


def p_text(p_value: float | None) -> str:
    """`p=0.0003`, `p<0.0001`, or `no test`."""
    if p_value is None or math.isnan(p_value):
        return "no test"
    return "p<0.0001" if p_value < 0.0001 else f"p={p_value:.2g}"


def misroute_gate(metrics: pd.DataFrame, bar: MisrouteBar) -> FeedbackGate:
    """`max_misroute_rate`: fails when a model version's misroute rate over the whole range exceeds
    `bar.max` (judged versions only); the message names the version and its worst judged class or
    segment value."""
    pilot = metrics[(metrics["level"] == "pilot") & (metrics["model_version"] != ALL)]
    whole = pilot[(pilot[CLASS] == ALL) & (pilot["segment"] == ALL)]
    judged = whole[whole["judged"] & whole["misroute_rate"].notna()]
    if judged.empty:
        return FeedbackGate(
            name="max_misroute_rate",
            severity=bar.severity,
            passed=True,
            judged=False,
            message="no model version has enough decided events to judge its misroutes",
            measured=None,
            threshold=bar.max,
            measured_text="n/a",
            threshold_text=f"at most {_percent(bar.max)}",
        )
    over = judged[judged["misroute_rate"] > bar.max]
    parts = []
    for _, row in (over if not over.empty else judged).iterrows():
        version = row["model_version"]
        worst = _worst_cell(pilot[(pilot["model_version"] == version) & pilot["judged"]])
        above = row["misroute_rate"] > bar.max
        text = f"model {version}: misroutes {proportion(row, 'misroute').shown(percent=True)}"
        text += f" {'>' if above else '<='} {bar.max:.0%}"
        if worst is not None:
            text += f"; worst: {worst.label} {worst.misroute.shown(percent=True)}"
        parts.append(text)
    return FeedbackGate(
        name="max_misroute_rate",
        severity=bar.severity,
        passed=over.empty,
        judged=True,
        message="; ".join(parts),
        measured=float(judged["misroute_rate"].max()),
        threshold=bar.max,
        measured_text=f"{judged['misroute_rate'].max():.1%}",
        threshold_text=f"at most {_percent(bar.max)}",
    )


def _percent(share: float) -> str:
    """`5%`, `2.5%`: a bar as declared, without trailing zeros."""
    return f"{share * 100:g}%"


def _worst_cell(rows: pd.DataFrame) -> Cell | None:
    """The class or segment value (or both) with the highest misroute rate, the whole excluded."""
    parts = rows[((rows[CLASS] != ALL) | (rows["segment"] != ALL)) & rows["misroute_rate"].notna()]
    if parts.empty:
        return None
    return cell(parts.loc[parts["misroute_rate"].idxmax()])
