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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.feedback.declaration import USER_ACTIONS
from pipelines.lib.feedback.events import EVENT_COLUMNS, MISSING
from pipelines.lib.feedback.store import FeedbackStore
from pipelines.lib.files import write_json, write_parquet
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.reports import UNDETERMINED
from pipelines.lib.spec import DETECTED_LANGUAGE, DatasetSpec
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
    """The sensor's watermark: the last (ts, event_id) read from the store at `store` (its URL
    without password, and its table)."""

    store: str = ""
    ts: datetime | None = None
    event_id: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """The cursor a sensor stored (JSON), or the start when there is none."""
        if not text:
            return cls()
        data = json.loads(text)
        ts = datetime.fromisoformat(data["ts"]) if data.get("ts") else None
        return cls(store=data.get("store", ""), ts=ts, event_id=data.get("event_id", ""))

    def dump(self) -> str:
        ts = self.ts.isoformat() if self.ts else None
        return json.dumps({"store": self.store, "ts": ts, "event_id": self.event_id}, sort_keys=True)


@dataclass(frozen=True)
class Pending:
    """Days to ingest (with the store's count of each), the cursor to keep once they are
    requested, and the events no partition can take."""

    days: dict[str, int]
    cursor: Cursor
    new_events: int
    #: days whose stored events differ from what was ingested, beyond the watermark's new ones:
    #: events logged late, deleted, or a day ingested from another store
    reconciled: list[str]
    #: the events no partition takes, in words (`outside_partitions`)
    outside: str


def outside_partitions(counts: dict[str, int], start: date, now: datetime) -> str:
    """The events no daily partition takes, in words ("" when there is none): those dated before
    `start` (never ingested) and those dated after `now` (ingested when their day comes).
    `counts` is the store's events per UTC day."""
    first, today = start.isoformat(), now.astimezone(UTC).date().isoformat()
    before = {d: n for d, n in counts.items() if d < first}
    future = {d: n for d, n in counts.items() if d > today}
    words = []
    if before:
        words.append(
            f"{sum(before.values())} event(s) dated before feedback.start ({min(before)}..{max(before)}) are not "
            "ingested: move feedback.start earlier to include them"
        )
    if future:
        words.append(f"{sum(future.values())} event(s) dated in the future (from {min(future)}) wait for their day")
    return "; ".join(words)


def pending_days(
    store: FeedbackStore, cursor: Cursor, start: date, now: datetime, ingested: dict[str, tuple[str, int]]
) -> Pending:
    """Days to ingest: those holding events after the cursor's watermark (read in (ts, event_id)
    order, up to `now`: an event dated in the future never moves the watermark past events logged
    after it), and every day whose count in the store differs from what was ingested from this
    store (`ingested`: day -> (store, events read)), so that an event logged late, however late,
    an event deleted (erasure), or a switch to another store, is never missed. Days before `start`
    or after `now` are counted, not requested."""
    location = store.location
    watermark = (cursor.ts, cursor.event_id) if cursor.ts and cursor.store == location else None
    new = store.read_after(watermark)
    new = new[new["ts"] <= now]
    ts, event_id = watermark or (None, "")
    if len(new):
        last = new.iloc[-1]
        ts, event_id = last["ts"].to_pydatetime(), str(last["event_id"])
    first, today = start.isoformat(), now.astimezone(UTC).date().isoformat()
    counts = store.day_counts(date(1970, 1, 1))
    changed = {
        day
        for day in set(counts) | set(ingested)
        if ingested.get(day) != (location, counts.get(day, 0)) and not (day not in ingested and counts.get(day) == 0)
    }
    fresh = set(new["ts"].dt.strftime("%Y-%m-%d")) if len(new) else set()
    wanted = {d for d in changed | fresh if first <= d <= today}
    return Pending(
        days={d: counts.get(d, 0) for d in sorted(wanted)},
        cursor=Cursor(store=location, ts=ts, event_id=event_id),
        new_events=len(new),
        reconciled=sorted(wanted - fresh),
        outside=outside_partitions(counts, start, now),
    )


def ingested_counts(paths: DatasetPaths) -> dict[str, tuple[str, int]]:
    """Per ingested day: the store it was read from and the events read (its stats file)."""
    found = {}
    for day in ingested_days(paths):
        stats = paths.stats("feedback_events", day.isoformat())
        if stats.is_file():
            data = json.loads(stats.read_text())
            found[day.isoformat()] = (
                data.get("store", ""),
                int(data["accounting"]["rows_in"]) + data.get("duplicates", 0),
            )
    return found


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
    lookup = _ticket_segments(paths, spec, frame["ticket_id"])
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


def _ticket_segments(paths: DatasetPaths, spec: DatasetSpec, tickets: pd.Series) -> pd.DataFrame:
    """The stored tickets among `tickets` (the dataset's id column, as stored past redaction),
    indexed by id, with their segment values: what an event's ticket is looked up in. A dataset
    without a language column has its language detected from the ticket's redacted text, as the
    training set does (`detected_language`); a ticket the detector cannot place is `und`."""
    folder = paths.warehouse / "redacted"
    segments = spec.feedback_segments
    files = sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=segments, index=pd.Index([], dtype="str", name=spec.id_column), dtype="str")
    dataset = pads.dataset(files, format="parquet")
    detect = DETECTED_LANGUAGE in segments and DETECTED_LANGUAGE not in dataset.schema.names
    present = [c for c in segments if c in dataset.schema.names]
    wanted = [spec.id_column, *present, *(spec.columns.text if detect else [])]
    # Only the day's tickets are read (a filter pushed down to the files), and only their columns.
    ids = pa.array(tickets.dropna().astype("str").unique(), type=pa.string())
    table = dataset.to_table(columns=wanted, filter=pc.field(spec.id_column).cast(pa.string()).isin(ids)).to_pandas()
    table[spec.id_column] = table[spec.id_column].astype("str")
    table = table.drop_duplicates(spec.id_column, keep="last")
    if detect:
        from pipelines.lib.quality.steps import detect_training_languages  # lingua and GX: only when needed

        found = detect_training_languages(table, spec)
        table[DETECTED_LANGUAGE] = found.fillna(UNDETERMINED).astype("str")
    for name in segments:
        if name not in table.columns:
            table[name] = MISSING
    return table.set_index(spec.id_column)[segments]


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
