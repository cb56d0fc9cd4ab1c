"""Ingesting feedback events: which days hold new events (the sensor's watermark), and one day's
events read from the store, checked, joined to the ticket's segments, written or quarantined.

A day is always ingested whole: its file is rewritten from every event the store holds for that
UTC day, so ingesting a day twice gives the same file (a re-run ingests nothing new) and an event
logged twice is one row (the store's primary key, and a dedup here). The watermark only decides
which days to ingest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads

from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.feedback.declaration import USER_ACTIONS
from pipelines.lib.feedback.events import EVENT_COLUMNS, MISSING
from pipelines.lib.feedback.store import FeedbackStore
from pipelines.lib.files import write_json, write_parquet
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: quarantine reasons of an event, in the order they are checked (an event gets the first)
REASONS = (
    "unknown_action",  # user_action outside accepted / changed / ignored
    "unknown_model_version",  # no `trainset feedback model` says which released version trained it
    "unknown_predicted_category",  # predicted_category outside labels.classes
    "unknown_final_category",  # final_category present and outside labels.classes
    "inconsistent_action",  # changed to the predicted category, or accepted yet routed elsewhere
    "unknown_ticket",  # the ticket is not (or no longer) in the dataset
)


@dataclass(frozen=True)
class Cursor:
    """Where the sensor stands: the last (ts, event_id) seen, and the events per day of the days a
    late event may still arrive in (`feedback.late_days` before the watermark's day)."""

    ts: datetime | None = None
    event_id: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """The cursor a sensor stored (JSON), or the start when there is none."""
        if not text:
            return cls()
        data = json.loads(text)
        ts = datetime.fromisoformat(data["ts"]) if data.get("ts") else None
        return cls(ts=ts, event_id=data.get("event_id", ""), counts=dict(data.get("counts", {})))

    def dump(self) -> str:
        ts = self.ts.isoformat() if self.ts else None
        return json.dumps({"ts": ts, "event_id": self.event_id, "counts": self.counts}, sort_keys=True)


@dataclass(frozen=True)
class Pending:
    """Days to ingest and the cursor to keep once they are requested."""

    days: list[str]
    cursor: Cursor
    new_events: int
    late_days: list[str]
    #: days outside the partitions (before the pilot's start, after today): left in the store
    outside: list[str]


def pending_days(store: FeedbackStore, cursor: Cursor, start: date, late_days: int, today: date) -> Pending:
    """Days holding events logged since `cursor`: those after its watermark, and those within
    `late_days` before the watermark's day whose count grew (an event logged late, with an older
    ts). Days before `start` or after `today` are reported, not requested."""
    watermark = (cursor.ts, cursor.event_id) if cursor.ts else None
    new = store.read_after(watermark)
    days = set(new["ts"].dt.strftime("%Y-%m-%d")) if len(new) else set()
    ts, event_id = cursor.ts, cursor.event_id
    if len(new):
        last = new.iloc[-1]
        ts, event_id = last["ts"].to_pydatetime(), str(last["event_id"])
    late: list[str] = []
    counts: dict[str, int] = {}
    if ts is not None:
        since = max(start, ts.astimezone(UTC).date() - timedelta(days=late_days))
        counts = {d: n for d, n in store.day_counts(since).items() if d <= ts.astimezone(UTC).date().isoformat()}
        late = sorted(d for d, n in counts.items() if d in cursor.counts and n > cursor.counts[d] and d not in days)
        days |= set(late)
    inside = sorted(d for d in days if start.isoformat() <= d <= today.isoformat())
    return Pending(
        days=inside,
        cursor=Cursor(ts=ts, event_id=event_id, counts=counts),
        new_events=len(new),
        late_days=late,
        outside=sorted(days - set(inside)),
    )


@dataclass(frozen=True)
class IngestedDay:
    """One day's ingestion: events in = events kept + quarantined, per reason."""

    day: str
    accounting: RowAccounting
    consented: int
    duplicates: int


def ingest_day(paths: DatasetPaths, spec: DatasetSpec, store: FeedbackStore, day: str, key: bytes) -> IngestedDay:
    """Read every event of `day` (UTC) from the store, keep one row per event_id, quarantine the
    events that cannot be used (`REASONS`, first that applies), join the rest to their ticket's
    segments, and write `paths.feedback_events(day)` and `paths.feedback_quarantine(day)` (event
    id, ticket id, reason: no event carries text). Returns the day's accounting."""
    assert spec.feedback is not None
    events = store.read_day(date.fromisoformat(day))
    read = len(events)
    events = events.drop_duplicates("event_id", keep="first")
    duplicates = read - len(events)
    accounting = Accounting(len(events))
    classes = list(spec.labels.classes)
    ticket = events["ticket_id"].astype("str")
    if spec.id_column in spec.pseudonymized_columns:  # the dataset holds the id's pseudonym
        ticket = pseudonymize(ticket, key)
    frame = events.assign(ticket_id=ticket, day=day)
    lookup = _ticket_segments(paths, spec)
    action, final = frame["user_action"], frame["final_category"]
    checks = {
        "unknown_action": ~action.isin(USER_ACTIONS),
        "unknown_model_version": ~frame["model_version"].isin(list(store.models())),
        "unknown_predicted_category": ~frame["predicted_category"].isin(classes),
        "unknown_final_category": final.notna() & ~final.isin(classes),
        "inconsistent_action": (action.eq("changed") & (final.isna() | final.eq(frame["predicted_category"])))
        | (action.eq("accepted") & final.notna() & final.ne(frame["predicted_category"])),
        "unknown_ticket": ~frame["ticket_id"].isin(lookup.index),
    }
    reason = pd.Series(pd.NA, index=frame.index, dtype="str")
    for name in REASONS:
        reason = reason.where(reason.notna() | ~checks[name].fillna(True).astype(bool), name)
    bad = reason.notna()
    quarantined = frame.loc[bad, ["event_id", "ticket_id", "model_version", "user_action", "ts", "day"]]
    write_parquet(quarantined.assign(reason=reason[bad]).reset_index(drop=True), paths.feedback_quarantine(day))
    for name in REASONS:
        frame = accounting.remove(frame, reason.reindex(frame.index).eq(name).fillna(False), f"quarantined:{name}")
    kept = frame.astype(EVENT_COLUMNS).join(lookup, on="ticket_id")
    segments = spec.feedback_segments
    kept[segments] = kept[segments].fillna(MISSING).astype("str")
    write_parquet(kept[[*EVENT_COLUMNS, *segments]].reset_index(drop=True), paths.feedback_events(day))
    return IngestedDay(
        day=day,
        accounting=accounting.close(len(kept)),
        consented=int(kept["consent_flag"].sum()),
        duplicates=duplicates,
    )


def _ticket_segments(paths: DatasetPaths, spec: DatasetSpec) -> pd.DataFrame:
    """The dataset's tickets (its id column, as stored past redaction) and their segment values:
    what an event's ticket is looked up in. A segment column the redacted zone lacks (a detected
    language) reads as MISSING."""
    folder = paths.warehouse / "redacted"
    segments = spec.feedback_segments
    files = sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=segments, index=pd.Index([], dtype="str", name=spec.id_column), dtype="str")
    dataset = pads.dataset(files, format="parquet")
    present = [c for c in segments if c in dataset.schema.names]
    table = dataset.to_table(columns=[spec.id_column, *present]).to_pandas()
    table[spec.id_column] = table[spec.id_column].astype("str")
    for name in segments:
        if name not in present:
            table[name] = MISSING
    return table.drop_duplicates(spec.id_column, keep="last").set_index(spec.id_column)[segments]


class IngestedDayError(ValueError):
    """An ingested day's file lacks an event column (written by an older trainset): ingest it again."""


def events_folder(paths: DatasetPaths) -> Path:
    """The folder of the ingested days' partition files."""
    return paths.feedback_events("day").parent


def ingested_days(paths: DatasetPaths) -> list[date]:
    """Days whose feedback events were ingested (a partition file exists), oldest first."""
    folder = events_folder(paths)
    found = []
    for file in folder.glob("*.parquet") if folder.is_dir() else []:
        try:
            found.append(date.fromisoformat(file.stem))
        except ValueError:
            continue  # not a daily partition
    return sorted(found)


def read_events(paths: DatasetPaths, days: list[date] | None = None, segments: Sequence[str] = ()) -> pd.DataFrame:
    """The ingested events of `days` (default: every ingested day), one frame with
    `EVENT_COLUMNS` and `segments` (a segment a day lacks reads as MISSING); empty, with those
    columns, when there is none. Raises IngestedDayError for a day without an event column."""
    frames = []
    for day in ingested_days(paths) if days is None else days:
        file = paths.feedback_events(day.isoformat())
        frame = pd.read_parquet(file)
        absent = [c for c in EVENT_COLUMNS if c not in frame.columns]
        if absent:
            raise IngestedDayError(
                f"{file}: no column {', '.join(absent)}; ingest the day again with "
                f"`trainset feedback ingest {paths.dataset}`"
            )
        frames.append(frame.assign(**{s: MISSING for s in segments if s not in frame.columns}))
    if not frames:
        columns = dict(EVENT_COLUMNS) | dict.fromkeys(segments, "str")
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    return pd.concat(frames, ignore_index=True)


def purge_feedback_tickets(paths: DatasetPaths, ticket_ids: set[str]) -> int:
    """Delete the ingested events (and quarantined ones) about these tickets, as the dataset
    stores their ids (an erasure request); returns the events deleted. Each day's stats keep
    balancing: the rows go out as `erasure_request`."""
    deleted = 0
    for zone in ("feedback_events", "feedback_quarantine"):
        folder = paths.warehouse / zone
        for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            frame = pd.read_parquet(path)
            hit = frame["ticket_id"].astype("str").isin(ticket_ids)
            if not hit.any():
                continue
            write_parquet(frame.loc[~hit.to_numpy()].reset_index(drop=True), path)
            deleted += int(hit.sum())
            stats = paths.stats("feedback_events", path.stem)
            if zone == "feedback_events" and stats.is_file():
                data = json.loads(stats.read_text())
                accounting = RowAccounting.model_validate(data["accounting"])
                data["accounting"] = accounting.after_deletion("erasure_request", int(hit.sum())).model_dump()
                write_json(data, stats)
    return deleted


__all__ = [
    "REASONS",
    "Cursor",
    "IngestedDay",
    "Pending",
    "ingest_day",
    "IngestedDayError",
    "events_folder",
    "ingested_days",
    "read_events",
    "pending_days",
    "purge_feedback_tickets",
]
