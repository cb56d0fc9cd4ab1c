"""Reading a landed CSV export (already UTF-8, `encodings.as_utf8`) into records.

The fast path is Arrow's reader, every column as text. When it refuses the file (a line with the
wrong number of fields, bytes that are not UTF-8), or when a quote was opened and never closed
(Arrow reads the rest of the file into that one value, silently), the file is read again record
by record with Python's csv module, and each record that cannot be parsed is returned as malformed
with its position instead of failing the whole day.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from itertools import islice

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.lib.ingest.record_set import Collected, Records, UnreadableFile, clean_id, no_malformed, text_frame

#: the delimiters a header is sniffed for, the first winning a tie (as `trainset redact` sniffs)
DELIMITERS = ",;\t|"
#: lines one record may span when looking for where records start again after an unclosed quote
#: (without a bound, each candidate line opening a quote would be read to the end of the file)
LOOKAHEAD_LINES = 10_000
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape").
SURROGATE = re.compile("[\udc80-\udcff]")


def csv_records(data: bytes, id_column: str, delimiter: str | None = None) -> Records:
    """Records of a CSV file's bytes (UTF-8, no byte-order mark), split by `delimiter`, or by the
    one sniffed from the header line (`sniff_delimiter`). Raises UnreadableFile when the header
    line is missing or unusable; a bad record never raises."""
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    delimiter = delimiter or sniff_delimiter(first)
    header = _header(first, delimiter)
    if b"\n\n" in data or b"\n\r\n" in data:  # blank lines: Arrow skips them, so its ordinals are not lines
        return _one_by_one(data, header, delimiter, id_column)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            # Text as it is: "000101" stays "000101", an empty value stays empty (not null).
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header}),
        )
    except pa.ArrowInvalid:
        return _one_by_one(data, header, delimiter, id_column)
    frame = text_frame(table)
    frame["row"] = np.arange(1, len(frame) + 1)
    # A record starts on the line after the previous record's last line: count the newlines
    # inside quoted values (vectorised) to turn ordinals into physical lines.
    inside = np.zeros(len(frame), dtype="int64")
    for name in table.column_names:
        inside += pc.fill_null(pc.count_substring(table[name], "\n"), 0).to_numpy()
    if len(frame) and inside[-1] and data.count(b'"') % 2:
        # A quote left open runs to the end of the file, so it shows as a last record over several
        # lines (rare in a good file, so the quotes are counted only then): an odd number of them
        # means Arrow read every line after it into that one value.
        return _one_by_one(data, header, delimiter, id_column)
    frame["line"] = 2 + np.concatenate([[0], np.cumsum(inside + 1)[:-1]]) if len(frame) else []
    return Records(frame.astype({"line": "int64"}), no_malformed())


def sniff_delimiter(first_line: bytes) -> str:
    """The delimiter of a CSV file from its header line: the one of DELIMITERS found most often
    outside quotes (column names rarely hold one; text values often do), `,` when none is."""
    outside = b"".join(first_line.split(b'"')[0::2])  # the quoted parts dropped
    return max(DELIMITERS, key=lambda d: (outside.count(d.encode()), -DELIMITERS.index(d)))


def _header(first: bytes, delimiter: str) -> list[str]:
    if not first.strip():
        raise UnreadableFile("the file is empty: expected at least the header line")
    try:
        header = next(csv.reader([first.decode("utf-8")], delimiter=delimiter), [])
    except (UnicodeDecodeError, csv.Error):
        raise UnreadableFile(
            "the header line is not CSV text in UTF-8 or a detectable encoding; declare the source's `encoding:`"
        ) from None
    blank = [n for n, name in enumerate(header, start=1) if not name.strip()]
    repeated = len(header) - len(set(header))
    if not header or blank or repeated:
        # Positions and counts only: a file without its header line has a record there.
        raise UnreadableFile(
            f"the header line has blank column names (at positions {blank}) or {repeated} repeated ones; "
            f"it was split at {delimiter!r} (declare the source's `delimiter:` if that is wrong)"
        )
    return header


def _one_by_one(data: bytes, header: list[str], delimiter: str, id_column: str) -> Records:
    """The slow path: Python's csv module, restarted after each record it cannot use."""
    text = data.decode("utf-8", errors="surrogateescape")
    lines = io.StringIO(text, newline="").readlines()
    id_at = header.index(id_column) if id_column in header else None

    def id_of(fields: list[str]) -> str:
        return clean_id(fields[id_at]) if id_at is not None and len(fields) > id_at else ""

    def first_line_id(at: int) -> str:
        return id_of(lines[at].rstrip("\r\n").split(delimiter))

    found = Collected()
    row, start = 0, 1  # start: index into `lines` of the next record (0 is the header)
    while start < len(lines):
        reader = csv.reader(_from(lines, start), delimiter=delimiter, strict=True)
        consumed, restart = 0, None
        try:
            for fields in reader:
                first, consumed = start + consumed, reader.line_num
                if not fields:  # a blank line is not a record
                    continue
                row += 1
                if len(fields) == len(header) and not any(SURROGATE.search(f) for f in fields):
                    found.good(row, first + 1, fields)
                elif len(fields) == len(header):
                    found.malformed(row, first + 1, "bad_encoding", id_of(fields))
                elif start + consumed - first > 1:
                    # A quote left open swallowed the lines after it, up to a later quote: the
                    # record is set aside once, and reading goes on where the next record starts.
                    found.malformed(row, first + 1, "malformed_record", first_line_id(first))
                    restart = _next_record(lines, first + 1, delimiter, len(header))
                    break
                else:
                    found.malformed(row, first + 1, "malformed_record", id_of(fields))
        except csv.Error:  # e.g. a quote never closed before the end of the file
            first = start + consumed
            row += 1
            found.malformed(row, first + 1, "malformed_record", first_line_id(first))
            restart = _next_record(lines, first + 1, delimiter, len(header))
        start = restart if restart is not None else len(lines)
    columns = list(zip(*found.values, strict=True)) if found.values else [()] * len(header)
    frame = pd.DataFrame({name: pd.Series(values, dtype="str") for name, values in zip(header, columns, strict=True)})
    return found.records(frame)


def _from(lines: list[str], start: int) -> Iterator[str]:
    """The lines from `start` on, without copying the list (a restart per bad record)."""
    return (lines[at] for at in range(start, len(lines)))


def _next_record(lines: list[str], at: int, delimiter: str, width: int) -> int:
    """Index of the first line from `at` on where a whole record of `width` fields starts: the
    lines before it are the rest of a record whose quote was left open (its text's own lines, a
    blank one, its last fields), which belong to that one malformed record, not records of their own."""
    for start in range(at, len(lines)):
        if not lines[start].strip():
            continue
        try:
            candidate = islice(_from(lines, start), LOOKAHEAD_LINES)
            fields = next(csv.reader(candidate, delimiter=delimiter, strict=True), [])
        except csv.Error:
            continue
        if len(fields) == width:
            return start
    return len(lines)
