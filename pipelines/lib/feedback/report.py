"""The pilot report of a range of ingested feedback days: `report.html` (self-contained: inline
CSS, no script, no link out), `report.json` (the same figures, from the typed summary) and
`postmortem.md`, a one-page draft filled with the measured facts and sections left for a person.

A day of the range is ingested when its partition file exists; an ingested day without events is
a quiet day. The events the ingestion quarantined are counted by reason, never listed: the report
names no event and no ticket."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from pipelines.lib.feedback.drift import (
    CLASS,
    SMALL_SAMPLE,
    cell,
    drift_gate,
    feedback_drift,
    misroute_gate,
    p_text,
    proportion,
)
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
    QuarantineCount,
    WeekRate,
    WeekVolume,
    counted,
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
    every = ingested_days(paths)
    days = [d for d in every if from_day <= d <= to_day]
    if not days:
        raise FeedbackReportError(_nothing_ingested(spec, paths, from_day, to_day, every))
    events = read_events(paths, days, spec.feedback_segments)
    if events.empty:
        raise FeedbackReportError(
            f"the range's ingested days of {spec.name} ({counted(len(days), 'day')} from {from_day} to {to_day}) hold "
            f"no event: quiet days, nothing to report; its ingested days run from {every[0]} to {every[-1]}"
        )
    summary = summarise(spec, events, from_day, to_day, days, quarantine_counts(paths, from_day, to_day))
    out = out_dir or paths.feedback_work / "report" / f"{from_day}_{to_day}"
    out.mkdir(parents=True, exist_ok=True)
    files = FeedbackReportFiles(
        html=out / "report.html", json_file=out / "report.json", postmortem=out / "postmortem.md", summary=summary
    )
    files.json_file.write_text(summary.model_dump_json(indent=2) + "\n")
    files.html.write_text(_render("feedback_report.html.j2", summary, autoescape=True))
    files.postmortem.write_text(_render("feedback_postmortem.md.j2", summary, autoescape=False))
    return files


def _nothing_ingested(spec: DatasetSpec, paths: DatasetPaths, from_day: date, to_day: date, every: list[date]) -> str:
    """Why a range without an ingested day has nothing to report, and what to do: a range before
    the pilot, one the ingestion has passed (its days hold no event: ingesting again adds
    nothing), or one it has not reached yet."""
    assert spec.feedback is not None
    start = spec.feedback.start
    if to_day < start:
        return (
            f"the pilot of {spec.name} starts on {start} (feedback.start): {from_day} to {to_day} is before it; "
            f"give a --from on or after {start}"
        )
    if every and to_day <= every[-1]:
        return (
            f"the ingested days of {spec.name} from {from_day} to {to_day} hold no event: the ingestion has reached "
            f"{every[-1]} and found none in the range (a day it found no event for has no file in "
            f"{events_folder(paths)}); nothing to report, give a range with events"
        )
    last = f" (the last ingested day is {every[-1]})" if every else ""
    return (
        f"no ingested feedback day of {spec.name} from {from_day} to {to_day} in {events_folder(paths)}{last}; "
        f"run `trainset feedback ingest {spec.name}` first"
    )


def quarantine_counts(paths: DatasetPaths, from_day: date, to_day: date) -> list[QuarantineCount]:
    """Events the ingestion quarantined on the days from `from_day` to `to_day`, by reason, most
    first: only the reason column of each day's quarantine file is read."""
    folder = paths.feedback_quarantine("day").parent
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    frames = [
        pd.read_parquet(file, columns=["reason"])
        for file in files
        if _is_day(file.stem) and from_day <= date.fromisoformat(file.stem) <= to_day
    ]
    if not frames:
        return []
    reasons = pd.concat(frames, ignore_index=True)["reason"].dropna().astype("str")
    found = reasons.value_counts().rename("events").rename_axis("reason").reset_index()
    found = found.sort_values(["events", "reason"], ascending=[False, True])
    return [QuarantineCount(reason=r, events=int(n)) for r, n in zip(found["reason"], found["events"], strict=True)]


def _is_day(stem: str) -> bool:
    try:
        date.fromisoformat(stem)
    except ValueError:
        return False  # not a daily partition
    return True


def summarise(
    spec: DatasetSpec,
    events: pd.DataFrame,
    from_day: date,
    to_day: date,
    ingested: list[date],
    quarantined: list[QuarantineCount] | None = None,
) -> FeedbackSummary:
    """Metrics, drift and gates of `events` (the ingested days `ingested` of the range), with the
    events `quarantined` on those days by reason, as the summary."""
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
    held = [w.week for w in weeks]
    comparison = drift[-1] if drift else None
    if comparison is None and len(held) > 1:  # the range does not hold week 1: its first week against its last
        comparison = feedback_drift(metrics, segments, feedback.drift, feedback.min_n, baseline=held[0])[-1]
    parts = pilot[(pilot[CLASS] != ALL) | (pilot["segment"] != ALL)]
    lagging = parts[parts["judged"] & (parts["acceptance_high"] < whole["acceptance_rate"])]
    lagging = lagging.assign(_combined=(lagging[CLASS] != ALL) & (lagging["segment"] != ALL))
    lagging = lagging.sort_values(["_combined", "acceptance_rate"])
    by_model = metrics[(metrics["level"] == "pilot") & (metrics["model_version"] != ALL)]
    versions = sorted(events["model_version"].dropna().astype(str).unique())
    per_model = metrics[metrics["model_version"] != ALL]
    acceptance_by_model = [
        row
        for version in (versions if len(versions) > 1 else [])
        for row in _acceptance_rows(
            per_model[(per_model["level"] == "pilot") & (per_model["model_version"] == version)],
            per_model[(per_model["level"] == "week") & (per_model["model_version"] == version)],
            held,
            spec.labels.classes,
            overall=True,
        )
    ]
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
        model_versions=versions,
        segments=segments,
        overall=overall,
        by_model=[cell(r) for _, r in by_model[(by_model[CLASS] == ALL) & (by_model["segment"] == ALL)].iterrows()],
        days=_days(every[every["level"] == "day"], from_day, to_day, ingested),
        weeks=weeks,
        acceptance=_acceptance_rows(pilot, weekly, held, spec.labels.classes),
        acceptance_by_model=acceptance_by_model,
        lagging=[cell(r) for _, r in lagging.iterrows()],
        label_more=_label_more(lagging),
        drift=drift,
        comparison=comparison,
        gates=[misroute_gate(metrics, feedback.misroute), drift_gate(drift, feedback.drift)],
        changed_to=[ChangePair(**r) for r in changed_to(events).head(TOP_CHANGES).to_dict("records")],
        missing=[_missing(events, s) for s in segments],
        quarantined=quarantined or [],
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
    pilot: pd.DataFrame, weekly: pd.DataFrame, weeks: list[int], classes: list[str], overall: bool = False
) -> list[AcceptanceRow]:
    """All events (with `overall`), each predicted class (declared order first), then each segment
    value, with every week's rate, from the `pilot` and `weekly` rows of one model version (or of
    all pooled)."""
    whole = pilot[(pilot[CLASS] == ALL) & (pilot["segment"] == ALL)] if overall else pilot.iloc[:0]
    by_class = pilot[(pilot[CLASS] != ALL) & (pilot["segment"] == ALL)]
    rank = by_class[CLASS].map({name: rank for rank, name in enumerate(classes)}).fillna(len(classes))
    by_class = by_class.assign(_rank=rank).sort_values(["_rank", CLASS]).drop(columns="_rank")
    by_value = pilot[(pilot[CLASS] == ALL) & (pilot["segment"] != ALL)]
    keyed = weekly.set_index([CLASS, "segment", "value", "period"])
    rows = []
    for _, row in pd.concat([whole, by_class, by_value]).iterrows():
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
    env.filters["counted"] = counted
    return env.get_template(template).render(
        s=summary, axis=_axis(summary), small_sample=SMALL_SAMPLE, week_1_last=summary.start + timedelta(days=6)
    )


def _axis(summary: FeedbackSummary) -> float:
    """Where the interval bars' scale starts (it ends at 100%): the lowest interval shown, rounded
    down to a tenth, so that differences between segments are visible."""
    rows = summary.acceptance + summary.acceptance_by_model
    lows = [r.cell.acceptance.low for r in rows] + [c.acceptance.low for c in summary.lagging]
    return math.floor(min((low for low in lows if low is not None), default=0.0) * 10) / 10
