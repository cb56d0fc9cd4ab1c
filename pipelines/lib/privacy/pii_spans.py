"""Candidate spans of the redaction engine and the cheap features the rules test before any
pattern: digit counts, first and tracked bytes, the bytes around each span, read from the Arrow
buffers with numpy (no string is built).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: characters of context the rules see before and after a span
LEFT_CHARS, RIGHT_CHARS = 32, 12
# Characters the rules' cheap tests ask about (`Rule.any_of`), one bit each.
_TRACKED = "@[({<:./- ,'"
_TRACKED_BITS = np.zeros(256, dtype=np.uint32)
for _bit, _char in enumerate(_TRACKED):
    _TRACKED_BITS[ord(_char)] = 1 << _bit


@dataclass(frozen=True)
class Spans:
    """Candidate spans and what surrounds them (all arrays of one length), plus the regions whose
    national phone numbers count."""

    text: pa.Array
    left: pa.Array
    right: pa.Array
    regions: tuple[str, ...]

    @functools.cached_property
    def lower_left(self) -> pa.Array:
        return pc.utf8_lower(self.left)

    @functools.cached_property
    def _bytes(self) -> tuple[np.ndarray, np.ndarray]:
        """(UTF-8 bytes, offsets) of the spans."""
        return buffers(self.text)

    @functools.cached_property
    def digit_count(self) -> np.ndarray:
        """ASCII digits per span, counted over the Arrow buffers at once."""
        data, offsets = self._bytes
        if not len(data):
            return np.zeros(len(offsets) - 1, dtype=np.int64)
        digit = ((data >= 48) & (data <= 57)).astype(np.int32)
        return np.add.reduceat(digit, np.minimum(offsets[:-1], len(data) - 1)) * (offsets[1:] > offsets[:-1])

    @functools.cached_property
    def _held(self) -> np.ndarray:
        """Per span, a bit per character of `_TRACKED` that it holds (one pass over the bytes)."""
        data, offsets = self._bytes
        if not len(data):
            return np.zeros(len(offsets) - 1, dtype=np.uint32)
        bits = _TRACKED_BITS[data]
        return np.bitwise_or.reduceat(bits, np.minimum(offsets[:-1], len(data) - 1)) * (offsets[1:] > offsets[:-1])

    def holds(self, chars: str) -> np.ndarray:
        """Whether each span holds any of the ASCII characters `chars` (each in `_TRACKED`)."""
        mask = sum(1 << _TRACKED.index(c) for c in chars)
        return (self._held & mask) > 0

    @functools.cached_property
    def first_byte(self) -> np.ndarray:
        data, offsets = self._bytes
        return np.where(offsets[1:] > offsets[:-1], data[np.minimum(offsets[:-1], max(len(data) - 1, 0))], 0)

    def head(self, rows: np.ndarray, n: int = 8) -> np.ndarray:
        """The first `n` digits of the spans at `rows` as numbers, -1 past the last: (rows, n),
        gathered from the Arrow buffers (no string is built)."""
        data, offsets = self._bytes
        starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
        owner = np.repeat(np.arange(len(rows)), lengths)
        before = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        chars = data[np.arange(int(lengths.sum())) - before[owner] + starts[owner]] if len(owner) else data[:0]
        digit = (chars >= 48) & (chars <= 57)
        running = np.cumsum(digit)
        rank = running - np.concatenate([[0], running])[before[owner]] - 1  # 0 for a span's first digit
        keep = digit & (rank < n)
        head = np.full((len(rows), n), -1, dtype=np.int64)
        head[owner[keep], rank[keep]] = chars[keep].astype(np.int64) - 48
        return head

    @functools.cached_property
    def left_last(self) -> np.ndarray:
        """The last byte of each left context (0 for none): a cheap test before a pattern."""
        data, offsets = buffers(self.left)
        return np.where(offsets[1:] > offsets[:-1], data[np.maximum(offsets[1:] - 1, 0)] if len(data) else 0, 0)

    @functools.cached_property
    def right_first(self) -> np.ndarray:
        """The first byte of each right context (0 for none)."""
        data, offsets = buffers(self.right)
        return np.where(
            offsets[1:] > offsets[:-1], data[np.minimum(offsets[:-1], max(len(data) - 1, 0))] if len(data) else 0, 0
        )

    def digits(self, rows: np.ndarray) -> pa.Array:
        """The digits of the spans at `rows`, nothing else."""
        return pc.replace_substring_regex(pc.take(self.text, rows), r"\D", "")

    @functools.cached_property
    def length(self) -> np.ndarray:
        return pc.utf8_length(self.text).to_numpy(zero_copy_only=False)


def buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, offsets) of a string array, without copying."""
    text = text.cast(pa.large_string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    return (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets
