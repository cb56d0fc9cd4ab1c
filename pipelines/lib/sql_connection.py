"""A database connection as trainset's readers and writers open one: SQLAlchemy Core, no pool,
sessions in UTC, and every driver error put in words that never quote a row's value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

# SQLSTATE classes whose message names only identifiers from the statement, never a value from a row.
NAMING_CLASSES = ("08", "28", "3D", "3F", "42")
CONNECT_TODO = "check that the server is running and the URL's host, port, user, password and database"


@contextmanager
def utc_connection(url: sa.URL, fail: Callable[[str, str], Exception], driver_todo: str) -> Iterator[Connection]:
    """A connection of its own (no pool, disposed after) whose PostgreSQL session reads timestamptz
    in UTC wherever the server is; no transaction is open when it is handed over. Raises
    `fail(what, what to do)` when no driver loads or the server cannot be reached."""
    if url.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": "10"})  # an unreachable host fails, not hangs
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise fail(f"no installed driver for {url.drivername!r} ({error})", driver_todo) from None
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as error:
            raise fail(f"cannot connect ({driver_reason(error)})", CONNECT_TODO) from None
        with connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TIME ZONE 'UTC'")
                connection.commit()  # the setting stays with the session
            yield connection
    finally:
        engine.dispose()


def driver_reason(error: sa.exc.DBAPIError) -> str:
    """The driver's reason, unless it could quote a value from a row: PostgreSQL's data errors
    ('invalid input syntax for type integer: "..."') are named by their condition only."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate and not sqlstate.startswith(NAMING_CLASSES):
        return f"{type(original).__name__}, SQLSTATE {sqlstate}; its message is left out as it may quote a value"
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    lines = (primary or str(original)).strip().splitlines()
    return lines[0] if lines else type(original).__name__
