"""Landing a SQL source: the rows of a table or query past the highest watermark read so far, as
one export of the landing ledger (`landing.land_exports`), so they are placed in days, deduplicated
and accounted for exactly as export files are.

The watermark is kept in the ledger and moves only when the rows read up to it have landed: a run
killed before that reads the same rows again, and the same rows are the same export (by content),
so nothing lands twice.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import numpy as np

from pipelines.lib.ingest.landing import Export, Landing, SourceError, land_exports, read_ledger
from pipelines.lib.ingest.record_set import Records, no_malformed, without_blank
from pipelines.lib.ingest.sql_source import SqlSourceError, Watermark, read_new_rows
from pipelines.lib.spec import DERIVED_ID, DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths


def source_url(root: Path, source: SourceSpec) -> str:
    """The source's SQLAlchemy URL: `url` (a SQLite file relative to the workspace made absolute),
    or the value of `url_env`. Raises SourceError when the variable is not set."""
    from sqlalchemy.engine import make_url

    if source.url_env is not None:
        value = os.environ.get(source.url_env)
        if not value:
            raise SourceError(
                f"source {source.name!r}: the environment variable {source.url_env} (its database URL) is not set; "
                "set it to a SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db"
            )
        return value
    assert source.url is not None
    url = make_url(source.url)
    database = url.database
    if url.drivername.startswith("sqlite") and database and database != ":memory:" and not Path(database).is_absolute():
        url = url.set(database=str(root / database))
    return url.render_as_string(hide_password=False)


def land_sql(
    paths: DatasetPaths, spec: DatasetSpec, source: SourceSpec, *, as_of: date, now: datetime, write: bool = True
) -> Landing:
    """Land the rows past the source's watermark (one export); returns what landed and the days
    changed. Raises SourceError (unreachable, no such table or column, URL unset)."""
    ledger = read_ledger(paths, source.name)
    after = Watermark.from_json(ledger.watermark) if ledger.watermark else None
    where = source.table or "query"
    try:
        batch = read_new_rows(
            source_url(paths.root, source),
            table=source.table,
            query=source.query,
            watermark=str(source.watermark),
            after=after,
        )
    except SqlSourceError as error:
        raise SourceError(f"source {source.name!r}: {error}") from None
    if not len(batch.rows):
        return Landing([], [])
    required = [c for c in spec.kept_columns if c != DERIVED_ID or spec.columns.id is not None]
    missing = [c for c in required if c not in batch.rows.columns]
    if missing:
        raise SourceError(
            f"source {source.name!r}: {where} has no column(s) {missing}; it has {list(batch.rows.columns)}. "
            "Name them in the spec's `columns:`, or select them (with `AS`) in the source's `query:`."
        )
    rows = batch.rows.copy()
    rows["row"] = np.arange(1, len(rows) + 1)
    rows["line"] = rows["row"]
    records = without_blank(Records(rows, no_malformed()))
    export = Export(file=source.location, sha256=batch.fingerprint, records=records)
    watermark = batch.watermark.to_json() if batch.watermark is not None else ledger.watermark
    return land_exports(paths, spec, source, [export], as_of=as_of, now=now, write=write, watermark=watermark)
