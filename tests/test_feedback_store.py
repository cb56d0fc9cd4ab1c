"""The feedback store on a real PostgreSQL server and on a SQLite file, the same tests on both:
versioned migrations, logging with duplicates and conflicts, reads by watermark and by UTC day,
and the `trainset feedback init-db | model | log` verbs as a user runs them."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from conftest import FIXTURES, POSTGRES_URL, declare, small_spec
from psycopg import sql
from pydantic import ValidationError
from sqlalchemy.pool import NullPool

from pipelines.cli import main
from pipelines.lib.errors import describe_validation
from pipelines.lib.feedback import migrations
from pipelines.lib.feedback.declaration import FeedbackStoreSpec
from pipelines.lib.feedback.events import FeedbackEvent
from pipelines.lib.feedback.store import COLUMNS, FeedbackStore, FeedbackStoreError, Logged

TRAINSET = str(Path(sys.executable).parent / "trainset")
SERVER = sa.make_url(POSTGRES_URL)
EVENT_COLUMNS = list(COLUMNS)
MODEL_COLUMNS = ["model_version", "dataset", "dataset_version", "registered_at", "registered_by"]


def _admin() -> psycopg.Connection:
    """A connection to the server's `postgres` database, outside any transaction."""
    return psycopg.connect(
        host=SERVER.host or "127.0.0.1",
        port=SERVER.port or 5432,
        user=SERVER.username or "postgres",
        password=SERVER.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of this module's own on the test server, dropped afterwards; each test has its
    own tables in it."""
    name = f"trainset_feedback_{uuid.uuid4().hex[:12]}"
    try:
        admin = _admin()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        admin = None
    if admin is None:  # out of the except block: the message alone, not the driver's traceback
        where = SERVER.render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL is not reachable at {where} ({reason}): these tests need a real server", pytrace=False)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # A server whose sessions are not in UTC: a UTC day must not depend on it.
        admin.execute(sql.SQL("ALTER DATABASE {} SET timezone TO 'America/New_York'").format(sql.Identifier(name)))
    try:
        yield SERVER.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with _admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/feedback/events.db"
    return str(request.getfixturevalue("postgres_url"))


def _table() -> str:
    return f"events_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(url) -> FeedbackStore:
    created = FeedbackStore(url, _table(), dataset="ticket_triage")
    created.migrate()
    return created


def event(event_id: str, ts: str = "2026-11-28T10:00:00Z", **fields) -> FeedbackEvent:
    values = {
        "event_id": event_id,
        "ticket_id": f"T-{event_id}",
        "model_version": "m1",
        "predicted_category": "Billing",
        "final_category": "Billing",
        "user_action": "accepted",
        "consent_flag": True,
        "ts": ts,
    }
    return FeedbackEvent.model_validate(values | fields)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- migrations ------------------------------------------------------------------------------------


def test_migrating_twice_applies_every_revision_once_and_reports_the_head(url):
    store = FeedbackStore(url, _table(), dataset="ticket_triage")
    assert store.current_revision() is None
    assert store.migrate() == ["0001", "0002"] == list(migrations.revisions())
    assert store.current_revision() == migrations.head() == "0002"
    assert store.migrate() == []
    assert store.current_revision() == "0002"


def test_the_tables_hold_the_seed_columns_and_the_watermark_index(store):
    engine = sa.create_engine(store.url, poolclass=NullPool)
    try:
        inspector = sa.inspect(engine)
        columns = {column["name"]: column for column in inspector.get_columns(store.table)}
        assert list(columns) == EVENT_COLUMNS
        assert [name for name, column in columns.items() if column["nullable"]] == ["final_category"]
        assert inspector.get_pk_constraint(store.table)["constrained_columns"] == ["event_id"]
        assert isinstance(columns["ts"]["type"], sa.DateTime)
        assert isinstance(columns["consent_flag"]["type"], sa.Boolean)
        assert [c["name"] for c in inspector.get_columns(f"{store.table}_models")] == MODEL_COLUMNS
        assert inspector.get_pk_constraint(f"{store.table}_models")["constrained_columns"] == ["model_version"]
        indexes = [index["column_names"] for index in inspector.get_indexes(store.table)]
        assert ["ts", "event_id"] in indexes
        assert f"{store.table}_migrations" in inspector.get_table_names()
        assert not inspector.get_check_constraints(store.table)  # an unknown action is quarantined at ingestion
        if engine.dialect.name == "postgresql":
            assert columns["ts"]["type"].timezone
            with engine.connect() as connection:
                collation = connection.execute(
                    sa.text(
                        "SELECT collation_name FROM information_schema.columns"
                        " WHERE table_name = :t AND column_name = 'event_id'"
                    ),
                    {"t": store.table},
                ).scalar()
            assert collation == "C"  # ties in ts ordered by bytes, as in SQLite
    finally:
        engine.dispose()


def test_two_events_tables_share_one_database_and_migrate_apart(store):
    other = FeedbackStore(str(store.url.render_as_string(hide_password=False)), _table(), dataset="help_desk")
    assert other.migrate() == ["0001", "0002"]
    store.log([event("e1")])
    assert other.read_after(None).empty
    assert store.read_after(None).event_id.tolist() == ["e1"]


def test_an_older_schema_is_refused_until_upgraded(store):
    engine = sa.create_engine(store.url, poolclass=NullPool)
    with engine.begin() as connection:  # as a store created by the trainset that knew only 0001
        connection.exec_driver_sql(f"DROP INDEX ix_{store.table}_ts_event_id")
        connection.exec_driver_sql(f"UPDATE {store.table}_migrations SET version_num = '0001'")
    engine.dispose()
    with pytest.raises(
        FeedbackStoreError, match="at revision 0001.*needs 0002.*trainset feedback init-db ticket_triage"
    ):
        store.read_after(None)
    assert store.migrate() == ["0002"]
    assert store.read_after(None).empty


# -- logging ---------------------------------------------------------------------------------------


def test_a_duplicate_is_counted_and_a_conflicting_one_refused_with_nothing_logged(store):
    first = [event("e1"), event("e2"), event("e3")]
    assert store.log(first) == Logged(inserted=3, duplicates=0)
    assert store.log(first) == Logged(inserted=0, duplicates=3)
    # the same instant written at another offset is the same event
    assert store.log([event("e4"), event("e1", ts="2026-11-28T05:00:00-05:00"), event("e4")]) == Logged(1, 2)

    changed = event("e2", ticket_id="T-private-77", final_category="Category-private-88", user_action="changed")
    with pytest.raises(FeedbackStoreError) as refused:
        store.log([event("e5"), changed])
    message = str(refused.value)
    assert "'e2'" in message and "new event_id" in message and store.table in message
    assert "T-private-77" not in message and "Category-private-88" not in message
    with pytest.raises(FeedbackStoreError, match="'e6' is given twice with different content"):
        store.log([event("e6"), event("e6", consent_flag=False)])
    assert store.read_after(None).event_id.tolist() == ["e1", "e2", "e3", "e4"]  # neither e5 nor e6


def test_an_event_is_validated_before_it_is_logged():
    def problems(**fields) -> str:
        with pytest.raises(ValidationError) as invalid:
            event("e1", **fields)
        return describe_validation(invalid.value)

    assert "ts: has no time zone: give an offset" in problems(ts="2026-11-28T22:30:00")
    assert "or Z for UTC" in problems(ts="2026-11-28T22:30:00")
    assert problems(ts="28/11/2026 22:30").startswith("ts: is not an ISO 8601 date and time")
    assert problems(consent_flag="yes").startswith("consent_flag:")  # a real bool, not a word
    assert problems(consent_flag=1).startswith("consent_flag:")
    assert problems(user_action="escalated") == "user_action: must be one of accepted, changed, ignored"
    assert problems(ticket_id="  ") == "ticket_id: must not be empty"
    assert problems(channel="email") == "channel: Extra inputs are not permitted"
    assert "escalated" not in problems(user_action="escalated", ticket_id="T-private-77")

    numbered = event("e1", ticket_id=1001, final_category="", ts="2026-11-28T22:30:00-05:00")
    assert (numbered.ticket_id, numbered.final_category, numbered.ts) == ("1001", None, utc(2026, 11, 29, 3, 30))
    assert numbered.ts.utcoffset() == timedelta(0)


def test_a_model_version_is_registered_once_against_one_dataset_version(store):
    assert store.models() == {}
    assert store.register_model("m1", "ticket_triage", 1, "steward") is True
    assert store.register_model("m1", "ticket_triage", 1, "someone else") is False
    assert store.register_model("m2", "ticket_triage", 2, "steward") is True
    assert store.models() == {"m1": 1, "m2": 2}
    with pytest.raises(FeedbackStoreError, match="'m1' is registered already, as trained on ticket_triage@v1"):
        store.register_model("m1", "ticket_triage", 2, "steward")


# -- reading ---------------------------------------------------------------------------------------


def test_read_after_orders_by_ts_then_event_id_and_reads_strictly_after_the_watermark(store):
    at_ten = "2026-11-28T10:00:00Z"
    events = [
        event("late", ts="2026-11-28T11:00:00Z"),
        event("e9", ts="2026-11-28T05:00:00-05:00"),  # 10:00 UTC
        event("a", ts=at_ten),
        event("e10", ts="2026-11-28T11:00:00+01:00"),  # 10:00 UTC
        event("early", ts="2026-11-28T09:00:00Z"),
        event("B", ts=at_ten),
    ]
    store.log(events)
    order = ["early", "B", "a", "e10", "e9", "late"]  # ties in ts: event_id in byte order
    assert store.read_after(None).event_id.tolist() == order
    ten = utc(2026, 11, 28, 10)
    assert store.read_after((ten, "a")).event_id.tolist() == ["e10", "e9", "late"]
    assert store.read_after((ten, "e9")).event_id.tolist() == ["late"]
    assert store.read_after((ten, "")).event_id.tolist() == order[1:]
    assert store.read_after((ten - timedelta(microseconds=1), "zzz")).event_id.tolist() == order[1:]
    assert store.read_after((ten.astimezone(timezone(timedelta(hours=-5))), "a")).event_id.tolist() == [
        "e10",
        "e9",
        "late",
    ]
    assert store.read_after((utc(2026, 11, 28, 11), "late")).empty
    assert store.read_after((ten, "B"), limit=2).event_id.tolist() == ["a", "e10"]

    read, mark = [], None
    while not (page := store.read_after(mark, limit=2)).empty:  # a reader that keeps its watermark
        read += page.event_id.tolist()
        mark = (page.ts.iloc[-1], page.event_id.iloc[-1])
    assert read == order
    with pytest.raises(ValueError, match="no time zone"):
        store.read_after((datetime(2026, 11, 28, 10), "a"))


def test_read_day_and_day_counts_place_each_event_in_its_utc_day(store):
    store.log(
        [
            event("evening-new-york", ts="2026-11-28T22:30:00-05:00", final_category=None, consent_flag=False),
            event("after-midnight-berlin", ts="2026-11-29T00:30:00+02:00"),
            event("last-of-28", ts="2026-11-28T23:59:59.999999+00:00"),
            event("first-of-29", ts="2026-11-29T00:00:00Z"),
            event("last-of-29", ts="2026-11-29T23:59:59.999999Z"),
            event("first-of-30", ts="2026-11-30T00:00:00Z"),
        ]
    )
    day = store.read_day(date(2026, 11, 29))
    assert day.event_id.tolist() == ["first-of-29", "evening-new-york", "last-of-29"]
    assert list(day.columns) == EVENT_COLUMNS
    assert {name: str(dtype) for name, dtype in day.dtypes.items()} == COLUMNS
    assert day.ts.tolist() == [utc(2026, 11, 29), utc(2026, 11, 29, 3, 30), utc(2026, 11, 29, 23, 59, 59, 999999)]
    evening = day.iloc[1]
    assert evening.ticket_id == "T-evening-new-york" and not evening.consent_flag and pd.isna(evening.final_category)
    assert store.read_day(date(2026, 11, 28)).event_id.tolist() == ["after-midnight-berlin", "last-of-28"]
    empty = store.read_day(date(2026, 12, 1))
    assert empty.empty and {name: str(dtype) for name, dtype in empty.dtypes.items()} == COLUMNS

    assert store.day_counts(date(2026, 11, 1)) == {"2026-11-28": 2, "2026-11-29": 3, "2026-11-30": 1}
    assert store.day_counts(date(2026, 11, 29)) == {"2026-11-29": 3, "2026-11-30": 1}
    assert store.day_counts(date(2026, 12, 1)) == {}


def test_sqlite_keeps_utc_text_of_one_width_so_text_order_is_time_order(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path}/events.db", _table())
    store.migrate()
    store.log([event("a", ts="2026-11-28T22:30:00-05:00"), event("b", ts="2026-11-29T00:30:00.5+02:00")])
    with sqlite3.connect(tmp_path / "events.db") as connection:
        stored = [row[0] for row in connection.execute(f"SELECT ts FROM {store.table} ORDER BY ts")]
    assert stored == ["2026-11-28 22:30:00.500000", "2026-11-29 03:30:00.000000"]


# -- errors ----------------------------------------------------------------------------------------


def test_a_store_never_migrated_says_to_run_init_db(url):
    store = FeedbackStore(url, _table(), dataset="ticket_triage")
    for read in (
        lambda: store.log([event("e1")]),
        lambda: store.read_after(None),
        lambda: store.read_day(date(2026, 11, 28)),
        lambda: store.day_counts(date(2026, 11, 28)),
        lambda: store.models(),
        lambda: store.register_model("m1", "ticket_triage", 1, "steward"),
    ):
        with pytest.raises(FeedbackStoreError, match="does not exist; run `trainset feedback init-db ticket_triage`"):
            read()
    if url.startswith("sqlite"):
        assert not Path(sa.make_url(url).database or "").exists()  # a read creates no empty database


def test_a_server_that_cannot_be_reached_is_named_without_its_password():
    store = FeedbackStore("postgresql://postgres:s3cret@127.0.0.1:1/feedback", _table())
    with pytest.raises(FeedbackStoreError) as refused:
        store.migrate()
    message = str(refused.value)
    assert "cannot connect" in message and "postgresql://postgres:***@127.0.0.1:1/feedback" in message
    assert "s3cret" not in message and "check that the server is running" in message


# -- the CLI ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int
    out: str

    def ok(self) -> str:
        assert self.code == 0, self.out
        return self.out

    def failed(self, *causes: str) -> str:
        """Exit 2 with one error line saying each cause, and no traceback."""
        assert self.code == 2, self.out
        assert "Traceback" not in self.out, self.out
        for cause in causes:
            assert cause in self.out, self.out
        return self.out


@pytest.fixture
def trainset(monkeypatch, capsys):
    """`trainset ARGS` as its console script runs it (exit codes, errors in words), in this process."""

    def run(*args: object) -> Ran:
        monkeypatch.setattr(sys, "argv", ["trainset", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out + captured.err)

    return run


@dataclass(frozen=True)
class Workspace:
    root: Path
    store: FeedbackStore


@pytest.fixture
def workspace(url, tmp_path) -> Workspace:
    """A workspace declaring ticket_triage; its feedback store the embedded default (SQLite) or a
    table of its own on the test server."""
    root = tmp_path / "workspace"
    spec = small_spec()
    assert spec.feedback is not None
    if url.startswith("postgresql"):
        store = FeedbackStoreSpec(url=url, table=_table())
        spec = spec.model_copy(update={"feedback": spec.feedback.model_copy(update={"store": store})})
    declare(root, spec)
    return Workspace(root, FeedbackStore.for_dataset(spec, root))


def test_init_db_model_and_log(workspace, trainset):
    root, store = workspace.root, workspace.store
    created = trainset("feedback", "init-db", "ticket_triage", "--workspace", root).ok()
    assert "applied revision(s) 0001, 0002" in created and store.location in created
    if store.url.get_backend_name() == "sqlite":
        assert (root / "data" / "feedback" / "ticket_triage" / "events.db").is_file()
    assert "already at 0002" in trainset("feedback", "init-db", "--workspace", root).ok()

    one = ["--event-id", "e1", "--ticket-id", "T1", "--model-version", "m-2026-11", "--predicted", "Billing"]
    one += ["--action", "accepted", "--consent", "yes", "--ts", "2026-11-28T22:30:00-05:00"]
    assert "1 inserted, 0 duplicate(s)" in trainset("feedback", "log", "ticket_triage", *one, "--workspace", root).ok()

    lines = [
        {**_record("e1", ticket_id="T1", model_version="m-2026-11", final_category=None), "ts": "2026-11-29T03:30:00Z"},
        {**_record("e2", ts="2026-11-29T08:00:00Z"), "ticket_id": 1002},  # an id written as a JSON number
        _record("e3", ts="2026-11-29T09:00:00Z", user_action="ignored", final_category=None, consent_flag=False),
    ]
    jsonl = root / "events.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(line) for line in lines).encode() + b"\r\n\r\n")
    logged = trainset("feedback", "log", "ticket_triage", "--file", jsonl, "--workspace", root).ok()
    assert "2 inserted, 1 duplicate(s)" in logged

    csv_file = root / "events.csv"
    header = "event_id,ticket_id,model_version,predicted_category,final_category,user_action,consent_flag,ts"
    rows = [
        "e4,T4,m-2026-11,Technical,Account,changed,yes,2026-11-30T09:00:00+01:00",
        "e5,T5,m-2026-11,Other,,ignored,FALSE,2026-11-30T10:00:00Z",
        ",,,,,,,",  # a trailing all-empty row, as exports write them
    ]
    csv_file.write_bytes(("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode())
    assert "2 inserted, 0 duplicate(s)" in trainset("feedback", "log", "--file", csv_file, "--workspace", root).ok()

    events = store.read_after(None)
    assert events.event_id.tolist() == ["e1", "e2", "e3", "e4", "e5"]
    assert events.ticket_id.tolist() == ["T1", "1002", "T-e3", "T4", "T5"]
    assert events.consent_flag.tolist() == [True, True, False, True, False]
    assert events.final_category.isna().tolist() == [True, False, True, False, True]
    assert events.ts.iloc[3] == utc(2026, 11, 30, 8)

    model = ["feedback", "model", "ticket_triage", "m-2026-11", "--workspace", root]
    trainset(*model, "--dataset-version", "1").failed("no released version v1", "released: none yet")
    release = root / "datasets" / "ticket_triage" / "v1"
    release.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "card" / "manifest.json", release / "manifest.json")
    registered = trainset(*model, "--dataset-version", "1", "--who", "steward").ok()
    assert "model m-2026-11 registered, trained on ticket_triage@v1" in registered
    assert "already registered" in trainset(*model, "--dataset-version", "1").ok()
    trainset(*model, "--dataset-version", "2").failed("no released version v2", "released: v1")
    assert store.models() == {"m-2026-11": 1}


def _record(event_id: str, **fields) -> dict:
    return event(event_id, **fields).model_dump(mode="json")


def test_log_refuses_a_file_with_one_bad_event_and_logs_none_of_it(workspace, trainset):
    root, store = workspace.root, workspace.store
    log = ["feedback", "log", "ticket_triage", "--workspace", root]
    trainset(*log, "--file", root / "events.jsonl").failed("events.jsonl: no such file")
    (root / "events.jsonl").write_text(json.dumps(_record("e1")) + "\n")
    trainset(*log, "--file", root / "events.jsonl").failed("does not exist", "init-db ticket_triage")
    trainset("feedback", "init-db", "ticket_triage", "--workspace", root).ok()

    def bad_jsonl(name: str, third: object) -> Path:
        path = root / name
        lines = [
            json.dumps(_record("e1")),
            json.dumps(_record("e2")),
            third if isinstance(third, str) else json.dumps(third),
        ]
        path.write_text("\n".join(lines) + "\n")
        return path

    naive = {**_record("e3", ticket_id="T-private-77"), "ts": "2026-11-28T22:30:00"}
    out = trainset(*log, "--file", bad_jsonl("naive.jsonl", naive)).failed("naive.jsonl, line 3: ts: has no time zone")
    assert "T-private-77" not in out
    trainset(*log, "--file", bad_jsonl("word.jsonl", {**_record("e3"), "consent_flag": "maybe"})).failed(
        "word.jsonl, line 3: consent_flag:"
    )
    trainset(*log, "--file", bad_jsonl("array.jsonl", "[1, 2]")).failed("array.jsonl, line 3: not a JSON object")
    trainset(*log, "--file", bad_jsonl("missing.jsonl", {"event_id": "e3"})).failed(
        "line 3:", "ticket_id: Field required"
    )
    assert store.read_after(None).empty  # all or nothing per file

    header = "event_id,ticket_id,model_version,predicted_category,user_action,ts"
    (root / "no_consent.csv").write_text(header + "\ne1,T1,m1,Billing,accepted,2026-11-28T10:00:00Z\n")
    trainset(*log, "--file", root / "no_consent.csv").failed("no_consent.csv, line 1: no column consent_flag")
    header += ",consent_flag"
    (root / "action.csv").write_text(header + "\ne1,T1,m1,Billing,escalated,2026-11-28T10:00:00Z,true\n")
    trainset(*log, "--file", root / "action.csv").failed("action.csv, line 2: user_action: must be one of")
    (root / "latin1.csv").write_bytes(
        f"{header}\ne1,T1,m1,Facturación,accepted,2026-11-28T10:00:00Z,t\n".encode("cp1252")
    )
    trainset(*log, "--file", root / "latin1.csv").failed("latin1.csv, line 2: not UTF-8 text")
    (root / "events.txt").write_text("")
    trainset(*log, "--file", root / "events.txt").failed("not a .jsonl or .csv file")
    assert store.read_after(None).empty

    store.log([event("e1")])
    conflicting = root / "conflict.jsonl"
    conflicting.write_text(json.dumps(_record("e1", ticket_id="T-private-77", user_action="ignored")) + "\n")
    out = trainset(*log, "--file", conflicting).failed(
        "event 'e1' is stored already with other content", "new event_id"
    )
    assert "T-private-77" not in out
    trainset(*log, "--file", conflicting, "--event-id", "e9").failed("--file, or the options of one event")
    trainset(*log, "--event-id", "e9", "--ticket-id", "T9").failed("an event needs --model-version, --predicted")
    trainset(
        *log,
        "--event-id",
        "e9",
        "--ticket-id",
        "T9",
        "--model-version",
        "m1",
        "--predicted",
        "Billing",
        "--action",
        "accepted",
        "--consent",
        "no",
        "--ts",
        "2026-11-28 10:00",
    ).failed("--ts: has no time zone")
    assert store.read_after(None).event_id.tolist() == ["e1"]


def test_a_dataset_without_a_feedback_block_is_named(tmp_path, trainset):
    declare(tmp_path, small_spec().model_copy(update={"feedback": None}))
    trainset("feedback", "init-db", "ticket_triage", "--workspace", tmp_path).failed(
        "'ticket_triage' declares no feedback", "pipelines/defs/ticket_triage/defs.yaml"
    )


def test_the_console_script_names_every_bad_line_and_logs_nothing(tmp_path):
    declare(tmp_path, small_spec())
    store = FeedbackStore.for_dataset(small_spec(), tmp_path)
    store.migrate()
    bad = tmp_path / "events.jsonl"
    lines = [{**_record("e1"), "user_action": "escalated"}, _record("e2"), {**_record("e3"), "consent_flag": None}]
    bad.write_text("".join(json.dumps(line) + "\n" for line in lines))
    command = [TRAINSET, "feedback", "log", "ticket_triage", "--file", str(bad), "--workspace", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    shown = result.stderr.strip().splitlines()
    assert shown[0] == f"error: {bad}, line 1: user_action: must be one of accepted, changed, ignored"
    assert shown[1].startswith(f"{bad}, line 3: consent_flag") and shown[2] == "nothing was logged from the file"
    assert store.read_after(None).empty
    empty = tmp_path / "empty.csv"
    empty.write_text("\ufeffevent_id,ticket_id,model_version,predicted_category,user_action,consent_flag,ts\r\n")
    result = subprocess.run([*command[:5], str(empty), *command[6:]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"{empty}: holds no event; nothing was logged" in result.stderr
