"""The pilot report of a range of ingested feedback days: `report.html` (self-contained: inline
CSS, no script, no link out), `report.json` (the same figures, from the typed summary) and
`postmortem.md`, a one-page draft filled with the measured facts and sections left for a person."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from pipelines.lib.feedback.drift import CLASS, cell, drift_gate, feedback_drift, misroute_gate, p_text, proportion
from pipelines.lib.feedback.events import MISSING
from pipelines.lib.feedback.ingest import events_folder, ingested_days, read_events
from pipelines.lib.feedback.metrics import ALL, changed_to, feedback_metrics
from pipelines.lib.feedback.results import (
    AcceptanceRow,
    Cell,
    ChangePair,
    DayVolume,
    FeedbackReportFiles,
    FeedbackSummary,
    MissingShare,
    Proportion,
    WeekRate,
    WeekVolume,
)
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.templates import environment
from pipelines.lib.workspace import DatasetPaths

#: the rate of a cell with no events in a week
NONE = Proportion(count=0, of=0, rate=None, low=None, high=None)
#: the most frequent class changes the summary keeps
TOP_CHANGES = 10


class FeedbackReportError(Exception):
    """The report cannot be made: no feedback block, no ingested day in the range, a bad range, or
    an ingested file without an event column. The message says what, where and what to do."""

    exit_code = 2


def write_feedback_report(
    spec: DatasetSpec, paths: DatasetPaths, from_day: date, to_day: date, out_dir: Path | None = None
) -> FeedbackReportFiles:
    """Measure the ingested days from `from_day` to `to_day` (both included) and write report.html,
    report.json and postmortem.md into `out_dir` (default: `<feedback_work>/report/<from>_<to>`)."""
    if spec.feedback is None:
        raise FeedbackReportError(
            f"dataset {spec.name!r} declares no `feedback:` block; add one (start, segments, bars) to its defs.yaml"
        )
    if from_day > to_day:
        raise FeedbackReportError(f"--from {from_day} is after --to {to_day}: give the earlier day first")
    days = [d for d in ingested_days(paths) if from_day <= d <= to_day]
    if not days:
        raise FeedbackReportError(
            f"no ingested feedback day of {spec.name} from {from_day} to {to_day} in "
            f"{events_folder(paths)}; run `trainset feedback ingest {spec.name}` first"
        )
    events = read_events(paths, days, spec.feedback_segments)
    if events.empty:
        raise FeedbackReportError(
            f"the {len(days)} ingested day(s) of {spec.name} from {from_day} to {to_day} hold no event: "
            "nothing to report; log events (`trainset feedback log`) and ingest them"
        )
    summary = summarise(spec, events, from_day, to_day, days)
    out = out_dir or paths.feedback_work / "report" / f"{from_day}_{to_day}"
    out.mkdir(parents=True, exist_ok=True)
    files = FeedbackReportFiles(
        html=out / "report.html", json_file=out / "report.json", postmortem=out / "postmortem.md", summary=summary
    )
    files.json_file.write_text(summary.model_dump_json(indent=2) + "\n")
    files.html.write_text(_render("feedback_report.html.j2", summary, autoescape=True))
    files.postmortem.write_text(_render("feedback_postmortem.md.j2", summary, autoescape=False))
    return files


def summarise(
    spec: DatasetSpec, events: pd.DataFrame, from_day: date, to_day: date, ingested: list[date]
) -> FeedbackSummary:
    """Metrics, drift and gates of `events` (the ingested days `ingested` of the range), as the summary."""
    feedback = spec.feedback
    assert feedback is not None  # write_feedback_report refuses a spec without one
    segments = spec.feedback_segments
    metrics = feedback_metrics(events, segments, feedback.start, feedback.min_n)
    every = metrics[metrics["model_version"] == ALL]
    pilot = every[every["level"] == "pilot"]
    whole = pilot[(pilot[CLASS] == ALL) & (pilot["segment"] == ALL)].iloc[0]
    overall = cell(whole)
    weekly = every[every["level"] == "week"]
    weeks = [
        WeekVolume(
            week=int(row["period"]),
            first_day=row["first_day"],
            last_day=row["last_day"],
            events=int(row["n"]),
            acceptance=proportion(row, "acceptance"),
        )
        for _, row in weekly[(weekly[CLASS] == ALL) & (weekly["segment"] == ALL)].iterrows()
    ]
    drift = feedback_drift(metrics, segments, feedback.drift, feedback.min_n)
    parts = pilot[(pilot[CLASS] != ALL) | (pilot["segment"] != ALL)]
    lagging = parts[parts["judged"] & (parts["acceptance_high"] < whole["acceptance_rate"])]
    lagging = lagging.assign(_combined=(lagging[CLASS] != ALL) & (lagging["segment"] != ALL))
    lagging = lagging.sort_values(["_combined", "acceptance_rate"])
    by_model = metrics[(metrics["level"] == "pilot") & (metrics["model_version"] != ALL)]
    return FeedbackSummary(
        dataset=spec.name,
        from_day=from_day,
        to_day=to_day,
        start=feedback.start,
        min_n=feedback.min_n,
        drift_bar=feedback.drift,
        misroute_bar=feedback.misroute,
        days_ingested=len(ingested),
        events=len(events),
        consented=int(events["consent_flag"].fillna(False).astype(bool).sum()),
        model_versions=sorted(events["model_version"].dropna().astype(str).unique()),
        segments=segments,
        overall=overall,
        by_model=[cell(r) for _, r in by_model[(by_model[CLASS] == ALL) & (by_model["segment"] == ALL)].iterrows()],
        days=_days(every[every["level"] == "day"], from_day, to_day, ingested),
        weeks=weeks,
        acceptance=_acceptance_rows(pilot, weekly, [w.week for w in weeks], spec.labels.classes),
        lagging=[cell(r) for _, r in lagging.iterrows()],
        label_more=_label_more(lagging),
        drift=drift,
        gates=[misroute_gate(metrics, feedback.misroute), drift_gate(drift, feedback.drift)],
        changed_to=[ChangePair(**r) for r in changed_to(events).head(TOP_CHANGES).to_dict("records")],
        missing=[_missing(events, s) for s in segments],
    )


def _missing(events: pd.DataFrame, segment: str) -> MissingShare:
    absent = events[segment].isna() | (events[segment] == MISSING)
    return MissingShare(segment=segment, events=int(absent.sum()), share=float(absent.mean()))


def _label_more(lagging: pd.DataFrame) -> list[Cell]:
    """The lagging classes and segment values, then each lagging class x segment value whose class
    and segment value do not lag on their own (so `language=de` is not repeated once per class)."""
    single = lagging[~lagging["_combined"]]
    classes = set(single.loc[single["segment"] == ALL, CLASS])
    values = set(zip(single["segment"], single["value"], strict=True))
    combined = lagging[lagging["_combined"]]
    alone = [
        c not in classes and (s, v) not in values
        for c, s, v in zip(combined[CLASS], combined["segment"], combined["value"], strict=True)
    ]
    return [cell(r) for _, r in pd.concat([single, combined[alone]]).iterrows()]


def _days(daily: pd.DataFrame, from_day: date, to_day: date, ingested: list[date]) -> list[DayVolume]:
    """Every day of the range, with its events by action (none for a day not ingested)."""
    totals = daily[(daily[CLASS] == ALL) & (daily["segment"] == ALL)].set_index("period")
    found = []
    for offset in range((to_day - from_day).days + 1):
        day = from_day + timedelta(days=offset)
        row = totals.loc[day.isoformat()] if day.isoformat() in totals.index else None
        counts = {k: 0 if row is None else int(row[k]) for k in ("accepted", "changed", "ignored")}
        events = 0 if row is None else int(row["n"])
        found.append(DayVolume(day=day, ingested=day in ingested, events=events, **counts))
    return found


def _acceptance_rows(
    pilot: pd.DataFrame, weekly: pd.DataFrame, weeks: list[int], classes: list[str]
) -> list[AcceptanceRow]:
    """Each predicted class (declared order first), then each segment value, with every week's rate."""
    by_class = pilot[(pilot[CLASS] != ALL) & (pilot["segment"] == ALL)]
    rank = by_class[CLASS].map({name: rank for rank, name in enumerate(classes)}).fillna(len(classes))
    by_class = by_class.assign(_rank=rank).sort_values(["_rank", CLASS]).drop(columns="_rank")
    by_value = pilot[(pilot[CLASS] == ALL) & (pilot["segment"] != ALL)]
    keyed = weekly.set_index([CLASS, "segment", "value", "period"])
    rows = []
    for _, row in pd.concat([by_class, by_value]).iterrows():
        rates = []
        for week in weeks:
            key = (row[CLASS], row["segment"], row["value"], str(week))
            found = proportion(keyed.loc[key], "acceptance") if key in keyed.index else None
            rates.append(WeekRate(week=week, acceptance=found or NONE))
        rows.append(AcceptanceRow(cell=cell(row), weekly=rates))
    return rows


def _render(template: str, summary: FeedbackSummary, autoescape: bool) -> str:
    env = environment(autoescape=autoescape)
    env.filters["pct"] = lambda v, digits=1: "n/a" if v is None else f"{v:.{digits}%}"
    env.filters["p"] = p_text
    last = summary.drift[-1] if summary.drift else None
    return env.get_template(template).render(s=summary, last=last, axis=_axis(summary))


def _axis(summary: FeedbackSummary) -> float:
    """Where the interval bars' scale starts (it ends at 100%): the lowest interval shown, rounded
    down to a tenth, so that differences between segments are visible."""
    lows = [r.cell.acceptance.low for r in summary.acceptance] + [c.acceptance.low for c in summary.lagging]
    return math.floor(min((low for low in lows if low is not None), default=0.0) * 10) / 10
