"""Which days the feedback sensor asks to ingest: after the watermark, and wherever the store and
the ingested days disagree (a late event however late, a deleted one, another store)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from pipelines.lib.feedback.events import FeedbackEvent
from pipelines.lib.feedback.ingest import Cursor, pending_days
from pipelines.lib.feedback.store import FeedbackStore

START = date(2026, 10, 1)
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)


def _event(event_id: str, ts: datetime) -> FeedbackEvent:
    return FeedbackEvent(
        event_id=event_id,
        ticket_id="T1",
        model_version="v1",
        predicted_category="Billing",
        final_category="Billing",
        user_action="accepted",
        consent_flag=True,
        ts=ts,
    )


def _store(tmp_path) -> FeedbackStore:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.migrate()
    store.log([_event("a", datetime(2026, 10, 3, 9, tzinfo=UTC)), _event("b", datetime(2026, 10, 10, 9, tzinfo=UTC))])
    return store


def test_new_events_then_nothing(tmp_path):
    store = _store(tmp_path)
    first = pending_days(store, Cursor(), START, NOW, {})
    assert first.days == {"2026-10-03": 1, "2026-10-10": 1} and first.new_events == 2
    ingested = {day: (store.location, n) for day, n in first.days.items()}
    again = pending_days(store, first.cursor, START, NOW, ingested)
    assert again.days == {} and again.new_events == 0 and again.outside == ""


def test_a_late_event_however_late_and_a_deleted_one_are_ingested(tmp_path):
    store = _store(tmp_path)
    first = pending_days(store, Cursor(), START, NOW, {})
    ingested = {day: (store.location, n) for day, n in first.days.items()}
    store.log([_event("late", datetime(2026, 10, 2, 9, tzinfo=UTC))])  # 8 days behind the watermark
    with sa.create_engine(store.url).begin() as connection:
        connection.execute(sa.text("DELETE FROM triage_feedback WHERE event_id = 'b'"))
    later = pending_days(store, first.cursor, START, NOW, ingested)
    assert later.days == {"2026-10-02": 1, "2026-10-10": 0}  # the emptied day is rewritten empty
    assert later.reconciled == ["2026-10-02", "2026-10-10"] and later.new_events == 0


def test_another_store_is_read_from_the_start_and_its_days_replace_the_old_ones(tmp_path):
    store = _store(tmp_path)
    ingested = {"2026-10-03": ("sqlite:///elsewhere.db/triage_feedback", 5), "2026-10-05": ("elsewhere", 3)}
    old_cursor = Cursor(store="elsewhere", ts=datetime(2026, 10, 19, tzinfo=UTC), event_id="zzz")
    switched = pending_days(store, old_cursor, START, NOW, ingested)
    assert switched.new_events == 2  # the other store's watermark means nothing here
    assert switched.days == {"2026-10-03": 1, "2026-10-05": 0, "2026-10-10": 1}
    assert switched.cursor.store == store.location


def test_events_outside_the_partitions_are_said_and_never_hold_the_watermark(tmp_path):
    store = _store(tmp_path)
    with sa.create_engine(store.url).begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO triage_feedback (event_id, ticket_id, model_version, predicted_category, "
                "final_category, user_action, consent_flag, ts) VALUES "
                "('future', 'T1', 'v1', 'Billing', 'Billing', 'accepted', 1, '2027-12-01 00:00:00.000000')"
            )
        )
    store.log([_event("early", datetime(2026, 9, 20, tzinfo=UTC))])
    pending = pending_days(store, Cursor(), START, NOW, {})
    assert pending.cursor.event_id == "b"  # not `future`
    assert sorted(pending.days) == ["2026-10-03", "2026-10-10"]
    assert "1 event(s) dated before feedback.start (2026-09-20..2026-09-20)" in pending.outside
    assert "1 event(s) dated in the future (from 2027-12-01)" in pending.outside
    store.log([_event("c", datetime(2026, 10, 15, tzinfo=UTC))])
    ingested = {day: (store.location, n) for day, n in pending.days.items()}
    assert pending_days(store, pending.cursor, START, NOW, ingested).days == {"2026-10-15": 1}


def test_without_a_language_column_an_events_language_is_detected_from_its_ticket(tmp_path):
    from conftest import small_spec

    from pipelines.lib.feedback.ingest import ingest_day
    from pipelines.lib.files import write_parquet
    from pipelines.lib.workspace import DatasetPaths

    base = small_spec()
    feedback = base.feedback.model_copy(update={"segments": None})  # the default: language and segments
    spec = base.model_copy(update={"columns": base.columns.model_copy(update={"language": None}), "feedback": feedback})
    assert spec.feedback_segments == ["detected_language", "channel"]
    paths = DatasetPaths(tmp_path, spec.name)
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3"],
            "channel": ["email", "chat", "web"],
            "subject": ["Invoice charged twice", "Rechnung doppelt abgebucht", "x"],
            "body": [
                "Hello, my card was charged twice for the same invoice this month, please refund one.",
                "Hallo, meine Karte wurde diesen Monat zweimal für dieselbe Rechnung belastet, bitte erstatten.",
                "",
            ],
        }
    )
    write_parquet(tickets, paths.redacted("2026-10-03"))
    store = FeedbackStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.migrate()
    store.register_model("v1", spec.name, 1, who="test")
    events = [_event(f"e{n}", datetime(2026, 10, 3, 9, n, tzinfo=UTC)) for n in range(3)]
    store.log([e.model_copy(update={"ticket_id": t}) for e, t in zip(events, ["T1", "T2", "T3"], strict=True)])
    ingest_day(paths, spec, store, "2026-10-03", b"k" * 32)
    kept = pd.read_parquet(paths.feedback_events("2026-10-03")).set_index("ticket_id")
    assert kept["detected_language"].to_dict() == {"T1": "en", "T2": "de", "T3": "und"}
    assert kept["channel"].to_dict() == {"T1": "email", "T2": "chat", "T3": "web"}
