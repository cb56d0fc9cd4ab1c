"""Redacting a JSONL export: only the redacted fields' string values change, every other byte of
every line stays as written (ids, big integers, nulls, nested values, key order, escapes).

The file is memory-mapped and cut into chunks at line ends. Per chunk: the values are located in
the raw bytes (jsonl_spans), Arrow's JSON reader checks that every line is one JSON object and
decodes the values, the engine redacts them, and the changed ones are escaped and spliced back
(jsonl_splice). Chunks are redacted two at a time and written in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from pipelines.lib.privacy.exports.export_redaction import (
    FileSummary,
    RedactFileError,
    RedactionPolicy,
    UnreadableExportError,
    batch_size,
    changed,
    in_order,
    redact_values,
)
from pipelines.lib.privacy.exports.jsonl_lines import Lines
from pipelines.lib.privacy.exports.jsonl_nested import NestedValueError, redact_nested
from pipelines.lib.privacy.exports.jsonl_spans import JsonLayoutError, Spans, locate, refuse_repeated
from pipelines.lib.privacy.exports.jsonl_splice import json_escape, splice

#: bytes per chunk, at least and at most (export_redaction.batch_size)
CHUNK_BYTES, MAX_CHUNK_BYTES = 8 << 20, 32 << 20
BOM = b"\xef\xbb\xbf"
_NUMBER_START = np.frombuffer(b"-0123456789", np.uint8)
_KINDS = {ord("n"): "null (kept)", ord("t"): "true/false (kept)", ord("f"): "true/false (kept)"}
_NESTED = "object or array (the strings and numbers inside read as text)"
_KINDS |= {ord("{"): _NESTED, ord("["): _NESTED}


class _ChunkError(Exception):
    """A problem on line `index` of a chunk (None: the first line Python cannot read)."""

    def __init__(self, index: int | None, problem: str) -> None:
        super().__init__(problem)
        self.index, self.problem = index, problem


@dataclass
class _Redacted:
    """What one chunk gives: its new bytes, its line count, its counts and the fields it holds."""

    data: pa.Buffer
    lines: int
    summary: FileSummary
    seen: set[str] = field(default_factory=set)


def redact_jsonl(source: Path, target: BinaryIO, fields: list[str], policy: RedactionPolicy) -> FileSummary:
    """Write `source` redacted in `fields` to `target`; returns the counts. Numbers in a redacted
    field are read as text (a phone number may be written as one): one that holds PII becomes
    a string with the placeholder; null, true/false, objects and arrays are kept and counted."""
    with pa.memory_map(str(source)) as mapped:
        data = mapped.read_buffer()
        if data.slice(0, min(3, data.size)).to_pybytes() == BOM:
            target.write(BOM)
            data = data.slice(3)
        chunks = list(_chunks(data, batch_size(data.size, CHUNK_BYTES, MAX_CHUNK_BYTES)))
        summary, seen, first_line = FileSummary(), set(), 1
        results = in_order(lambda chunk: _redact_chunk(chunk, fields, policy), chunks)
        for chunk in chunks:
            try:
                result = next(results)
            except _ChunkError as error:
                results.close()
                _raise_for_line(source, chunk.to_pybytes(), first_line, error.index, error.problem)
            target.write(result.data)
            summary.add(result.summary)
            seen |= result.seen
            first_line += result.lines
    missing = [f for f in fields if f not in seen]
    if missing and summary.records:
        raise RedactFileError(
            f"{source}: no line has the field(s) {missing}; its fields are {_field_names(chunks[0])}. "
            "Name them with --field."
        )
    return summary


def _chunks(data: pa.Buffer, size: int) -> Iterator[pa.Buffer]:
    """Slices of `data` of about `size` bytes, each ending after a newline (the last one may not);
    a line longer than a chunk makes its chunk longer. No copy."""
    view = np.frombuffer(data, np.uint8)
    at = 0
    while at < len(view):
        end = min(at + size, len(view))
        while end < len(view):
            newline = _last_newline(view, at, end)
            if newline >= 0:
                end = newline + 1
                break
            end = min(end + size, len(view))
        yield data.slice(at, end - at)
        at = end


def _last_newline(view: np.ndarray, start: int, end: int, step: int = 1 << 16) -> int:
    """Offset of the last newline in view[start:end], or -1; read backwards a little at a time."""
    for stop in range(end, start, -step):
        found = np.flatnonzero(view[max(start, stop - step) : stop] == 10)
        if len(found):
            return max(start, stop - step) + int(found[-1])
    return -1


def _redact_chunk(chunk: pa.Buffer, fields: list[str], policy: RedactionPolicy) -> _Redacted:
    """The chunk with the fields' values redacted, and its counts."""
    lines = Lines.split(chunk)
    objects = _non_blank(lines)
    spans: dict[str, Spans] = {}
    for name in fields:
        try:
            spans[name] = locate(lines, name)
        except JsonLayoutError as error:
            raise _ChunkError(error.line, f"field {name!r}: {error.problem}") from None
    values = _values(lines, spans, objects)
    summary = FileSummary(records=int(objects.sum()))
    for found in spans.values():
        summary.not_text["missing (kept)"] += int((objects & (found.start < 0)).sum())
        kinds = found.kind[found.start >= 0]
        for kind, label in _KINDS.items():
            summary.not_text[label] += int((kinds == kind).sum())
        summary.not_text["number (read as text)"] += int(np.isin(kinds, _NUMBER_START).sum())
    redacted = redact_values(values, policy, summary)
    edits = []
    for i, found in enumerate(spans.values()):
        before, after = values.slice(i * len(lines), len(lines)), redacted.slice(i * len(lines), len(lines))
        text = pc.if_else(pa.array(changed(before, after)), after, pa.scalar(None, after.type))
        # A value redacted from a string written without escapes needs none: the placeholders
        # are plain ASCII.
        escaped = json_escape(text, lines.holds_backslash(found.start, found.end))
        new, end = pc.binary_join_element_wise(_QUOTE, escaped, _QUOTE, _EMPTY), found.end
        try:
            nested = redact_nested(lines, found.start, found.end, found.kind, policy, summary)
        except NestedValueError as error:
            raise _ChunkError(error.line, f"field {list(spans)[i]!r}: {error.problem}") from None
        if nested is not None:  # objects and arrays: their strings and numbers redacted
            new, end = pc.coalesce(new, nested.text), nested.end
        edits.append((found.start, end, new))
    seen = {name for name, found in spans.items() if (found.start >= 0).any()}
    return _Redacted(splice(lines, edits), len(lines), summary, seen)


def _non_blank(lines: Lines) -> np.ndarray:
    """Which lines hold something (blank lines hold no record, and Arrow's reader skips them)."""
    data, starts = lines.data, lines.starts
    full = np.zeros(len(lines), bool)
    nonempty = np.flatnonzero(lines.ends > starts)
    full[nonempty] = data[starts[nonempty]] == ord("{")
    other = np.flatnonzero(~full)  # empty, blank, or not starting with `{`: look closer
    full[other] = lines.find(starts[other], lines.ends[other], r"[^\s]") >= 0
    return full


def _values(lines: Lines, spans: dict[str, Spans], objects: np.ndarray) -> pa.Array:
    """The fields' values decoded, field after field (one per line each; null where the value is
    not a string or a number). Also the check that every line is one JSON object."""
    strings_only = all(np.isin(s.kind[s.start >= 0], [ord('"'), ord("n")]).all() for s in spans.values())
    # Usually one parse does both: Arrow reads the fields as strings while checking every line.
    # A number (or object...) in a field would stop it, so then the values are read from a
    # second, small document holding only them.
    schema = pa.schema([(name, pa.string()) for name in spans]) if strings_only else pa.schema([])
    try:
        table = pajson.read_json(
            pa.BufferReader(lines.buffer),
            read_options=_ONE_THREAD,
            parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except pa.ArrowInvalid as error:
        if "specified twice" in str(error):  # Arrow names no line: find it
            for name, found in spans.items():
                try:
                    refuse_repeated(lines, name, found)
                except JsonLayoutError as twice:
                    raise _ChunkError(twice.line, f"field {name!r}: {twice.problem}") from None
        raise _ChunkError(None, str(error)) from None
    if table.num_rows != int(objects.sum()):
        raise _ChunkError(None, "more than one JSON value on a line")
    if not strings_only:
        for name, found in spans.items():  # the parse above checked this only for strings
            try:
                refuse_repeated(lines, name, found)
            except JsonLayoutError as error:
                raise _ChunkError(error.line, f"field {name!r}: {error.problem}") from None
        table = _read_values(lines, spans, objects)
    columns = []
    for name in spans:
        column = table[name].combine_chunks().cast(pa.large_string())
        try:
            column.validate(full=True)  # the JSON reader leaves bad UTF-8 in strings as it is
        except pa.ArrowInvalid:
            raise _ChunkError(None, "text that is not UTF-8") from None
        if not objects.all():  # blank lines have no row
            column = pc.replace_with_mask(pa.nulls(len(lines), pa.large_string()), pa.array(objects), column)
        found = spans[name]
        located = (found.start >= 0) & ((found.kind == ord('"')) | np.isin(found.kind, _NUMBER_START))
        astray = np.flatnonzero(column.is_valid().to_numpy(False) != located)
        if len(astray):  # say a key written with escapes (`"b\u006fdy"`): never leave it unredacted
            raise _ChunkError(int(astray[0]), f"field {name!r} is written in a way that cannot be located")
        columns.append(column)
    return pa.concat_arrays(columns)


def _read_values(lines: Lines, spans: dict[str, Spans], objects: np.ndarray) -> pa.Table:
    """The fields' string and number values (numbers as their text), read by Arrow from a small
    JSON document built of just them, one object per non-blank line."""
    parts: list[pa.Array | pa.Scalar] = []
    for i, found in enumerate(spans.values()):
        quote = np.isin(found.kind, _NUMBER_START) & (found.start >= 0)
        keep = ((found.kind == ord('"')) & (found.start >= 0)) | quote
        start = np.where(keep, found.start, lines.starts)
        end = np.where(keep, found.end, lines.starts)
        raw = pc.take(lines.windows(start, end), pa.array(np.arange(0, 2 * len(lines), 2)))
        raw = pc.if_else(pa.array(quote), pc.binary_join_element_wise(_QUOTE, raw, _QUOTE, _EMPTY), raw)
        raw = pc.if_else(pa.array(keep), raw, _text("null"))
        parts += [_text(f'{"," if i else "{"}"v{i}":'), raw]
    document = pc.binary_join_element_wise(*parts, _text("}\n"), _EMPTY).filter(pa.array(objects))
    table = pajson.read_json(
        pa.BufferReader(_data(document)),
        parse_options=pajson.ParseOptions(
            explicit_schema=pa.schema([(f"v{i}", pa.string()) for i in range(len(spans))])
        ),
    )
    return table.rename_columns(list(spans))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


_QUOTE, _EMPTY = _text('"'), _text("")
#: chunks are already parsed side by side: a reader's own threads would only contend with them
_ONE_THREAD = pajson.ReadOptions(use_threads=False)


def _data(array: pa.Array) -> pa.Buffer:
    """The bytes of a string array's values, end to end."""
    offsets = np.frombuffer(array.buffers()[1], np.int64, len(array) + 1, array.offset * 8)
    return array.buffers()[2][int(offsets[0]) : int(offsets[-1])]


def _raise_for_line(source: Path, chunk: bytes, first_line: int, index: int | None, problem: str) -> NoReturn:
    """Raise the error for the first bad line of the chunk (or line `index`), with its number and
    what to do. Python reads the lines here: only on the way to an error."""
    for number, line in enumerate(chunk.split(b"\n")):
        if (index is not None and number != index) or (index is None and not line.strip()):
            continue
        try:
            value = json.loads(line)
        except UnicodeDecodeError as error:
            raise UnreadableExportError(
                f"{source}, line {first_line + number}: not UTF-8 (byte {line[error.start]:#04x} at byte "
                f"{error.start + 1}); convert the file to UTF-8 (e.g. iconv -f cp1252 -t utf-8)"
            ) from None
        except ValueError as error:
            raise UnreadableExportError(
                f"{source}, line {first_line + number}: not valid JSON ({error}); fix or remove that line"
            ) from None
        if not isinstance(value, dict):
            raise UnreadableExportError(
                f"{source}, line {first_line + number}: a JSON {type(value).__name__}, not an object; "
                "each line of a JSONL export must be one object"
            )
        if index is not None:
            raise UnreadableExportError(
                f"{source}, line {first_line + number}: {problem}; fix the line or export it again"
            )
    raise UnreadableExportError(f"{source}, from line {first_line}: {problem}; fix the file or export it again")


def _field_names(chunk: pa.Buffer) -> list[str]:
    """The fields of the first records (for the message naming a field that does not exist)."""
    head = chunk.slice(0, min(chunk.size, 1 << 20)).to_pybytes()
    head = head[: head.rfind(b"\n") + 1] or head
    try:
        return pajson.read_json(pa.BufferReader(pa.py_buffer(head))).column_names
    except pa.ArrowInvalid:
        return []
