"""Where a top-level field's value sits in each raw line of a JSONL export, as byte offsets.

A JSONL export is rewritten by splicing new values into its lines, so every byte of what is not
rewritten (ids as written, big integers, key order, escapes) stays as it was. Positions come
from numpy over the chunk's bytes (jsonl_lines): a key is its quoted name followed by a colon
(inside a string its quotes would be escaped), found among the chunk's quotes; a string value
ends at the next quote not escaped by an odd run of backslashes. This costs a few
passes over the bytes per chunk, where an RE2 scan per line and field cost a few hundred
nanoseconds per line before reading a byte.

A key may belong to a nested object. Lines holding a `{` or `[` before the key are checked with
RE2 (a DFA over the bytes before it: balanced brackets, strings whole, up to NESTING levels); if
that key is not at the top level, the line's next one is tried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from pipelines.lib.privacy.exports.jsonl_lines import Lines

#: levels of objects and arrays the top-level check follows (deeper lines are refused, never guessed)
NESTING = 8
_STRING = r'"(?:[^"\\]|\\.)*"'
_PLAIN = r'[^"{}\[\]]'  # anything outside strings and brackets: numbers, literals, , : and spaces
_SPACE = np.frombuffer(b" \t\r", np.uint8)  # JSON whitespace within a line
_NUMBER_START = np.frombuffer(b"-0123456789", np.uint8)


def _balanced(depth: int, deepest: str) -> str:
    """Zero or more JSON tokens with balanced brackets up to `depth` levels; `deepest` is what may
    stand at the bottom level (nothing more, or any bracket for the "too deep to tell" test)."""
    inner = rf"(?:{_STRING}|{_PLAIN}{deepest})"
    for _ in range(depth):
        inner = rf"(?:{_STRING}|{_PLAIN}|\{{{inner}*\}}|\[{inner}*\])"
    return f"{inner}*"


#: what the "or deeper" patterns allow at the bottom level: a bracket they can no longer follow
_ANY_BRACKET = r"|[{}\[\]]"
#: the bytes before a top-level key: `{`, then whole members and a comma
_BEFORE_TOP_KEY = rf"^\s*\{{{_balanced(NESTING, '')}$"
_BEFORE_TOP_KEY_OR_DEEPER = rf"^\s*\{{{_balanced(NESTING, _ANY_BRACKET)}$"
#: the bytes from a top-level value to a later top-level key: balanced, strings whole
_BETWEEN_TOP_KEYS = rf"^{_balanced(NESTING, '')}$"
_BETWEEN_TOP_KEYS_OR_DEEPER = rf"^{_balanced(NESTING, _ANY_BRACKET)}$"


class JsonLayoutError(ValueError):
    """A line whose field cannot be located safely; `line` is its index in the chunk."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Spans:
    """Where one field's value is in each line: byte offsets into the chunk's buffer.

    `start` is the value's first byte (a string's opening quote), -1 where the line has no such
    top-level field; `end` is one past its last byte for strings and numbers (else `start`);
    `kind` is the value's first byte (ord): `"` string, `n` null, `t`/`f`, `{`/`[`, else a number."""

    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray


def locate(lines: Lines, field: str) -> Spans:
    """The value of top-level `field` in every line; raises JsonLayoutError for a line where it
    cannot be told safely (an unterminated string, nesting deeper than NESTING)."""
    keys, values, key_quotes = _keys(lines, json.dumps(field, ensure_ascii=False).encode())
    chosen = _top_level(lines, keys)
    present = np.flatnonzero(chosen >= 0)
    start = np.full(len(lines), -1, np.int64)
    start[present] = values[chosen[present]]
    kind = np.zeros(len(lines), np.uint8)
    kind[present] = lines.data[np.minimum(start[present], len(lines.data) - 1)]
    end = start.copy()
    strings = present[kind[present] == ord('"')]
    # A string value's opening quote is the third quote from its key's: the key's own two, then it.
    opening = np.minimum(key_quotes[chosen[strings]] + 2, len(lines.quotes) - 1)
    end[strings] = _string_ends(
        lines, strings, start[strings], np.where(lines.quotes[opening] == start[strings], opening + 1, -1)
    )
    numbers = present[np.isin(kind[present], _NUMBER_START)]
    end[numbers] = start[numbers] + lines.find(start[numbers], lines.ends[numbers], r"[\s,}\]]")
    return Spans(start, end, kind)


def refuse_repeated(lines: Lines, field: str, spans: Spans) -> None:
    """Raise JsonLayoutError for a line that gives `field` twice at the top level: the second
    value would be left as it is, and JSON readers keep the last one."""
    keys, _, _ = _keys(lines, json.dumps(field, ensure_ascii=False).encode())
    rows = lines.line_of(keys)
    after = np.maximum(spans.end, spans.start + 1)[rows]
    later = (spans.start[rows] >= 0) & (keys >= after)
    keys, rows, after = keys[later], rows[later], after[later]
    _, first, line = np.unique(rows, return_index=True, return_inverse=True)
    rank = np.arange(len(rows)) - first[line]  # 0 for a line's first later key, 1 for its second...
    for nth in range(int(rank.max()) + 1 if len(rank) else 0):  # windows of one call must not overlap
        pick = rank == nth
        top = lines.matches(after[pick], keys[pick], _BETWEEN_TOP_KEYS)
        unsure = ~top & lines.matches(after[pick], keys[pick], _BETWEEN_TOP_KEYS_OR_DEEPER)
        if unsure.any():
            raise JsonLayoutError(
                int(rows[pick][unsure][0]), f"objects nested more than {NESTING} levels around the field"
            )
        if top.any():
            raise JsonLayoutError(int(rows[pick][top][0]), "the field is given twice")


def _keys(lines: Lines, key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets of every occurrence of `key` (a JSON string, quotes included) followed by a colon,
    of the first byte of the value after each, and the index in `lines.quotes` of each key's
    opening quote."""
    data = lines.data
    index = np.flatnonzero(lines.after_quotes == key[1])  # the first byte narrows them most
    at = lines.quotes[index]
    for i in range(2, len(key)):
        inside = at + i < len(data)
        at, index = at[inside], index[inside]
        same = data[at + i] == key[i]
        at, index = at[same], index[same]
    colon = _skip_space(data, at + len(key))
    is_key = colon < len(data)
    is_key[is_key] = data[colon[is_key]] == ord(":")
    return at[is_key], _skip_space(data, colon[is_key] + 1), index[is_key]


def _skip_space(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Each offset moved past the spaces, tabs and carriage returns it points at."""
    at = at.copy()
    todo = np.arange(len(at))
    while len(todo):
        todo = todo[at[todo] < len(data)]
        todo = todo[np.isin(data[at[todo]], _SPACE)]
        at[todo] += 1
    return at


def _top_level(lines: Lines, keys: np.ndarray) -> np.ndarray:
    """Per line, the index in `keys` of its first key at the top level, or -1."""
    rows = lines.line_of(keys)
    chosen = np.full(len(lines), -1, np.int64)
    unique_rows, first = np.unique(rows, return_index=True)
    chosen[unique_rows] = first
    present = np.flatnonzero(chosen >= 0)
    at = keys[chosen[present]]
    after_backslash = lines.data[np.maximum(at - 1, 0)] == ord("\\")
    doubtful = present[(lines.inner_bracket[present] < at) | after_backslash]
    while len(doubtful):
        at = keys[chosen[doubtful]]
        top = lines.matches(lines.starts[doubtful], at, _BEFORE_TOP_KEY)
        unsure = ~top & lines.matches(lines.starts[doubtful], at, _BEFORE_TOP_KEY_OR_DEEPER)
        if unsure.any():
            raise JsonLayoutError(
                int(doubtful[unsure][0]), f"objects nested more than {NESTING} levels before the field"
            )
        doubtful = doubtful[~top]
        following = chosen[doubtful] + 1
        same_line = following < len(keys)
        same_line[same_line] = rows[following[same_line]] == doubtful[same_line]
        chosen[doubtful] = np.where(same_line, following, -1)
        doubtful = doubtful[same_line]
    return chosen


def _string_ends(lines: Lines, rows: np.ndarray, opening: np.ndarray, following: np.ndarray) -> np.ndarray:
    """One past the closing quote of the strings that open at `opening` (one per row of `rows`);
    `following` is the index in `lines.quotes` of the quote after each opening one where known
    (-1: looked up)."""
    quotes, data = lines.quotes, lines.data
    unknown = np.flatnonzero(following < 0)
    following = following.copy()
    following[unknown] = np.searchsorted(quotes, opening[unknown], side="right")
    ends = np.empty(len(rows), np.int64)
    todo = np.arange(len(rows))
    while len(todo):
        unclosed = following[todo] >= len(quotes)
        unclosed[~unclosed] = quotes[following[todo[~unclosed]]] >= lines.ends[rows[todo[~unclosed]]]
        if unclosed.any():
            raise JsonLayoutError(int(rows[todo[unclosed][0]]), "a string that is never closed")
        at = quotes[following[todo]]
        escaped = _after_odd_backslashes(data, at)
        ends[todo[~escaped]] = at[~escaped] + 1
        todo = todo[escaped]
        following[todo] += 1
    return ends


def _after_odd_backslashes(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whether each offset follows an odd run of backslashes (so the byte there is escaped)."""
    odd = np.zeros(len(at), bool)
    before = at - 1
    todo = np.flatnonzero(data[before] == ord("\\"))
    while len(todo):
        odd[todo] ^= True
        before[todo] -= 1
        todo = todo[data[before[todo]] == ord("\\")]
    return odd
