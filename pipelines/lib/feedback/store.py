"""The feedback store: one dataset's events table (the seed's `triage_feedback`) and its table of
model versions, in PostgreSQL or in a SQLite file (the embedded default), through SQLAlchemy Core.

Timestamps are kept in UTC so that both databases behave the same: PostgreSQL's are timestamptz;
SQLite, which has no time zones, holds text 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (the format
SQLAlchemy writes for SQLite datetimes), fixed width so that text order is time order. An
application that writes to a SQLite store itself writes that format.

Errors name the store by its table and URL (without password) and an event by its event_id only:
an event's other values never reach a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from pipelines.lib.feedback import migrations
from pipelines.lib.feedback.declaration import DEFAULT_TABLE
from pipelines.lib.feedback.events import EVENT_COLUMNS, FeedbackEvent
from pipelines.lib.sql_connection import driver_reason, utc_connection

if TYPE_CHECKING:
    from pipelines.lib.spec import DatasetSpec

#: column -> pandas dtype of the events a read returns: the seed's columns
COLUMNS = {name: dtype for name, dtype in EVENT_COLUMNS.items() if name != "day"}
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
#: events per INSERT: 4,000 parameters, well under SQLite's and PostgreSQL's limits
CHUNK = 500


class FeedbackStoreError(RuntimeError):
    """The feedback store cannot be used: says what, where (table and URL without its password)
    and what to do."""


@dataclass(frozen=True)
class Logged:
    """What a log did: events inserted, and events already there with the same content."""

    inserted: int
    duplicates: int


class UtcTimestamp(sa.types.TypeDecorator[datetime]):
    """A time zone-aware datetime kept in UTC: timestamptz in PostgreSQL, fixed-width text in SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.String() if dialect.name == "sqlite" else sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a timestamp without a time zone cannot be placed in time")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds") if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)


def _utc(value: datetime | str) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite's text without offset is UTC)."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.utcoffset() is None else parsed.astimezone(UTC)


def _tables(name: str) -> tuple[sa.Table, sa.Table]:
    """The events table and the models table as the migrations create them."""
    metadata = sa.MetaData()
    events = sa.Table(
        name,
        metadata,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("ticket_id", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("predicted_category", sa.Text, nullable=False),
        sa.Column("final_category", sa.Text),
        sa.Column("user_action", sa.Text, nullable=False),
        sa.Column("consent_flag", sa.Boolean, nullable=False),
        sa.Column("ts", UtcTimestamp(), nullable=False),
    )
    models = sa.Table(
        migrations.models_table(name),
        metadata,
        sa.Column("model_version", sa.Text, primary_key=True),
        sa.Column("dataset", sa.Text),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("registered_at", UtcTimestamp()),
        sa.Column("registered_by", sa.Text),
    )
    return events, models


class FeedbackStore:
    """The events table `table` at `url` (a SQLAlchemy URL: postgresql://... or sqlite:///...)
    and its table of model versions. `dataset` names the dataset in what to do after an error."""

    def __init__(self, url: str, table: str = DEFAULT_TABLE, dataset: str | None = None) -> None:
        if not TABLE_NAME.match(table):
            raise ValueError(f"feedback table {table!r}: use lowercase letters, digits and _")
        try:
            self.url = sa.make_url(url)
            if self.url.drivername.split("+")[0] == "postgres":  # Heroku's and libpq's spelling
                self.url = self.url.set(drivername=self.url.drivername.replace("postgres", "postgresql", 1))
            if self.url.get_backend_name() not in ("postgresql", "sqlite"):
                raise FeedbackStoreError(
                    f"the feedback store {self.url.render_as_string(hide_password=True)} is a "
                    f"{self.url.get_backend_name()} database; trainset logs events in PostgreSQL "
                    "(postgresql://user@host:5432/database) or SQLite (sqlite:///path/to/events.db)"
                )
        except sa.exc.ArgumentError:
            raise FeedbackStoreError(
                "the feedback store's URL is not a database URL; write it as postgresql://user@host:5432/database "
                "or sqlite:///path/to/events.db"
            ) from None
        self.table = table
        self.dataset = dataset
        self._events, self._models = _tables(table)

    @classmethod
    def for_dataset(cls, spec: DatasetSpec, root: Path) -> FeedbackStore:
        """The store `spec`'s `feedback:` block names, a relative SQLite path resolved under `root`."""
        if spec.feedback is None:
            raise FeedbackStoreError(
                f"dataset {spec.name!r} declares no feedback: add a `feedback:` block (with its `start` day) to "
                f"pipelines/defs/{spec.name}/defs.yaml"
            )
        store = spec.feedback.store
        return cls(store.resolved_url(root, spec.name), store.table, spec.name)

    @property
    def location(self) -> str:
        """The store's URL without its password."""
        return self.url.render_as_string(hide_password=True)

    def migrate(self) -> list[str]:
        """Create the tables, or bring them to the newest revision; returns the revisions applied,
        oldest first, none when already there. A SQLite file's folder is created when missing."""
        file = self._sqlite_file()
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        with self._connection(ready=False) as connection:
            if connection.dialect.name == "postgresql":  # two at once: the second waits, then has nothing to do
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(self.table))))
            return migrations.upgrade(connection, self.table)

    def current_revision(self) -> str | None:
        """The revision the tables are at; None when they were never created."""
        file = self._sqlite_file()
        if file is not None and not file.exists():
            return None
        with self._connection(ready=False) as connection:
            return migrations.current(connection, self.table)

    def log(self, events: Iterable[FeedbackEvent]) -> Logged:
        """Insert `events`, all or none. An event_id already stored (or given twice) with the same
        content is a duplicate and changes nothing; with other content it is FeedbackStoreError,
        and nothing is inserted."""
        unique: dict[str, FeedbackEvent] = {}
        duplicates = 0
        for event in events:
            first = unique.setdefault(event.event_id, event)
            if first is not event:
                if first._content() != event._content():
                    raise self._conflict(event.event_id, "is given twice with different content")
                duplicates += 1
        inserted = 0
        pending = list(unique.values())
        with self._connection() as connection:
            for start in range(0, len(pending), CHUNK):
                chunk = pending[start : start + CHUNK]
                rows = [event.model_dump() for event in chunk]
                statement = self._insert(self._events, rows).returning(self._events.c.event_id)
                new = set(connection.execute(statement).scalars())
                inserted += len(new)
                duplicates += self._same_as_stored(connection, [e for e in chunk if e.event_id not in new])
        return Logged(inserted, duplicates)

    def register_model(self, model_version: str, dataset: str, dataset_version: int, who: str) -> bool:
        """Record that `model_version` was trained on `dataset` version `dataset_version`. True when
        recorded now, False when it was already; a model version registered before with another
        dataset version is FeedbackStoreError (a version is trained once)."""
        row = {
            "model_version": model_version,
            "dataset": dataset,
            "dataset_version": dataset_version,
            "registered_at": datetime.now(UTC),
            "registered_by": who,
        }
        with self._connection() as connection:
            statement = self._insert(self._models, [row]).returning(self._models.c.model_version)
            if connection.execute(statement).first() is not None:
                return True
            key = self._models.c.model_version == model_version
            stored = connection.execute(sa.select(self._models.c.dataset, self._models.c.dataset_version).where(key))
            before = stored.one()
        if (before.dataset, before.dataset_version) != (dataset, dataset_version):
            raise self._error(
                f"model version {model_version!r} is registered already, as trained on "
                f"{before.dataset}@v{before.dataset_version}",
                "a model version is trained on one dataset version: register the retrained model as a new version",
            )
        return False

    def models(self) -> dict[str, int]:
        """Model version -> the dataset version it was trained on."""
        query = sa.select(self._models.c.model_version, self._models.c.dataset_version)
        with self._connection() as connection:
            rows = connection.execute(query.where(self._models.c.dataset_version.is_not(None))).all()
        return {row.model_version: int(row.dataset_version) for row in rows}

    def read_after(self, watermark: tuple[datetime, str] | None, limit: int | None = None) -> pd.DataFrame:
        """Events after `watermark` (ts, event_id) in (ts, event_id) order, that order's first
        `limit` ones; all events when `watermark` is None. An event at the watermark's ts with a
        greater event_id is after it; the watermark's own event is not."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = self._select()
        if watermark is not None:
            ts, event_id = watermark
            mark = sa.tuple_(
                sa.literal(_aware(ts, "the watermark's ts"), UtcTimestamp()), sa.literal(event_id, sa.Text)
            )
            query = query.where(sa.tuple_(self._events.c.ts, self._events.c.event_id) > mark)
        return self._read(query.limit(limit))

    def read_day(self, day: date) -> pd.DataFrame:
        """Events whose ts falls on `day` in UTC ([00:00, next day's 00:00)), in (ts, event_id) order."""
        start = datetime.combine(day, time(), UTC)
        ts = self._events.c.ts
        return self._read(self._select().where(ts >= start, ts < start + timedelta(days=1)))

    def day_counts(self, since: date) -> dict[str, int]:
        """Events per UTC day ('YYYY-MM-DD' -> count), for the days from `since` on that have any."""
        ts = self._events.c.ts
        if self.url.get_backend_name() == "postgresql":
            day: Any = sa.func.to_char(sa.func.timezone("UTC", ts), "YYYY-MM-DD")
        else:
            day = sa.func.substr(sa.type_coerce(ts, sa.String), 1, 10)
        query = (
            sa.select(day.label("day"), sa.func.count().label("events"))
            .where(ts >= datetime.combine(since, time(), UTC))
            .group_by(day)
            .order_by(day)
        )
        with self._connection() as connection:
            return {row.day: int(row.events) for row in connection.execute(query)}

    def delete_tickets(self, ticket_ids: Iterable[str]) -> int:
        """Delete every event about these tickets (an erasure request: the events of an erased
        user's tickets); returns the events deleted."""
        wanted = sorted(set(ticket_ids))
        if not wanted:
            return 0
        deleted = 0
        with self._connection() as connection:
            for start in range(0, len(wanted), 1000):  # bound the statement's parameters
                chunk = wanted[start : start + 1000]
                deleted += connection.execute(
                    sa.delete(self._events).where(self._events.c.ticket_id.in_(chunk))
                ).rowcount
        return deleted

    # -- inside ---------------------------------------------------------------------------------

    def _select(self) -> sa.Select:
        """The seed's columns in (ts, event_id) order, ts as the driver reads it (a frame converts
        it for all rows at once)."""
        raw = sa.String() if self.url.get_backend_name() == "sqlite" else sa.DateTime(timezone=True)
        columns = [self._events.c[name] for name in COLUMNS if name != "ts"]
        ts = sa.type_coerce(self._events.c.ts, raw).label("ts")
        return sa.select(*columns, ts).order_by(self._events.c.ts, self._events.c.event_id)

    def _read(self, query: sa.Select) -> pd.DataFrame:
        with self._connection() as connection:
            result = connection.execute(query)
            names, rows = list(result.keys()), result.all()
        return _frame(names, rows)

    def _insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING of `rows`, in the store's dialect."""
        dialect = postgresql if self.url.get_backend_name() == "postgresql" else sqlite
        key = [column.name for column in table.primary_key]
        return dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=key)

    def _same_as_stored(self, connection: Connection, events: list[FeedbackEvent]) -> int:
        """How many of `events`, whose event_id is stored already, have the stored content;
        FeedbackStoreError naming the first that does not."""
        if not events:
            return 0
        table = self._events
        content = [table.c[name] for name in COLUMNS if name != "event_id"]
        query = sa.select(table.c.event_id, *content).where(table.c.event_id.in_([e.event_id for e in events]))
        stored = {row[0]: (*row[1:6], bool(row[6]), row[7]) for row in connection.execute(query)}
        for event in events:
            if stored.get(event.event_id) != event._content():
                raise self._conflict(event.event_id, "is stored already with other content")
        return len(events)

    def _sqlite_file(self) -> Path | None:
        file = self.url.database if self.url.get_backend_name() == "sqlite" else None
        if not file or file == ":memory:" or file.startswith("file:"):
            return None
        return Path(file)

    @contextmanager
    def _connection(self, *, ready: bool = True) -> Iterator[Connection]:
        """A transaction on a connection of its own (no pool), committed when the block ends, every
        database error as FeedbackStoreError. `ready`: the tables must be at the newest revision."""
        file = self._sqlite_file()
        if ready and file is not None and not file.exists():
            raise self._missing()  # sqlite3 would create an empty database there
        todo = "use postgresql:// or sqlite:///"
        with utc_connection(self.url, self._error, todo) as connection:
            try:
                with connection.begin():
                    if ready:
                        self._check_revision(connection)
                    yield connection
            except sa.exc.DBAPIError as error:
                raise self._error(
                    f"the database refused the statement ({driver_reason(error)})",
                    f"check the URL and the table, or run `trainset feedback init-db {self._name}`",
                ) from None

    def _check_revision(self, connection: Connection) -> None:
        at = migrations.current(connection, self.table)
        if at == migrations.head():
            return
        if at is None:
            raise self._missing()
        if at in migrations.revisions():
            raise self._error(
                f"the tables are at revision {at}, and this trainset needs {migrations.head()}",
                f"run `trainset feedback init-db {self._name}` to upgrade them",
            )
        raise self._error(
            f"the tables are at revision {at}, newer than this trainset knows ({migrations.head()})",
            "upgrade trainset",
        )

    @property
    def _name(self) -> str:
        return self.dataset or "DATASET"

    def _error(self, what: str, todo: str) -> FeedbackStoreError:
        return FeedbackStoreError(f"feedback table {self.table!r} at {self.location}: {what}; {todo}")

    def _missing(self) -> FeedbackStoreError:
        return self._error("the table does not exist", f"run `trainset feedback init-db {self._name}` to create it")

    def _conflict(self, event_id: str, what: str) -> FeedbackStoreError:
        return self._error(
            f"event {event_id!r} {what}",
            "an event is never changed once logged: log a correction under a new event_id; nothing was logged",
        )


def _aware(value: datetime, what: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{what} has no time zone: give an aware datetime (UTC)")
    return value


def _frame(names: list[str], rows: Sequence[sa.Row]) -> pd.DataFrame:
    """Rows as the seed's columns with their dtypes, converted a column at a time."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    raw = {name: pd.Series(column, dtype=object) for name, column in zip(names, values, strict=True)}
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name, dtype in COLUMNS.items():
        if name == "ts":
            frame[name] = pd.to_datetime(raw[name], utc=True, format="ISO8601").astype(dtype)
        else:
            frame[name] = raw[name].astype(dtype)
    return frame
