"""Reading a database table or query incrementally by a watermark column, every value as text.

A read returns the rows whose watermark column is strictly greater than the previous read's
highest value (all rows on the first read), ordered by it, and the new highest value to keep for
the next read. Rows whose watermark is NULL are never read (they are after nothing);
`count_null_watermark` says how many there are so the caller can report them. A row written later
with a watermark at or below one already read (a late transaction, a clock set back) is not read
either: the watermark column must grow with every write.

Values are the text they hold, as `record_set.text_frame` renders a file's: ints as digits, bools
"true"/"false", dates YYYY-MM-DD, datetimes ISO-8601 (PostgreSQL sessions run in UTC, so
timestamptz values read as "...+00:00"), decimals as the driver returns them ("12.50"). In SQLite
only a table's declared types convert: a query's DATETIME, BOOLEAN or NUMERIC values are read as
stored (text, 0/1, numbers).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.lib.ingest.record_set import text_frame
from pipelines.lib.sql_connection import driver_reason, utc_connection

__all__ = ["SqlBatch", "SqlSourceError", "Watermark", "count_new_rows", "count_null_watermark", "read_new_rows"]

# Watermark kind -> how its text is read back, and the type it is bound with in a query source,
# whose columns have no declared type (None: DateTime, with a time zone when the value has one).
KINDS: dict[str, tuple[Callable[[str], Any], type[sa.types.TypeEngine] | None]] = {
    "datetime": (datetime.fromisoformat, None),
    "date": (date.fromisoformat, sa.Date),
    "int": (int, sa.BigInteger),
    "decimal": (Decimal, sa.Numeric),
    "text": (str, sa.String),
}
# Arrow types whose text cast is the text written (times but for a zero fraction); others go
# through `_value_text`.
ARROW_TEXT = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string, pa.types.is_date)


class SqlSourceError(RuntimeError):
    """A database source cannot be read: says what, where (the URL without its password), what to do."""


@dataclass(frozen=True)
class Watermark:
    """The highest watermark value read so far, JSON-serialisable: kind is 'datetime', 'date', 'int',
    'decimal' or 'text'; value its text form (ISO-8601 for datetimes, with offset when the column
    is tz-aware)."""

    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"watermark kind {self.kind!r} is not one of {', '.join(KINDS)}")
        try:
            parsed = self.parsed()
        except (ValueError, ArithmeticError):
            raise ValueError(f"a watermark's value cannot be read as its kind {self.kind!r}") from None
        if isinstance(parsed, Decimal) and not parsed.is_finite():
            raise ValueError("a watermark of kind 'decimal' must be a finite number")

    def to_json(self) -> dict:
        """{"kind": ..., "value": ...}, to store between reads."""
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: dict) -> Watermark:
        """The watermark `to_json` stored; ValueError when `data` is not one."""
        if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in ("kind", "value")):
            raise ValueError('a stored watermark is {"kind": "...", "value": "..."} with text values')
        return cls(data["kind"], data["value"])

    @classmethod
    def of(cls, value: object) -> Watermark:
        """The watermark of a value the driver returned; TypeError for a type that cannot be one."""
        if isinstance(value, bool):  # an int to Python, but two values cannot mark increments
            raise TypeError("bool")
        if isinstance(value, datetime | date):
            return cls("datetime" if isinstance(value, datetime) else "date", value.isoformat())
        if isinstance(value, int):
            return cls("int", str(value))
        if isinstance(value, Decimal | float):  # a float's repr reads back as the same float
            return cls("decimal", str(value) if isinstance(value, Decimal) else repr(value))
        if isinstance(value, str):
            return cls("text", value)
        raise TypeError(type(value).__name__)

    def parsed(self) -> Any:
        """The value as the Python type the driver binds: datetime, date, int, Decimal or str."""
        return KINDS[self.kind][0](self.value)


@dataclass(frozen=True)
class SqlBatch:
    """Rows read, as text in the source's column order, the highest watermark among them (None when
    there are none: keep the previous one) and the sha256 of their content."""

    rows: pd.DataFrame
    watermark: Watermark | None
    fingerprint: str


@dataclass(frozen=True)
class Source:
    """One table or query of one database, and its watermark column."""

    url: sa.URL
    table: str | None
    query: str | None
    watermark: str

    def error(self, what: str, todo: str) -> SqlSourceError:
        """One line: what is wrong, with which table or query at which URL, and what to do."""
        if self.table is not None:
            where = f"table {self.table!r}"
        else:
            text = " ".join((self.query or "").split())
            where = f"query {text[:60] + ('...' if len(text) > 60 else '')!r}"
        url = self.url.render_as_string(hide_password=True)
        return SqlSourceError(" ".join(f"cannot read {where} at {url}: {what}; {todo}".split()))


def read_new_rows(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    watermark: str,
    after: Watermark | None = None,
    batch_rows: int = 100_000,
) -> SqlBatch:
    """Rows whose watermark column is strictly greater than `after` (all rows when None), ordered by
    the watermark (then the table's primary key). Exactly one of table (optionally schema-qualified
    "schema.table") or query (a SELECT; wrapped as a subquery) is given. Rows are fetched
    `batch_rows` at a time (a server-side cursor in PostgreSQL) and made text one batch at a time."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
    source = _source(url, table, query, watermark)
    batches: list[pa.Table] = []
    last = None
    with _connected(source) as connection:
        columns, mark, order = _columns(connection, source)
        statement = sa.select(*columns).where(_newer(connection, mark, after)).order_by(mark, *order)
        result = connection.execution_options(yield_per=batch_rows).execute(statement)
        names = list(result.keys())
        for rows in _batches(result, source):
            batches.append(_text(names, rows))
            last = rows[-1][names.index(watermark)]
    text = pa.concat_tables(batches) if batches else _text(names, [])
    try:
        mark_value = None if last is None else Watermark.of(last)
    except TypeError as error:
        raise source.error(f"the watermark column {watermark!r} holds {error} values", _MARK_TODO) from None
    return SqlBatch(text_frame(text), mark_value, _fingerprint(text))


def count_new_rows(
    url: str, *, table: str | None = None, query: str | None = None, watermark: str, after: Watermark | None = None
) -> int:
    """How many rows read_new_rows would return (a cheap COUNT(*) for a Dagster sensor)."""
    source = _source(url, table, query, watermark)
    with _connected(source) as connection:
        _, mark, _ = _columns(connection, source)
        return _count(connection, mark, _newer(connection, mark, after))


def count_null_watermark(url: str, *, table: str | None = None, query: str | None = None, watermark: str) -> int:
    """How many rows read_new_rows never reads because their watermark is NULL."""
    source = _source(url, table, query, watermark)
    with _connected(source) as connection:
        _, mark, _ = _columns(connection, source)
        return _count(connection, mark, mark.is_(None))


def _fingerprint(table: pa.Table) -> str:
    """sha256 hex of a text table's content: the row count, then per column in order its name, the
    hash of every value's UTF-8 byte length in row order (-1 for NA) and the hash of the values'
    bytes. Vectorised, one Arrow chunk at a time (so the same rows in other batches give the same
    hex), and unambiguous: NA and "" differ, as do values split differently across rows."""
    digest = hashlib.sha256(table.num_rows.to_bytes(8, "little"))
    for name, column in zip(table.column_names, table.columns, strict=True):
        lengths, data = hashlib.sha256(), hashlib.sha256()
        for chunk in (chunk for chunk in column.chunks if len(chunk)):
            filled = chunk.fill_null("")
            offsets = np.frombuffer(
                filled.buffers()[1], dtype="<i8" if pa.types.is_large_string(chunk.type) else "<i4"
            )[filled.offset : filled.offset + len(filled) + 1]
            sizes = np.diff(offsets).astype("<i8")
            sizes[chunk.is_null().to_numpy(zero_copy_only=False)] = -1
            lengths.update(sizes.tobytes())
            if filled.buffers()[2] is not None:
                data.update(memoryview(filled.buffers()[2])[offsets[0] : offsets[-1]])
        label = name.encode()
        digest.update(len(label).to_bytes(8, "little") + label + lengths.digest() + data.digest())
    return digest.hexdigest()


_TYPES_TODO = "check the values stored in the column against its declared type"
_MARK_TODO = "use a timestamp, date, integer, numeric or text column that grows with every write"


def _source(url: str, table: str | None, query: str | None, watermark: str) -> Source:
    if (table is None) == (query is None):
        raise ValueError("a database source names exactly one of table or query")
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        where = f"table {table!r}" if table is not None else "query"
        raise SqlSourceError(
            f"cannot read {where}: its URL is not a database URL; write it as "
            "postgresql+psycopg://user@host:5432/database or sqlite:///path/to/file.db"
        ) from None
    if query is not None:
        query = query.strip().rstrip(";").strip()
    return Source(parsed, table, query, watermark)


@contextmanager
def _connected(source: Source) -> Iterator[Connection]:
    """A connection of its own (no pool, disposed after), every database error as SqlSourceError."""
    url = source.url
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not file.startswith("file:") and not Path(file).exists():
        # sqlite3 would create an empty database there and report the table missing
        raise source.error(f"the database file {Path(file).absolute()} does not exist", "check the path in the URL")
    with utc_connection(url, source.error, _DRIVER_TODO) as connection:
        try:
            yield connection
        except sa.exc.NoSuchTableError:
            raise source.error("the table does not exist", _TABLE_TODO) from None
        except sa.exc.DBAPIError as error:
            what = f"the database refused the read ({driver_reason(error)})"
            raise source.error(what, _query_todo(source)) from None
        except sa.exc.StatementError as error:  # its message quotes the parameter: a row's value
            what = f"the stored watermark cannot be bound as the column's type ({type(error.orig).__name__})"
            raise source.error(what, _query_todo(source)) from None


_DRIVER_TODO = "use postgresql+psycopg:// for PostgreSQL or sqlite:/// for SQLite"
_TABLE_TODO = 'check its name (another schema\'s as "schema.table") and that the URL names the right database'


def _query_todo(source: Source) -> str:
    if source.table is not None:
        return f"check the table, the watermark column {source.watermark!r} and the stored watermark's kind"
    return "fix the query: it runs as SELECT * FROM (<query>) AS src WHERE <watermark> > :after"


def _columns(connection: Connection, source: Source) -> tuple[list, Any, list]:
    """The columns to select (in the source's order), the watermark column and the tie-breakers."""
    if source.table is not None:
        schema, _, name = source.table.rpartition(".")
        inspector = sa.inspect(connection)  # columns and key only: a whole Table's reflection is 3x slower
        described = inspector.get_columns(name, schema=schema or None)
        key = inspector.get_pk_constraint(name, schema=schema or None)["constrained_columns"]
        table: Any = sa.table(name, *(sa.column(c["name"], c["type"]) for c in described), schema=schema or None)
        columns, order = list(table.columns), [table.c[column] for column in key]
    else:
        body = sa.text(str(source.query).replace(":", r"\:"))  # the query has no bind parameters
        probe: sa.Select = sa.select(sa.literal_column("*")).select_from(body.columns().subquery("src")).limit(0)
        names = list(connection.execute(probe).keys())
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise source.error(f"the query returns column {twice[0]!r} more than once", "alias one of them")
        table = body.columns(*(sa.column(name) for name in names)).subquery("src")
        columns, order = list(table.columns), []
    if source.watermark not in table.c:
        present = ", ".join(column.name for column in columns[:20])
        raise source.error(
            f"the watermark column {source.watermark!r} does not exist (columns: {present})",
            "name one of its columns as the watermark",
        )
    if connection.dialect.name == "sqlite":  # NUMERIC as stored, not a float made Decimal('1.5000000000')
        columns = [_as_stored(c) if type(c.type) in (sa.Numeric, sa.NUMERIC, sa.DECIMAL) else c for c in columns]
    mark = table.c[source.watermark]
    return columns, mark, [column for column in order if column.name != source.watermark]


def _as_stored(column: Any) -> Any:
    return sa.type_coerce(column, sa.types.NullType()).label(column.name)


def _newer(connection: Connection, mark: Any, after: Watermark | None) -> Any:
    """`mark > after`, `after` bound as the column's type (a query's: the watermark's kind)."""
    if after is None:
        return mark.is_not(None)
    value = after.parsed()
    if isinstance(value, datetime) and connection.dialect.name == "sqlite":
        return sa.type_coerce(mark, sa.String) > sa.literal(_sqlite_text(connection, mark, value), sa.String)
    declared = None if isinstance(mark.type, sa.types.NullType) else mark.type
    kind_type = KINDS[after.kind][1] or sa.DateTime(timezone=value.tzinfo is not None)
    return mark > sa.literal(value, declared or kind_type)


def _sqlite_text(connection: Connection, mark: Any, value: datetime) -> str:
    """`value` as SQLite stores the column's datetimes, which compare as text: SQLAlchemy writes
    '2026-11-28 22:30:00.000000', other writers '2026-11-28T22:30:00', some with an offset. Six
    fraction digits sort after any shorter form of the same instant, so a row already read is never
    read again. One column, one format: text in several offsets does not sort as time."""
    stored = sa.select(sa.type_coerce(mark, sa.String)).where(mark.is_not(None)).limit(1)
    sample = str(connection.execute(stored).scalar() or "")
    try:
        zone = datetime.fromisoformat(sample.removesuffix("Z") + ("+00:00" if sample.endswith("Z") else "")).tzinfo
    except ValueError:
        zone = None
    if zone is not None and value.tzinfo is not None:
        value = value.astimezone(zone)
    text = value.isoformat("T" if sample[10:11] == "T" else " ", "microseconds")
    if sample.endswith("Z") and value.utcoffset() == timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    return text


def _batches(result: sa.CursorResult, source: Source) -> Iterator[Sequence]:
    """The result's batches; a value the driver or SQLAlchemy cannot convert is an error that does
    not quote it (their messages do)."""
    batches = result.partitions()
    while True:
        try:
            rows = next(batches, None)
        except (ValueError, TypeError, OverflowError):
            raise source.error("a value cannot be read as its column's declared type", _TYPES_TODO) from None
        if rows is None:
            return
        yield rows


def _count(connection: Connection, mark: Any, condition: Any) -> int:
    statement = sa.select(sa.func.count()).select_from(mark.table).where(condition)
    return int(connection.execute(statement).scalar_one())


def _text(names: list[str], rows: Sequence[Sequence]) -> pa.Table:
    """A batch of rows as Arrow text columns, which `text_frame` makes one frame of; Arrow casts
    the types whose text it writes as the database does, vectorised."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table([pc.cast(_text_array(column), pa.string()) for column in values], names=names)


def _text_array(values: Sequence) -> pa.Array:
    first = next((value for value in values if value is not None), None)
    if isinstance(first, Decimal):  # Arrow would pad every value to the column's widest scale
        return pa.array(pd.Series(values, dtype=object).astype("str"), type=pa.string(), from_pandas=True)
    try:
        array = pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError):  # mixed types (SQLite), too-large numbers
        return _python_text(values)
    if pa.types.is_null(array.type):
        return pa.array(values, type=pa.string())
    if pa.types.is_timestamp(array.type):
        if array.type.tz not in (None, "UTC", "Etc/UTC", "Z", "+00:00"):
            # Any other zone (SQLite values, a session not in UTC): Arrow's conversion of a fixed
            # offset is not the same on every build; Python's isoformat is the reference.
            return _python_text(values)
        return _iso_text(array)
    if pa.types.is_time(array.type):
        return pc.replace_substring_regex(pc.cast(array, pa.string()), pattern=r"\.0+$", replacement="")
    if any(is_type(array.type) for is_type in ARROW_TEXT):
        return array
    return _python_text(values)  # uuids, JSON, bytes, intervals


def _iso_text(array: pa.Array) -> pa.Array:
    """Timestamps as Python's isoformat writes them: '2026-11-28T22:30:00+00:00', the fraction only
    when not zero. Arrow casts wall-clock time to text fast, a time zone's slowly."""
    zone = array.type.tz
    offset = "+00:00" if zone in ("UTC", "Etc/UTC", "Z") else zone
    if offset and not re.fullmatch(r"[+-]\d\d:\d\d", offset):  # a named zone: offsets differ by date
        text = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S%z")
        text = pc.replace_substring_regex(text, pattern=r"\.0+([+-])", replacement=r"\1")
        return pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
    if offset:
        array = pc.local_timestamp(array.cast(pa.timestamp(array.type.unit, offset)))
    text = pc.replace_substring(pc.cast(array, pa.string()), pattern=" ", replacement="T", max_replacements=1)
    text = pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")
    return pc.binary_join_element_wise(text, offset, "") if offset else text


def _python_text(values: Sequence) -> pa.Array:
    series = pd.Series(values, dtype=object).map(_value_text, na_action="ignore")
    return pa.array(series, type=pa.string(), from_pandas=True)


def _value_text(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()  # as PostgreSQL writes bytea
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
