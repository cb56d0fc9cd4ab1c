"""Where the fields of a chunk of CSV are in its raw bytes (numpy), and how a value is written.

A record is located without parsing it: a delimiter or line break is one only outside quotes,
that is with an even number of quotes before it in the chunk (chunks start outside quotes). That
holds for a well-quoted file, which is checked on the way: each quote opens a value at its start,
closes it before a delimiter or line break, or doubles another. The chunk is also checked to be
written exactly as `written` would write it (quotes only where they must be, one line ending,
as many fields on every line as the header names): then only the redacted values need writing
again, and every other byte is kept. A chunk that is not is refused (NotAsRewritten), and the
whole file is rewritten from its parsed records instead (csv_export).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.privacy.exports.jsonl_lines import byte_positions
from pipelines.lib.privacy.pii_spans import buffers

_QUOTE, _CR, _LF = ord('"'), ord("\r"), ord("\n")


@dataclass(frozen=True)
class CsvDialect:
    """How an export is written: delimiter, line ending, byte-order mark, and its header."""

    delimiter: str
    eol: str
    bom: bool
    header: list[str]


class NotAsRewritten(Exception):
    """The chunk is not written as its redacted copy would be (a value quoted that need not be, a
    stray quote, another line ending, a blank line, a record of another length, bytes that are
    not UTF-8): the file must be parsed and written again, where any error is named."""


@dataclass(frozen=True)
class Fields:
    """Where the fields of a chunk's records end: `ends` (records, columns) holds the offset of
    each field's delimiter or line ending (the end of the chunk for an unterminated last record)."""

    buffer: pa.Buffer
    ends: np.ndarray
    #: bytes of a line ending
    eol: int
    #: offsets of the first quote of every doubled pair (a quote inside a value), ascending
    escaped: np.ndarray
    #: the last record has no line ending (the end of the file)
    unterminated: bool

    def __len__(self) -> int:
        return len(self.ends)

    def values(self, columns: list[int], first: int = 0) -> tuple[pa.LargeStringArray, np.ndarray, np.ndarray]:
        """The values of `columns` (ascending) from record `first` on, record after record: outer
        quotes dropped, doubled quotes undone; and the byte span of each (quotes included)."""
        ends = self.ends[first:, columns]
        starts = np.empty_like(ends)
        for i, column in enumerate(columns):  # a field starts after the previous one's delimiter
            if column:
                starts[:, i] = self.ends[first:, column - 1] + 1
            elif len(starts):  # or after the previous record's line ending
                starts[0, i] = self.ends[first - 1, -1] + self.eol if first else 0
                starts[1:, i] = self.ends[first:-1, -1] + self.eol
        starts, ends = starts.ravel(), ends.ravel()
        data = np.frombuffer(self.buffer, np.uint8)
        quoted = np.zeros(len(starts), bool)
        nonempty = np.flatnonzero(ends > starts)
        quoted[nonempty] = data[starts[nonempty]] == _QUOTE
        inner_starts, inner_ends = starts + quoted, ends - quoted
        values = _cut(self.buffer, inner_starts, inner_ends)
        holding = np.searchsorted(inner_starts, self.escaped, side="right") - 1
        holding = holding[(holding >= 0) & (self.escaped < inner_ends[np.maximum(holding, 0)])]
        if len(holding):  # quotes inside a value are written twice
            doubled = np.zeros(len(values), bool)
            doubled[holding] = True
            undone = pc.replace_substring(values.filter(pa.array(doubled)), '""', '"')
            values = pc.replace_with_mask(values, pa.array(doubled), undone)
        return values, starts, ends


def locate(chunk: pa.Buffer, dialect: CsvDialect) -> Fields:
    """The records and fields of `chunk` (whole records, starting outside quotes); NotAsRewritten
    when the chunk is not written as `written` writes its values."""
    data = np.frombuffer(chunk, np.uint8)
    columns, crlf, delimiter = len(dialect.header), dialect.eol == "\r\n", ord(dialect.delimiter)
    try:
        pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, len(data)], np.int64)), chunk).validate(full=True)
    except pa.ArrowInvalid:
        raise NotAsRewritten("not UTF-8") from None
    special = byte_positions(data, b'"\r\n' + dialect.delimiter.encode())
    chars = data[special]
    quote = chars == _QUOTE
    escaped = _check_quotes(data, special, np.flatnonzero(quote), delimiter, lone=columns == 1)
    # A delimiter or line break outside quotes (an even number before it) ends a field.
    structural = (np.bitwise_xor.accumulate(quote.view(np.uint8)) == 0) & ~quote
    breaks, kinds = special[structural], chars[structural]
    returns, feeds = breaks[kinds == _CR], breaks[kinds == _LF]
    if not crlf and len(returns):
        raise NotAsRewritten("a carriage return where lines end in a line feed")
    if crlf and (len(returns) != len(feeds) or not np.array_equal(returns + 1, feeds)):
        raise NotAsRewritten("a line not ended by CR LF")
    ends, kinds = (breaks[kinds != _LF], kinds[kinds != _LF]) if crlf else (breaks, kinds)
    line_end = kinds != delimiter
    unterminated = len(data) > 0 and data[-1] != _LF
    if unterminated:  # the end of the file ends the last record
        ends, line_end = np.append(ends, len(data)), np.append(line_end, True)
    if len(ends) % columns or int(line_end.sum()) * columns != len(ends) or not line_end[columns - 1 :: columns].all():
        raise NotAsRewritten("a record with another number of fields than the header")
    if columns == 1 and len(ends):  # an empty value not quoted: a blank line
        starts = np.concatenate([[0], ends[:-1] + len(dialect.eol)])
        if (ends == starts).any():
            raise NotAsRewritten("a blank line")
    return Fields(chunk, ends.reshape(-1, columns), len(dialect.eol), escaped, bool(unterminated))


def _check_quotes(
    data: np.ndarray, special: np.ndarray, quote_at: np.ndarray, delimiter: int, lone: bool
) -> np.ndarray:
    """Every quote opens a value at its start, closes one before a delimiter or line break, or is
    one of two written for one: otherwise the even-count rule does not find the records. And a
    value is quoted only if it must be: the next special byte after its opening quote is inside it
    (not its closing quote), or it is the empty value of a one-column file (`lone`). Returns the
    offsets of the first quote of each doubled pair.

    `special`: offsets of every quote, delimiter and line break byte; `quote_at`: which of them
    are quotes. The chunk starts outside quotes, so they open and close in turn."""
    if len(quote_at) % 2:
        raise NotAsRewritten("a quote never closed")
    opening, closing = quote_at[0::2], special[quote_at[1::2]]
    before = data[np.maximum(special[opening] - 1, 0)]
    first = (special[opening] == 0) | (before == delimiter) | (before == _LF)
    if not (first | (before == _QUOTE)).all():
        raise NotAsRewritten("a quote inside an unquoted value")
    after = data[np.minimum(closing + 1, len(data) - 1)]
    last = (closing == len(data) - 1) | (after == delimiter) | (after == _CR) | (after == _LF)
    if not (last | (after == _QUOTE)).all():
        raise NotAsRewritten("text after a closing quote")
    # After each value's opening quote, the next special byte (there is one: its closing quote).
    following = opening[first] + 1
    at = special[following]
    closed = (data[at] == _QUOTE) & ((at == len(data) - 1) | (data[np.minimum(at + 1, len(data) - 1)] != _QUOTE))
    if lone:
        closed &= at != special[following - 1] + 1
    if closed.any():
        raise NotAsRewritten("a value quoted that need not be")
    return closing[~last]


def _cut(buffer: pa.Buffer, starts: np.ndarray, ends: np.ndarray) -> pa.LargeStringArray:
    """The bytes starts[i]:ends[i] of `buffer` (ascending, not overlapping) as a string array."""
    if not len(starts):
        return pa.array([], pa.large_string())
    offsets = np.empty(2 * len(starts), np.int64)
    offsets[0::2], offsets[1::2] = starts, ends
    # Laid over the buffer, the windows are the even values; the odd ones, the bytes between.
    windows = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), buffer)
    every_other = np.zeros(len(windows), bool)
    every_other[0::2] = True
    return windows.filter(pa.array(every_other))


def written(column: pa.Array, dialect: CsvDialect, lone: bool) -> pa.Array:
    """Each value (a large string array, nulls written empty) as a CSV field: quoted only where it
    must be (Python's QUOTE_MINIMAL: it holds the delimiter, a quote or a line break; or it is
    empty and `lone`, the only field of its record), its quotes doubled."""
    column = pc.fill_null(column, "")
    # numpy over the data buffer, and only the few values where a byte is found are located (an
    # RE2 scan of every value cost three times Arrow's whole writer)
    data, offsets = buffers(column)
    data = data[offsets[0] : offsets[-1]]
    at = byte_positions(data, f'{dialect.delimiter}"\r\n'.encode())
    rows = np.searchsorted(offsets, at + offsets[0], side="right") - 1
    quote = np.zeros(len(column), bool)
    quote[rows] = True
    if lone:  # an empty line would read as no record at all
        quote |= offsets[1:] == offsets[:-1]
    if not quote.any():
        return column
    doubled = np.zeros(len(column), bool)
    doubled[rows[data[at] == _QUOTE]] = True
    if doubled.any():
        twice = pc.replace_substring(column.filter(pa.array(doubled)), '"', '""')
        column = pc.replace_with_mask(column, pa.array(doubled), twice)
    mark = pc.if_else(pa.array(quote), _QUOTED, _EMPTY)
    return pc.binary_join_element_wise(mark, column, mark, _EMPTY)


def splice(buffer: pa.Buffer, starts: np.ndarray, ends: np.ndarray, new: pa.Array) -> pa.Buffer:
    """`buffer` with bytes starts[i]:ends[i] replaced by new[i] (ascending spans, not
    overlapping): one copy, Arrow laying the kept bytes and the new values end to end."""
    if not len(starts):
        return buffer
    offsets = np.empty(2 * len(starts) + 2, np.int64)
    offsets[0], offsets[1:-1:2], offsets[2:-1:2], offsets[-1] = 0, starts, ends, buffer.size
    pieces = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), buffer)
    replaced = np.zeros(len(pieces), bool)
    replaced[1::2] = True  # kept, replaced, kept, ..., kept
    out = pc.replace_with_mask(pieces, pa.array(replaced), new.cast(pa.large_string()))
    out_offsets = np.frombuffer(out.buffers()[1], np.int64, len(out) + 1, out.offset * 8)
    return out.buffers()[2][int(out_offsets[0]) : int(out_offsets[-1])]


_QUOTED, _EMPTY = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
