"""Writing and reading the files trainset keeps: zones as parquet, reports as JSON. Writes go to a
temporary file renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as zstd parquet, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
    tmp.replace(path)


def write_json(data: dict, path: Path) -> None:
    """Write JSON (sorted keys, indented), atomically."""
    write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", path)


def write_text(text: str, path: Path) -> None:
    """Write a text file (UTF-8), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _temporary(path: Path) -> Path:
    """A sibling to write before the rename; per process, so two writers never share one."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


class TableError(ValueError):
    """A side table (opt-outs, annotations) cannot be read as CSV; the message names it and the file."""


def read_csv_table(path: Path, what: str, **options) -> pd.DataFrame:
    """A small CSV table the spec names (`what`: "opt-out table", "annotations"), as pandas reads
    it with `options`. Raises TableError naming the table, the file and the problem (missing, empty,
    not UTF-8, not CSV), never quoting its content: these tables hold user ids."""
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        problem = "no such file; land it there, or change its path in the spec"
    except UnicodeDecodeError:
        problem = f"{_first_non_utf8(path)}; convert it to UTF-8"
    except pd.errors.EmptyDataError:
        problem = "empty; a CSV table starts with a header line"
    except pd.errors.ParserError as error:
        # pandas says where ("Expected 2 fields in line 3, saw 4"), not what the line holds.
        problem = f"cannot be read as CSV ({str(error).removeprefix('Error tokenizing data. C error: ')}); fix the file"
    raise TableError(f"{what} {path}: {problem}")


def _first_non_utf8(path: Path) -> str:
    # pandas counts the byte within its read buffer; the line is found again in the whole file.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return f"line {line}: not UTF-8 (byte {data[error.start]:#04x})"
    return "not UTF-8"
