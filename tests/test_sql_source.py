"""Reading a database table or query by its watermark, against a real PostgreSQL server and SQLite.

PostgreSQL is the server on 127.0.0.1:5432 (or TRAINSET_TEST_POSTGRES_URL); each test works in a
schema of its own, dropped afterwards, since tests run in parallel and CI reuses the server. A
server that is not reachable fails the tests: CI starts one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import POSTGRES_URL, postgres_schema
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from pipelines.lib.ingest.sql_source import (
    SqlSourceError,
    Watermark,
    _text,
    count_new_rows,
    count_null_watermark,
    read_new_rows,
)

T0 = datetime(2026, 11, 28, 22, 30)
BIG = 2**53 + 1  # the first integer a float64 cannot hold


@dataclass
class Database:
    """One test's database: its URL, an engine to arrange rows with, and where its tables live."""

    kind: str
    url: str
    engine: sa.Engine
    schema: str | None

    def name(self, table: str) -> str:
        """How read_new_rows names `table`: schema-qualified in PostgreSQL."""
        return f"{self.schema}.{table}" if self.schema else table

    def run(self, *statements: str) -> None:
        with self.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement.replace("{schema}.", f"{self.schema}." if self.schema else ""))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        engine = sa.create_engine(url, poolclass=NullPool)
        yield Database("sqlite", url, engine, None)
        engine.dispose()
        return
    with postgres_schema("trainset_test") as (engine, schema):
        yield Database("postgresql", POSTGRES_URL, engine, schema)


def tickets_table(db: Database) -> sa.Table:
    return sa.Table(
        "tickets",
        sa.MetaData(schema=db.schema),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("body", sa.Text),
        sa.Column("status", sa.String(10)),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("priority", sa.Integer, nullable=True),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("urgent", sa.Boolean),
        sa.Column("due", sa.Date),
    )


def ticket(id_, minutes, *, status="open", priority=None, body=None, **values):
    return {
        "id": id_,
        "body": body if body is not None else f"ticket {id_}",
        "status": status,
        "updated_at": None if minutes is None else T0 + timedelta(minutes=minutes),
        "priority": priority,
        "amount": Decimal("12.50"),
        "urgent": id_ % 2 == 0,
        "due": date(2026, 12, 1),
        **values,
    }


def add(db: Database, *rows: dict) -> sa.Table:
    table = tickets_table(db)
    with db.engine.begin() as connection:
        table.create(connection, checkfirst=True)
        connection.execute(table.insert(), list(rows))
    return table


def read(db: Database, after: Watermark | None = None, **options):
    return read_new_rows(db.url, table=db.name("tickets"), watermark="updated_at", after=after, **options)


def test_the_first_read_gets_every_row_in_watermark_order_as_text(db):
    add(db, ticket(3, 20, priority=2), ticket(1, 0), ticket(2, 10, status="closed"), ticket(4, None))
    batch = read(db)
    rows = batch.rows
    assert list(rows.columns) == ["id", "body", "status", "updated_at", "priority", "amount", "urgent", "due"]
    assert all(str(dtype) == "str" for dtype in rows.dtypes)
    assert rows["id"].tolist() == ["1", "2", "3"]  # ordered by the watermark; 4's is NULL: never read
    assert rows["updated_at"].tolist() == ["2026-11-28T22:30:00", "2026-11-28T22:40:00", "2026-11-28T22:50:00"]
    assert rows["urgent"].tolist() == ["false", "true", "false"]
    assert rows["due"].tolist() == ["2026-12-01"] * 3
    # PostgreSQL returns NUMERIC(10, 2) as written; SQLite stores it as a REAL
    assert rows["amount"].tolist() == ["12.50" if db.kind == "postgresql" else "12.5"] * 3
    assert rows["priority"].isna().tolist() == [True, True, False]
    assert rows["priority"].iloc[2] == "2"
    assert batch.watermark == Watermark("datetime", "2026-11-28T22:50:00")


def test_a_read_after_the_watermark_gets_only_the_rows_written_since(db):
    add(db, ticket(1, 0), ticket(2, 10))
    first = read(db)
    stored = Watermark.from_json(json.loads(json.dumps(first.watermark.to_json())))
    again = read(db, after=stored)
    assert again.rows.empty and again.watermark is None
    assert list(again.rows.columns) == list(first.rows.columns)
    add(db, ticket(3, 10), ticket(4, 11), ticket(5, 9, body="late: written under an older watermark"))
    new = read(db, after=stored)
    assert new.rows["id"].tolist() == ["4"]  # 3's watermark equals the last one read, 5's is before it
    assert new.watermark == Watermark("datetime", "2026-11-28T22:41:00")


def test_ids_above_2_53_and_nullable_ints_keep_their_digits(db):
    add(db, ticket(BIG, 0, priority=None), ticket(2**62 + 3, 1, priority=1001), ticket(7, 2, priority=None))
    batch = read(db)
    assert batch.rows["id"].tolist() == [str(BIG), str(2**62 + 3), "7"]
    assert batch.rows["priority"].iloc[1] == "1001"
    assert batch.rows["priority"].isna().sum() == 2
    by_id = read_new_rows(db.url, table=db.name("tickets"), watermark="id", after=Watermark("int", str(BIG)))
    assert by_id.rows["id"].tolist() == [str(2**62 + 3)]
    assert by_id.watermark == Watermark("int", str(2**62 + 3))


def test_timestamps_with_a_time_zone_round_trip_as_the_same_instant(db):
    # PostgreSQL: a timestamptz column written from a session in another time zone. SQLite has no
    # such type: a DATETIME column holding ISO text with an offset.
    instants = [datetime(2026, 11, 28, 22, 30, tzinfo=UTC), datetime(2026, 11, 28, 22, 30, 0, 5, tzinfo=UTC)]
    if db.kind == "postgresql":
        db.run(
            "CREATE TABLE {schema}.events (id bigint PRIMARY KEY, at timestamptz)",
            "SET TIME ZONE 'America/New_York'",
            "INSERT INTO {schema}.events VALUES (1, '2026-11-28 23:30:00+01'), (2, '2026-11-28 17:30:00.000005')",
        )
    else:
        db.run(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME)",
            "INSERT INTO events VALUES (1, '2026-11-28T22:30:00+00:00'), (2, '2026-11-28T22:30:00.000005+00:00')",
        )
    source = {"table": db.name("events"), "watermark": "at"}
    batch = read_new_rows(db.url, **source)
    assert batch.rows["at"].tolist() == ["2026-11-28T22:30:00+00:00", "2026-11-28T22:30:00.000005+00:00"]
    assert [datetime.fromisoformat(text) for text in batch.rows["at"]] == instants
    assert batch.watermark == Watermark("datetime", "2026-11-28T22:30:00.000005+00:00")
    assert read_new_rows(db.url, **source, after=batch.watermark).rows.empty
    if db.kind == "postgresql":  # a server whose sessions start in another time zone reads the same text
        elsewhere = sa.make_url(db.url).update_query_dict({"options": "-c timezone=Asia/Kolkata"})
        assert read_new_rows(elsewhere.render_as_string(hide_password=False), **source).rows.equals(batch.rows)
    # the same instant as the first row, written with another offset, is before the watermark
    assert read_new_rows(db.url, **source, after=Watermark("datetime", "2026-11-28T23:30:00+01:00")).rows[
        "id"
    ].tolist() == ["2"]


@pytest.mark.parametrize(
    ("declared", "written"),
    [
        ("DATETIME", None),  # SQLAlchemy's DateTime writes '2026-11-28 22:30:00.000000'
        ("DATETIME", "%Y-%m-%dT%H:%M:%S"),  # another writer's ISO text in a DATETIME column
        ("TEXT", "%Y-%m-%dT%H:%M:%S"),  # plain ISO text: read, and compared, as text
    ],
)
def test_sqlite_datetimes_compare_as_sqlite_stores_them(tmp_path, declared, written):
    url = f"sqlite:///{tmp_path / 'stored.db'}"
    engine = sa.create_engine(url, poolclass=NullPool)
    events = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("at", sa.DateTime))

    def insert(*rows):
        with engine.begin() as connection:
            if written is None:
                connection.execute(events.insert(), [{"id": i, "at": at} for i, at in rows])
            else:
                values = [
                    {"id": i, "at": at.strftime(written) + (f".{at:%f}" if at.microsecond else "")} for i, at in rows
                ]
                connection.execute(sa.text("INSERT INTO events VALUES (:id, :at)"), values)

    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE events (id INTEGER, at {declared})")
    insert((1, T0), (2, T0 + timedelta(seconds=1)), (3, T0 - timedelta(microseconds=1)))
    first = read_new_rows(url, table="events", watermark="at")
    assert first.rows["id"].tolist() == ["3", "1", "2"]
    assert first.watermark == Watermark("text" if declared == "TEXT" else "datetime", "2026-11-28T22:30:01")
    assert read_new_rows(url, table="events", watermark="at", after=first.watermark).rows.empty
    insert((4, T0 + timedelta(seconds=1, microseconds=1)), (5, T0 + timedelta(seconds=1)))
    assert read_new_rows(url, table="events", watermark="at", after=first.watermark).rows["id"].tolist() == ["4"]
    assert count_new_rows(url, table="events", watermark="at", after=first.watermark) == 1
    engine.dispose()


def test_a_query_source_reads_what_its_where_clause_selects(db):
    add(db, ticket(1, 0), ticket(2, 5, status="closed"), ticket(3, 10, body="100% sure: it works"), ticket(4, 15))
    query = f"""
        SELECT id, body, updated_at FROM {db.name("tickets")}
        WHERE status = 'open' AND body NOT LIKE '%spam:%';
    """
    batch = read_new_rows(db.url, query=query, watermark="updated_at")
    assert list(batch.rows.columns) == ["id", "body", "updated_at"]
    assert batch.rows["id"].tolist() == ["1", "3", "4"]
    assert batch.rows["body"].tolist()[1] == "100% sure: it works"
    # SQLite has no types for a query's columns: its datetimes are the stored text
    assert batch.watermark == (
        Watermark("datetime", "2026-11-28T22:45:00")
        if db.kind == "postgresql"
        else Watermark("text", "2026-11-28 22:45:00.000000")
    )
    after = (
        Watermark("datetime", "2026-11-28T22:30:00")
        if db.kind == "postgresql"
        else Watermark("text", "2026-11-28 22:30:00.000000")
    )
    assert read_new_rows(db.url, query=query, watermark="updated_at", after=after).rows["id"].tolist() == ["3", "4"]
    assert count_new_rows(db.url, query=query, watermark="updated_at", after=after) == 2


def test_counts_agree_with_the_read(db):
    add(db, *(ticket(i, i % 7) for i in range(1, 21)), ticket(21, None), ticket(22, None))
    # a query's datetimes are text in SQLite (no declared types), so its watermark is text
    for source, after in (
        ({"table": db.name("tickets")}, None),
        ({"table": db.name("tickets")}, Watermark("datetime", "2026-11-28T22:33:00")),
        ({"query": f"SELECT * FROM {db.name('tickets')} WHERE id > 5"}, None),
        (
            {"query": f"SELECT * FROM {db.name('tickets')} WHERE id > 5"},
            Watermark("datetime", "2026-11-28T22:33:00")
            if db.kind == "postgresql"
            else Watermark("text", "2026-11-28 22:33:00.000000"),
        ),
    ):
        rows = read_new_rows(db.url, **source, watermark="updated_at", after=after).rows
        assert count_new_rows(db.url, **source, watermark="updated_at", after=after) == len(rows) > 0
        assert count_null_watermark(db.url, **source, watermark="updated_at") == 2
        assert not rows["id"].isin(["21", "22"]).any()


def test_the_fingerprint_is_stable_and_follows_the_content(db):
    table = add(db, *(ticket(i, i) for i in range(1, 8)))
    first, second = read(db), read(db, batch_rows=2)  # in batches of two: the same rows, the same text
    assert first.rows.equals(second.rows)
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64 and int(first.fingerprint, 16) >= 0
    with db.engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == 3).values(body=""))
    emptied = read(db)
    with db.engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == 3).values(body=None))
    nulled = read(db)
    assert len({first.fingerprint, emptied.fingerprint, nulled.fingerprint}) == 3  # "" and NULL differ


def assert_reported(raised: pytest.ExceptionInfo, *parts: str) -> str:
    """One line, naming every part, no password, no traceback of the driver's exception attached."""
    message = str(raised.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, (part, message)
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return message


def hidden(db: Database) -> str:
    return sa.make_url(db.url).render_as_string(hide_password=True)


def test_a_missing_table_names_it_and_the_fix(db):
    add(db, ticket(1, 0))
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows(db.url, table=db.name("nope"), watermark="updated_at")
    assert_reported(raised, f"table '{db.name('nope')}'", hidden(db), "does not exist", "check its name")


def test_a_missing_watermark_column_names_it_and_the_columns(db):
    add(db, ticket(1, 0))
    with pytest.raises(SqlSourceError) as raised:
        count_new_rows(db.url, table=db.name("tickets"), watermark="changed_at")
    assert_reported(raised, "'changed_at' does not exist", "columns: id, body, status", hidden(db))
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows(db.url, query=f"SELECT id, body FROM {db.name('tickets')}", watermark="updated_at")
    assert_reported(raised, "query 'SELECT id, body FROM", "'updated_at' does not exist", "columns: id, body")


def test_a_failing_query_names_its_start_and_the_databases_reason(db):
    add(db, ticket(1, 0))
    query = f"SELECT id, updated_at FORM {db.name('tickets')} WHERE status = 'a rather long condition' AND 1 = 1"
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows(db.url, query=query, watermark="updated_at")
    assert_reported(raised, f"query {query[:60] + '...'!r}", hidden(db), "syntax error", "fix the query")


def test_a_stored_watermark_of_another_kind_is_reported_without_its_value(db):
    add(db, ticket(1, 0))
    with pytest.raises(SqlSourceError) as raised:
        read(db, after=Watermark("int", "987654"))
    message = assert_reported(raised, hidden(db), "watermark column 'updated_at'", "the stored watermark's kind")
    assert "987654" not in message


def test_a_value_that_cannot_be_converted_is_not_quoted(db):
    if db.kind == "postgresql":
        add(db, ticket(1, 0, body="secret-body-text"))
        source = {"query": f"SELECT id, CAST(body AS integer) AS n, updated_at FROM {db.name('tickets')}"}
    else:
        db.run("CREATE TABLE events (id INTEGER, at DATETIME)", "INSERT INTO events VALUES (1, 'secret-body-text')")
        source = {"table": "events"}
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows(db.url, **source, watermark="updated_at" if "query" in source else "at")
    message = assert_reported(raised, hidden(db))
    assert "secret-body-text" not in message
    assert "InvalidTextRepresentation" in message if db.kind == "postgresql" else "declared type" in message


def test_an_unreachable_server_is_reported_without_the_password(tmp_path):
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test"
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows(url, table="tickets", watermark="updated_at")
    message = assert_reported(raised, "postgres:***@127.0.0.1:1/test", "cannot connect", "Connection refused")
    assert "hunter2" not in message and "check that the server is running" in message
    missing = tmp_path / "missing.db"
    with pytest.raises(SqlSourceError) as raised:
        count_new_rows(f"sqlite:///{missing}", table="tickets", watermark="updated_at")
    assert_reported(raised, f"the database file {missing} does not exist")
    assert not missing.exists()  # not created empty by the attempt
    with pytest.raises(SqlSourceError) as raised:
        read_new_rows("postgresql+nodriver://u:hunter2@h/db", table="tickets", watermark="updated_at")
    assert "hunter2" not in assert_reported(raised, "no installed driver", "postgresql+psycopg://")


def test_a_relative_sqlite_path_is_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = sa.create_engine("sqlite:///data/source.db", poolclass=NullPool)
    (tmp_path / "data").mkdir()
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1), (NULL), (2)")
    engine.dispose()
    batch = read_new_rows("sqlite:///data/source.db", table="t", watermark="n")
    assert batch.rows["n"].tolist() == ["1", "2"] and batch.watermark == Watermark("int", "2")
    assert count_null_watermark("sqlite:///data/source.db", table="t", watermark="n") == 1


def test_a_watermark_is_json_and_refuses_what_is_not_one():
    for mark in (
        Watermark("datetime", "2026-11-28T22:30:00+00:00"),
        Watermark("date", "2026-11-28"),
        Watermark("int", str(BIG)),
        Watermark("decimal", "12.50"),
        Watermark("text", "T-0001"),
    ):
        assert Watermark.from_json(json.loads(json.dumps(mark.to_json()))) == mark
    assert Watermark("datetime", "2026-11-28T22:30:00+00:00").parsed() == datetime(2026, 11, 28, 22, 30, tzinfo=UTC)
    assert Watermark.of(datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=1)))).value == (
        "2026-11-28T23:30:00+01:00"
    )
    assert Watermark.of(0.1) == Watermark("decimal", "0.1")
    for kind, value in (("float", "1"), ("int", "1.5"), ("datetime", "yesterday"), ("decimal", "NaN")):
        with pytest.raises(ValueError):
            Watermark(kind, value)
    with pytest.raises(ValueError, match="stored watermark"):
        Watermark.from_json({"kind": "int"})
    with pytest.raises(ValueError, match="exactly one of table or query"):
        read_new_rows("sqlite:///x.db", table="t", query="SELECT 1", watermark="n")


@given(
    st.lists(
        st.one_of(st.none(), st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
def test_datetimes_are_written_as_python_writes_them(values, zone):
    values = [value if value is None or zone is None else value.replace(tzinfo=zone) for value in values]
    expected = [None if value is None else value.isoformat() for value in values]
    assert _text(["at"], [(value,) for value in values]).column("at").to_pylist() == expected
