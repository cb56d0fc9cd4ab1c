"""Reading a landed JSONL export (already UTF-8, `encodings.as_utf8`) into records, every value as
the text it was written as.

The fast path is Arrow's JSON reader. Strings are read as strings (a timestamp column is not
re-typed), integers as int64 and cast to their digits by Arrow, so `1001` is "1001" (not "1001.0"
as pandas would make an integer column holding a null) and ids above 2**53 keep every digit. A
column Arrow can only read as a float (a fraction, or an integer beyond int64) or as an object
or array would lose how it was written: such a file, and one with a line that is not a JSON
object, is read line by line with Python's json module, which keeps every number's digits.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pajson

from pipelines.lib.ingest.record_set import ID_SHAPE, Collected, Records, no_malformed, text_frame

#: bytes of the file's head whose inferred schema says which columns must stay text
HEAD_BYTES = 1 << 20


def jsonl_records(data: bytes, id_column: str) -> Records:
    """Records of a JSONL file's bytes (UTF-8), one JSON object per non-blank line; a line that
    is not one is malformed (`bad_encoding` when not UTF-8). Never raises for a bad line."""
    lines = _nonblank_lines(data)
    try:
        table = _read_as_text(data)
    except pa.ArrowInvalid:
        return _one_by_one(data, id_column)
    if table is None or table.num_rows != len(lines):
        return _one_by_one(data, id_column)
    frame = text_frame(table)
    frame["row"] = np.arange(1, len(frame) + 1)
    frame["line"] = lines
    return Records(frame, no_malformed())


def _read_as_text(data: bytes) -> pa.Table | None:
    """The file read by Arrow with every column it would re-type as a timestamp read as text;
    None when a column holds values whose text Arrow would not keep (floats, objects, arrays)."""
    head = data[: data.rfind(b"\n", 0, HEAD_BYTES) + 1] or data[:HEAD_BYTES]
    inferred = pajson.read_json(pa.BufferReader(head)).schema if head.strip() else pa.schema([])
    textual = pa.schema([pa.field(f.name, pa.string()) for f in inferred if _retyped(f.type)])
    options = pajson.ParseOptions(explicit_schema=textual, unexpected_field_behavior="infer")
    table = pajson.read_json(pa.BufferReader(data), parse_options=options)
    # Arrow puts the explicit columns first: back to the order the file writes them in.
    order = [n for n in inferred.names if n in table.column_names]
    table = table.select(order + [n for n in table.column_names if n not in order])
    kept = (pa.types.is_string, pa.types.is_integer, pa.types.is_boolean, pa.types.is_null)
    return table if all(any(test(f.type) for test in kept) for f in table.schema) else None


def _retyped(kind: pa.DataType) -> bool:
    return pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind)


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


class _Written(float):
    """A JSON number with a fraction or an exponent, and the text it was written as."""

    text: str


def _written(text: str) -> _Written:
    number = _Written(text)
    number.text = text
    return number


def _one_by_one(data: bytes, id_column: str) -> Records:
    """The slow path: each line parsed on its own; lines that are not a JSON object are malformed."""
    found = Collected()
    row = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        row += 1
        try:
            # Integers are Python ints (every digit kept); other numbers keep their written text.
            value = json.loads(raw.decode("utf-8"), parse_float=_written)
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
    """A JSON value as the text the fast path gives it: strings as they are, numbers as written,
    true/false, objects and arrays as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Written):
        return value.text
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _id_of_line(raw: bytes, id_column: str) -> str:
    found = re.search(rb'"' + re.escape(id_column.encode()) + rb'"\s*:\s*"?(' + ID_SHAPE.encode() + rb")", raw)
    return found[1].decode() if found else ""
