"""Reading and writing the files trainset works with: exports as text, zones as parquet, stats
as JSON. Writes go to a temporary file renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq


def read_table(path: Path, kind: str) -> pa.Table:
    """A csv, jsonl or parquet file as an Arrow table; CSV columns all as text, since typing
    (and quarantining what does not type) is the caller's job. Raises pa.ArrowInvalid/OSError."""
    if kind == "csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        return pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}),
        )
    if kind == "jsonl":
        return pajson.read_json(path)
    return pq.read_table(path)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as zstd parquet, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
    tmp.replace(path)


def write_json(data: dict, path: Path) -> None:
    """Write JSON (sorted keys, indented), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def _temporary(path: Path) -> Path:
    """A sibling to write before the rename; per process, so two writers never share one."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
