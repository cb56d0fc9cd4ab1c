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
