"""Objects and arrays in a redacted JSONL field: every string and number inside them redacted.

A field chosen for redaction may hold `{"home": "ana@example.com"}` or `["+44 7911 123456"]`
instead of text. Those values are rare, so they are read by Python's JSON decoder, one line at a
time (never on the path of plain strings): the strings and numbers inside go through the engine
in one batch, as the field's top-level values do, and a value with something replaced is written
back (keys, nesting and numbers as written; a number that held PII becomes its placeholder
string). Only that value of the line changes, and only when something in it was replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.lib.privacy.exports.export_redaction import FileSummary, RedactionPolicy, redact_values
from pipelines.lib.privacy.exports.jsonl_lines import Lines

#: first bytes of a value that is an object or an array
NESTED = (ord("{"), ord("["))


class NumberText(str):
    """A number inside a nested value, kept as written (1.10 stays 1.10)."""


class NestedValueError(ValueError):
    """A nested value that Python's decoder cannot read; `line` is its index in the chunk."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


@dataclass(frozen=True)
class NestedEdits:
    """Per line of the chunk: where the nested value ends (byte offset) and its new JSON text
    (null where it is not nested or nothing in it was replaced)."""

    end: np.ndarray
    text: pa.Array


_DECODER = json.JSONDecoder(parse_int=NumberText, parse_float=NumberText, parse_constant=NumberText)


def redact_nested(
    lines: Lines, start: np.ndarray, end: np.ndarray, kind: np.ndarray, policy: RedactionPolicy, summary: FileSummary
) -> NestedEdits | None:
    """The edits for the lines whose value (bytes `start`..`end`, first byte `kind`) is an object
    or an array: `end` with those values' ends put in; None when no line has one. Raises
    NestedValueError for a value that is not UTF-8 or not JSON."""
    rows = np.flatnonzero((start >= 0) & np.isin(kind, NESTED))
    if not len(rows):
        return None
    end = end.copy()
    values, leaves = [], []
    for row in rows.tolist():
        value, end[row] = _decode(lines, row, int(start[row]))
        values.append(value)
        leaves.append(list(_leaves(value)))
    flat = [leaf for found in leaves for leaf in found]
    redacted = redact_values(pa.array(flat, pa.large_string()), policy, summary).to_pylist() if flat else []
    texts: list[str | None] = [None] * len(lines)
    at = 0
    for row, value, found in zip(rows.tolist(), values, leaves, strict=True):
        new = redacted[at : at + len(found)]
        at += len(found)
        if new != found:
            texts[row] = _encode(value, iter(zip(found, new, strict=True)))
    return NestedEdits(end, pa.array(texts, pa.large_string()))


def _decode(lines: Lines, row: int, start: int) -> tuple[Any, int]:
    """The value at byte `start` of line `row`, and the byte offset one past it."""
    line = lines.data[lines.starts[row] : lines.ends[row]].tobytes()
    at = start - int(lines.starts[row])
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise NestedValueError(row, "text that is not UTF-8") from None
    first = len(line[:at].decode("utf-8"))
    try:
        value, last = _DECODER.raw_decode(text, first)
    except ValueError as error:
        raise NestedValueError(row, f"a nested value that is not JSON ({error})") from None
    return value, start + len(text[first:last].encode("utf-8"))


def _leaves(value: Any) -> Any:
    """The strings and numbers inside `value`, depth first, in the order they are written."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield str(value)


def _encode(value: Any, leaves: Any) -> str:
    """`value` as JSON, each leaf (in `_leaves` order) taken from `leaves` as (old, new)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(key)}: {_encode(item, leaves)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode(item, leaves) for item in value) + "]"
    if isinstance(value, str):
        old, new = next(leaves)
        return str(value) if isinstance(value, NumberText) and new == old else _string(new)
    return json.dumps(value)  # true, false, null


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
