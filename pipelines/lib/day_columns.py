"""Columns of every day file of a zone folder, kept between runs so a new day reads one file.

Several steps need a column or two of every stored day: landing the ids already landed (to find
the copies a new export replaces), raw the ids of the days outside its batch (duplicates), the
quarantine step every quarantined row. Opening a day file costs milliseconds before a byte of
data, so with a year and a half of days a one-day run paid for the whole history three times.

The folder's files are read once and their columns kept in one parquet file beside the other
caches, with each file's `os.stat` signature (size, mtime, inode) and row count. A later
read re-reads only the files whose signature changed (a rewritten day: every writer replaces a
file through a new inode, `files.write_parquet`), appeared or went, so the result is always what
reading every file gives. As git does for its index ("racy git"), a file modified within
`RACY_SECONDS` of being looked at is not trusted to the cache: a second write in the same clock
tick, in place and of the same size, could not be told apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.files import write_parquet

#: a file modified this recently when it was looked at is read again next time (see above)
RACY_SECONDS = 2.0
#: where in the cache file's Arrow metadata the files' signatures and row counts are kept
_FILES = b"trainset.day_columns"


@dataclass(frozen=True)
class DayColumns:
    """The rows of every day file of a folder, one file after another in file-name order."""

    table: pa.Table
    #: the files' stems (their days), in order
    files: list[str]
    #: rows of each file, aligned with `files`
    rows: list[int]

    def file_of_rows(self) -> np.ndarray:
        """For each row of `table`, the position of its file in `files` (int64)."""
        return np.repeat(np.arange(len(self.files)), self.rows)

    def in_files(self, stems: set[str]) -> np.ndarray:
        """Which rows of `table` come from one of the files `stems` (booleans)."""
        return np.repeat(np.array([f in stems for f in self.files], dtype=bool), self.rows)


def read_day_columns(folder: Path, columns: list[str] | None, cache_folder: Path) -> DayColumns:
    """`columns` (every column when None) of each `*.parquet` file of `folder`: the same table as
    reading every file, with the files unchanged since the last call taken from a cache in
    `cache_folder` (owner-only, as the zones it copies). Tables whose types differ are joined with
    Arrow's permissive promotion. Raises as `pyarrow.parquet.read_table` for an unreadable file or
    a column a file lacks."""
    cache = _cache_file(folder, columns, cache_folder)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    looked_at = time.time_ns()
    now = {f.stem: _signature(f) for f in files}
    cached, stored = _cached(cache)
    offsets = dict(zip(stored, np.cumsum([0, *(entry["rows"] for entry in stored.values())]).tolist(), strict=False))
    pieces: list[pa.Table] = []
    rows: list[int] = []
    run: list[int] = []  # [offset, rows] of consecutive files taken from the cache
    for file in files:
        entry = stored.get(file.stem)
        if cached is not None and entry is not None and entry["signature"] == now[file.stem]:
            if run and run[0] + run[1] == offsets[file.stem]:
                run[1] += entry["rows"]
            else:
                _flush(run, cached, pieces)
                run = [offsets[file.stem], entry["rows"]]
            rows.append(entry["rows"])
            continue
        _flush(run, cached, pieces)
        run = []
        table = pq.read_table(file, columns=columns)
        pieces.append(table)
        rows.append(table.num_rows)
    _flush(run, cached, pieces)
    table = pa.concat_tables(pieces, promote_options="permissive") if pieces else _empty(columns)
    result = DayColumns(table.replace_schema_metadata(None), [f.stem for f in files], rows)
    # Files modified just before they were looked at wait for the next read (see the docstring).
    trusted = {stem for stem, s in now.items() if s[1] < looked_at - RACY_SECONDS * 1e9}
    entries = {
        stem: {"signature": now[stem], "rows": n} for stem, n in zip(result.files, rows, strict=True) if stem in trusted
    }
    if entries != stored:
        _write_cache(cache, result.table.filter(result.in_files(trusted)), entries)
    return result


def _flush(run: list[int], cached: pa.Table | None, pieces: list[pa.Table]) -> None:
    if run and cached is not None:
        pieces.append(cached.slice(run[0], run[1]))


def _empty(columns: list[str] | None) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in columns or []})


def _cache_file(folder: Path, columns: list[str] | None, cache_folder: Path) -> Path:
    """One cache per folder and column list (hashed: any text may name a column). The folder is
    named relative to the cache, so a workspace copied elsewhere keeps its caches."""
    key = hashlib.sha256(json.dumps([os.path.relpath(folder, cache_folder), columns]).encode()).hexdigest()[:16]
    return cache_folder / "day_columns" / f"{folder.name}-{key}.parquet"


def _signature(file: Path) -> list[int]:
    stat = file.stat()
    # Not the ctime: a chmod (the zones' modes are set again by every run) changes it, not the data.
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def _cached(cache: Path) -> tuple[pa.Table | None, dict[str, dict]]:
    """The cache's rows and its files' entries (signature, rows; in file order), or (None, {})
    when there is no usable cache."""
    try:
        table = pq.read_table(cache)
        stored = json.loads((table.schema.metadata or {})[_FILES])
    except (OSError, KeyError, ValueError, pa.ArrowException):  # none yet, or unreadable: start over
        return None, {}
    if sum(entry["rows"] for entry in stored.values()) != table.num_rows:
        return None, {}
    return table, stored


def _write_cache(cache: Path, table: pa.Table, entries: dict[str, dict]) -> None:
    write_parquet(table.replace_schema_metadata({_FILES: json.dumps(entries).encode()}), cache, private=True)
