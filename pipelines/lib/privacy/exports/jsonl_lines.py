"""A chunk of a JSONL file as bytes and lines: where its lines and some bytes are (numpy), and
RE2 scans of byte ranges of it without a copy (pyarrow.compute over "windows")."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_local = threading.local()


@dataclass(frozen=True)
class Lines:
    """A chunk of a JSONL file: its bytes and where each line starts and ends (terminator included).

    `starts` and `ends` are int64 byte offsets into `buffer`, one per line; `data` views it as uint8."""

    buffer: pa.Buffer
    starts: np.ndarray
    ends: np.ndarray

    @property
    def data(self) -> np.ndarray:
        return np.frombuffer(self.buffer, np.uint8)

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def split(cls, buffer: pa.Buffer) -> Lines:
        """Cut `buffer` after every newline (a last line without one is a line too)."""
        data = np.frombuffer(buffer, np.uint8)
        ends = byte_positions(data, b"\n")
        ends += 1
        if len(data) and (not len(ends) or ends[-1] != len(data)):
            ends = np.append(ends, len(data))
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        return cls(buffer, starts, ends)

    @cached_property
    def quotes(self) -> np.ndarray:
        """Offsets of every `"` byte, ascending."""
        return byte_positions(self.data, b'"')

    @cached_property
    def after_quotes(self) -> np.ndarray:
        """The byte after each of `quotes` (0 after a last byte): gathered once for every field."""
        data, quotes = self.data, self.quotes
        after = np.zeros(len(quotes), np.uint8)
        inside = quotes + 1 < len(data)
        after[inside] = data[quotes[inside] + 1]
        return after

    @cached_property
    def inner_bracket(self) -> np.ndarray:
        """Per line, the offset of its first `{` or `[` other than its first byte (its end if none)."""
        brackets = byte_positions(self.data, b"{[")
        rows = self.line_of(brackets)
        inner = brackets != self.starts[rows]
        rows, brackets = rows[inner], brackets[inner]
        first = self.ends.copy()
        unique_rows, where = np.unique(rows, return_index=True)
        first[unique_rows] = brackets[where]
        return first

    def holds_backslash(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Per line, whether its bytes start..end (one span per line; start -1: none) hold a
        backslash, that is whether the string written there has an escape."""
        backslashes = byte_positions(self.data, b"\\")
        rows = self.line_of(backslashes)
        inside = (start[rows] >= 0) & (backslashes > start[rows]) & (backslashes < end[rows])
        found = np.zeros(len(self), bool)
        found[rows[inside]] = True
        return found

    def line_of(self, offsets: np.ndarray) -> np.ndarray:
        """The line holding each offset."""
        return np.searchsorted(self.starts, offsets, side="right") - 1

    def windows(self, starts: np.ndarray, ends: np.ndarray) -> pa.LargeStringArray:
        """Windows buffer[starts[i]:ends[i]] at the even positions of a string array laid over the
        buffer (ordered, not overlapping; the odd ones are the bytes between). No copy."""
        if not len(starts):
            return pa.array([], pa.large_string())
        offsets = np.empty(2 * len(starts), np.int64)
        offsets[0::2], offsets[1::2] = starts, ends
        return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), self.buffer)

    def find(self, starts: np.ndarray, ends: np.ndarray, pattern: str) -> np.ndarray:
        """Offset of the first match of RE2 `pattern` in each window, from its start; -1: none."""
        return pc.find_substring_regex(self.windows(starts, ends), pattern).to_numpy()[0::2]

    def matches(self, starts: np.ndarray, ends: np.ndarray, pattern: str) -> np.ndarray:
        """Whether each window matches RE2 `pattern`."""
        return pc.match_substring_regex(self.windows(starts, ends), pattern).to_numpy(False)[0::2]


def byte_positions(data: np.ndarray, chars: bytes) -> np.ndarray:
    """Ascending offsets (int64) of the bytes of `data` equal to any of `chars`."""
    mask, extra = _scratch(len(data), 0), _scratch(len(data), 1)
    np.equal(data, chars[0], out=mask)
    for char in chars[1:]:
        mask |= np.equal(data, char, out=extra)
    return np.flatnonzero(mask)


def _scratch(size: int, slot: int) -> np.ndarray:
    """A boolean array of `size` kept by this thread for compares: a fresh one per compare cost
    more in page faults (an 8 MB chunk: 2,048 pages) than the compare itself."""
    masks = _local.__dict__.setdefault("masks", {})
    if slot not in masks or len(masks[slot]) < size:
        masks[slot] = np.empty(size, bool)
    return masks[slot][:size]
