"""Reading a landed CSV, JSONL or Parquet export into records, without ever losing one.

Text files are first made UTF-8 (`encodings`: byte-order marks, UTF-16, a declared or detected
legacy encoding), then read by Arrow, every column as the text it was written as (`csv_records`,
`jsonl_records`). A file Arrow refuses is read again record by record, and each record that cannot
be parsed is returned as malformed with its position and reason instead of failing the whole day;
clean files never leave Arrow. Records whose every field is empty are counted, not returned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from pipelines.lib.ingest.csv_records import csv_records
from pipelines.lib.ingest.encodings import as_utf8
from pipelines.lib.ingest.jsonl_records import jsonl_records
from pipelines.lib.ingest.record_set import (
    POSITION,
    Records,
    UnreadableFile,
    no_malformed,
    text_frame,
    without_blank,
)

__all__ = ["POSITION", "Records", "UnreadableFile", "read_records"]


def read_records(
    path: Path, kind: str, id_column: str, *, encoding: str | None = None, delimiter: str | None = None
) -> Records:
    """Records of a landed csv, jsonl or parquet file: every column as text, plus `row` and `line`.

    `encoding` (a Python codec name) is how a csv or jsonl file is written, default detected
    (`encodings.as_utf8`); `delimiter` splits a csv file's fields, default sniffed from its header.
    Raises UnreadableFile, OSError or ArrowInvalid for the file as a whole; a bad record never raises."""
    if kind == "parquet":  # typed and framed by its writer: no record can be malformed
        frame = text_frame(pq.read_table(path))
        frame["row"] = np.arange(1, len(frame) + 1)
        frame["line"] = frame["row"]
        return without_blank(Records(frame, no_malformed()))
    if kind not in ("csv", "jsonl"):
        raise ValueError(f"record reader for {kind!r} files does not exist; use csv, jsonl or parquet")
    data = as_utf8(path.read_bytes(), encoding).data
    records = csv_records(data, id_column, delimiter) if kind == "csv" else jsonl_records(data, id_column)
    return without_blank(records)
