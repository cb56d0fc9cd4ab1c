"""Reading a landed CSV, JSONL or Parquet export into records, without ever losing one.

A text file downloaded compressed (gzip, bzip2 or xz, known by its first bytes whatever its
name: `tickets.csv.gz`, or a `.csv` a browser saved without unpacking) is decompressed first.
Text files are then made UTF-8 (`encodings`: byte-order marks, UTF-16, a declared or detected
legacy encoding), then read by Arrow, every column as the text it was written as (`csv_records`,
`jsonl_records`). A file Arrow refuses is read again record by record, and each record that cannot
be parsed is returned as malformed with its position and reason instead of failing the whole day;
clean files never leave Arrow. Records whose every field is empty are counted, not returned.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib
from collections.abc import Callable
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

__all__ = ["COMPRESSED_SUFFIXES", "POSITION", "Records", "UnreadableFile", "read_records", "uncompressed"]

#: each compression an export may come in: its name, a pattern of its first 10 bytes, and Python's
#: decompressor (bzip2's magic is "BZh" and a block size digit, then the block header "1AY&SY")
_COMPRESSIONS = (
    ("gzip", re.compile(rb"\x1f\x8b"), gzip.decompress),
    ("xz", re.compile(rb"\xfd7zXZ\x00"), lzma.decompress),
    ("bzip2", re.compile(rb"BZh[1-9]1AY&SY"), bz2.decompress),
)
#: file name endings a compressed export may add to its format's suffix (`tickets.csv.gz`)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def read_records(
    path: Path, kind: str, id_column: str, *, encoding: str | None = None, delimiter: str | None = None
) -> Records:
    """Records of a landed csv, jsonl or parquet file: every column as text, plus `row` and `line`.

    `encoding` (a Python codec name) is how a csv or jsonl file is written, default detected
    (`encodings.as_utf8`); `delimiter` splits a csv file's fields, default sniffed from its header.
    Raises UnreadableFile, OSError or ArrowInvalid for the file as a whole; a bad record never raises."""
    if kind == "parquet":  # typed and framed by its writer: no record can be malformed
        with path.open("rb") as handle:
            compression = _compression(handle.read(10))
        if compression:  # Parquet compresses its own columns; Arrow would only say "magic bytes"
            raise UnreadableFile(f"the file is {compression[0]}-compressed Parquet: decompress it before it lands")
        frame = text_frame(pq.read_table(path))
        frame["row"] = np.arange(1, len(frame) + 1)
        frame["line"] = frame["row"]
        return without_blank(Records(frame, no_malformed()))
    if kind not in ("csv", "jsonl"):
        raise ValueError(f"record reader for {kind!r} files does not exist; use csv, jsonl or parquet")
    data = as_utf8(uncompressed(path.read_bytes()), encoding).data
    records = csv_records(data, id_column, delimiter) if kind == "csv" else jsonl_records(data, id_column)
    return without_blank(records)


def uncompressed(data: bytes) -> bytes:
    """`data` decompressed when its first bytes say gzip, bzip2 or xz (`_COMPRESSIONS`), else
    `data` itself. Raises UnreadableFile for compressed bytes cut short or corrupt (a download
    that did not finish), saying which compression."""
    compression = _compression(data[:10])
    if compression is None:
        return data
    name, decompress = compression
    try:
        return decompress(data)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as error:
        raise UnreadableFile(
            f"the file is {name}-compressed but cannot be decompressed ({error}): it was probably cut short"
        ) from None


def _compression(head: bytes) -> tuple[str, Callable[[bytes], bytes]] | None:
    """The name and decompressor of the compression a file's first 10 bytes say; None for any other file."""
    return next(((name, how) for name, magic, how in _COMPRESSIONS if magic.match(head)), None)
