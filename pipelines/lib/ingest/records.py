"""Reading a landed CSV or JSONL export into records, without ever losing one.

The fast path is Arrow's reader, all columns as text. When it refuses the file (a line with the
wrong number of fields, bytes that are not UTF-8, a line that is not JSON), the file is read
again record by record, and each record that cannot be parsed is returned as *malformed* with
its position and reason instead of failing the whole day. That slow path runs only for a file
that has such a record; clean files never leave Arrow.

Every record keeps its position: `row` (1-based ordinal among the file's records) and `line`
(the physical line it starts on, header included), so a steward can find it in the landed file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

POSITION = ["row", "line"]
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape").
SURROGATE = re.compile("[\udc80-\udcff]")
# What an id recovered from a malformed record may look like: a field shifted by the damage could
# hold an email or free text, which must not reach the quarantine table.
ID_SHAPE = "[A-Za-z0-9_.:-]{1,64}"


class UnreadableFile(RuntimeError):
    """The file as a whole cannot be read as its format (no header, not text at all)."""


@dataclass(frozen=True)
class Records:
    """Parsed records (every column as text, plus `row` and `line`) and the malformed ones
    (`row`, `line`, `reason`, and the id when it could still be read)."""

    rows: pd.DataFrame
    malformed: pd.DataFrame

    @property
    def count(self) -> int:
        return len(self.rows) + len(self.malformed)


def read_records(path: Path, kind: str, id_column: str) -> Records:
    """Records of a landed csv, jsonl or parquet file. Raises UnreadableFile, OSError or
    ArrowInvalid for the file as a whole; a bad record never raises."""
    if kind == "parquet":  # typed and framed by its writer: no record can be malformed
        frame = _as_text(pq.read_table(path))
        frame["row"] = np.arange(1, len(frame) + 1)
        frame["line"] = frame["row"]
        return Records(frame, no_malformed())
    data = path.read_bytes()
    if kind == "csv":
        return _csv_records(data, id_column)
    if kind == "jsonl":
        return _jsonl_records(data, id_column)
    raise ValueError(f"record reader for {kind!r} files does not exist; use csv or jsonl")


class _Collected:
    """Records gathered by a slow path: values of the good ones, positions of the bad ones."""

    def __init__(self) -> None:
        self.values: list = []
        self.rows: list[int] = []
        self.lines: list[int] = []
        self.bad: list[tuple[int, int, str, str]] = []

    def good(self, row: int, line: int, values) -> None:
        self.values.append(values)
        self.rows.append(row)
        self.lines.append(line)

    def malformed(self, row: int, line: int, reason: str, record_id: str) -> None:
        self.bad.append((row, line, reason, record_id))

    def records(self, frame: pd.DataFrame) -> Records:
        frame["row"] = pd.Series(self.rows, dtype="int64")
        frame["line"] = pd.Series(self.lines, dtype="int64")
        rows, lines, reasons, ids = zip(*self.bad, strict=True) if self.bad else ((), (), (), ())
        bad = pd.DataFrame(
            {
                "row": pd.Series(rows, dtype="int64"),
                "line": pd.Series(lines, dtype="int64"),
                "reason": pd.Series(reasons, dtype="str"),
                "id": pd.Series(ids, dtype="str"),
            }
        )
        return Records(frame, bad)


def no_malformed() -> pd.DataFrame:
    """The malformed records of a file that has none."""
    return _Collected().records(pd.DataFrame()).malformed


# -- CSV -----------------------------------------------------------------------------------------


def _csv_records(data: bytes, id_column: str) -> Records:
    header = _csv_header(data)
    if b"\n\n" in data or b"\n\r\n" in data:  # blank lines: Arrow skips them, so its ordinals are not lines
        return _csv_records_one_by_one(data, header, id_column)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}),
        )
    except pa.ArrowInvalid:
        return _csv_records_one_by_one(data, header, id_column)
    frame = _as_text(table)
    frame["row"] = np.arange(1, len(frame) + 1)
    # A record starts on the line after the previous record's last line: count the newlines
    # inside quoted values (vectorised) to turn ordinals into physical lines.
    inside = np.zeros(len(frame), dtype="int64")
    for name in table.column_names:
        inside += pc.fill_null(pc.count_substring(table[name], "\n"), 0).to_numpy()
    frame["line"] = 2 + np.concatenate([[0], np.cumsum(inside + 1)[:-1]]) if len(frame) else []
    return Records(frame.astype({"line": "int64"}), no_malformed())


def _csv_header(data: bytes) -> list[str]:
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not first.strip():
        raise UnreadableFile("the file is empty: expected at least the header line")
    try:
        header = next(csv.reader([first.decode("utf-8")]), [])
    except (UnicodeDecodeError, csv.Error):
        raise UnreadableFile("the header line is not UTF-8 CSV") from None
    if not header or any(not name.strip() for name in header) or len(set(header)) != len(header):
        raise UnreadableFile(f"the header line has blank or repeated column names: {header}")
    return header


def _csv_records_one_by_one(data: bytes, header: list[str], id_column: str) -> Records:
    """The slow path: Python's csv module, restarted after each record it cannot use."""
    text = data.decode("utf-8", errors="surrogateescape")
    lines = io.StringIO(text, newline="").readlines()
    id_at = header.index(id_column) if id_column in header else None

    def id_of(fields: list[str]) -> str:
        return _clean(fields[id_at]) if id_at is not None and len(fields) > id_at else ""

    found = _Collected()
    row, start = 0, 1  # start: index into `lines` of the next record (0 is the header)
    while start < len(lines):
        reader = csv.reader(lines[start:], strict=True)
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
                    # Likely a stray quote that swallowed the lines after it: set aside only its
                    # first line and read the lines after it again as records.
                    found.malformed(row, first + 1, "malformed_record", id_of(_fields_of_line(lines[first])))
                    restart = first + 1
                    break
                else:
                    found.malformed(row, first + 1, "malformed_record", id_of(fields))
        except csv.Error:  # e.g. a quote never closed before the end of the file
            first = start + consumed
            row += 1
            found.malformed(row, first + 1, "malformed_record", id_of(_fields_of_line(lines[first])))
            restart = first + 1
        start = restart if restart is not None else len(lines)
    columns = list(zip(*found.values, strict=True)) if found.values else [()] * len(header)
    frame = pd.DataFrame({name: pd.Series(values, dtype="str") for name, values in zip(header, columns, strict=True)})
    return found.records(frame)


def _fields_of_line(line: str) -> list[str]:
    return line.rstrip("\r\n").split(",")


def _clean(value: str) -> str:
    """An id as text, unless it does not look like one (undecodable bytes, spaces, an @...)."""
    value = value.strip().strip('"')
    return value if re.fullmatch(ID_SHAPE, value) else ""


# -- JSONL ---------------------------------------------------------------------------------------


def _jsonl_records(data: bytes, id_column: str) -> Records:
    lines = _nonblank_lines(data)
    try:
        table = pajson.read_json(pa.BufferReader(data))
    except pa.ArrowInvalid:
        return _jsonl_records_one_by_one(data, id_column)
    if table.num_rows != len(lines):
        return _jsonl_records_one_by_one(data, id_column)
    frame = _as_text(table)
    frame["row"] = np.arange(1, len(frame) + 1)
    frame["line"] = lines
    return Records(frame, no_malformed())


def _nonblank_lines(data: bytes) -> np.ndarray:
    """1-based numbers of the lines holding something other than whitespace (vectorised)."""
    if not data:
        return np.array([], dtype="int64")
    buffer = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(buffer == 10)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(buffer)]])
    blank = ends <= starts
    for position in np.flatnonzero(~blank & (ends - starts <= 2)):  # "\r" or " " alone: rare
        blank[position] = not data[starts[position] : ends[position]].strip()
    return np.flatnonzero(~blank) + 1


def _jsonl_records_one_by_one(data: bytes, id_column: str) -> Records:
    """The slow path: each line parsed on its own; lines that are not a JSON object are malformed."""
    found = _Collected()
    row = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        row += 1
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            found.malformed(row, number, "bad_encoding", _id_of_line(raw, id_column))
            continue
        except ValueError:
            value = None
        if isinstance(value, dict):
            found.good(row, number, value)
        else:
            found.malformed(row, number, "malformed_record", _id_of_line(raw, id_column))
    names = list(dict.fromkeys(name for item in found.values for name in item))
    frame = pd.DataFrame(
        {name: pd.Series([_text(item.get(name)) for item in found.values], dtype="str") for name in names}
    )
    return found.records(frame)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _id_of_line(raw: bytes, id_column: str) -> str:
    found = re.search(rb'"' + re.escape(id_column.encode()) + rb'"\s*:\s*"?(' + ID_SHAPE.encode() + rb")", raw)
    return found[1].decode() if found else ""


def _as_text(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for name in frame.columns:
        frame[name] = frame[name].astype("str")
    return frame
