"""The ASCII shadow that PII detection reads: any script's digits, dashes and spaces, and full-width
forms, seen as their ASCII equivalents.

Every character maps to exactly one character, so a span found in the shadow sits at the same
code-point offsets in the original text, where the value is then replaced. The table comes from
the Unicode database (`unicodedata`), not from a list of scripts: a phone number written in
Devanagari or Arabic-Indic digits, with an en dash or a no-break space, is a phone number.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.privacy.pii_spans import buffers

# Characters that carry no text of their own and sit inside copied numbers (zero-width spaces and
# joiners, soft hyphens, direction marks): they read as a space, which detection treats as a
# separator.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
# Every decimal digit, space and dash of Unicode lies below the CJK ideographs' plane.
_LAST_DIGIT_PLANE = 0x20000
_DASHES_OUTSIDE_PD = "\u2212\u2043\ufe63\uff0d"  # minus sign, hyphen bullet, small/full-width hyphen-minus


@functools.cache
def fold_table() -> dict[int, str]:
    """{code point: its one-character ASCII stand-in} for every character detection folds."""
    table: dict[int, str] = {0: " "}  # NUL is the engine's own marker: it must never reach it
    for code in range(0x80, _LAST_DIGIT_PLANE):
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Nd":
            table[code] = str(unicodedata.digit(char))
        elif category == "Zs" or char in _INVISIBLE or category in ("Zl", "Zp"):
            table[code] = " " if category != "Zl" and category != "Zp" else "\n"
        elif category == "Pd" or char in _DASHES_OUTSIDE_PD:
            table[code] = "-"
        elif 0xFF01 <= code <= 0xFF5E:  # full-width ASCII: ＠ ＋ （ ） Ａ-Ｚ ａ-ｚ
            table[code] = chr(code - 0xFEE0)
    return table


def _ranges(codes: list[int]) -> str:
    """RE2 character-class content for a sorted list of code points."""
    parts, start, last = [], codes[0], codes[0]
    for code in codes[1:] + [-1]:
        if code == last + 1:
            last = code
            continue
        parts.append(rf"\x{{{start:X}}}" if start == last else rf"\x{{{start:X}}}-\x{{{last:X}}}")
        start = last = code
    return "".join(parts)


@functools.cache
def exotic_pattern() -> str:
    """RE2 pattern matching rows whose shadow differs from the text where it matters: a folded
    digit, full-width form or NUL anywhere, or a folded space or dash next to an ASCII digit (a
    dash between words changes nothing detection looks at, and such rows are common)."""
    table = fold_table()
    strong = sorted(c for c, a in table.items() if a not in " -\n" or c == 0)
    weak = sorted(c for c, a in table.items() if a in " -\n" and c != 0)
    return rf"[{_ranges(strong)}]|[0-9][{_ranges(weak)}]|[{_ranges(weak)}][0-9]"


@functools.cache
def _translation() -> dict[int, str]:
    return fold_table()


def fold(values: list[str]) -> list[str]:
    """The shadow of each text (same length in code points)."""
    table = _translation()
    return [value.translate(table) for value in values]


def shadow(array: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(shadow of `array`, mask of the rows it changed); rows without a folded character are the
    same array values, untouched. `array` is a large string array without nulls."""
    # Only a row holding the first two bytes of a folded character (or a NUL) can hold one: the
    # pattern, with its long Unicode classes, runs on those rows alone. Most text outside ASCII
    # is letters (é is C3 A9; no folded character starts with C3), so most such rows skip it.
    data, offsets = buffers(array)
    data = data[offsets[0] : offsets[-1]]
    starts = np.flatnonzero(data >= 0xC2) if len(data) else np.zeros(0, np.int64)
    second = data[np.minimum(starts + 1, len(data) - 1)]
    at = starts[_folded_prefixes()[data[starts], second]]
    if len(data) and data.min() == 0:
        at = np.concatenate([at, np.flatnonzero(data == 0)])
    rows = np.unique(np.searchsorted(offsets, at + offsets[0], side="right") - 1)
    found = np.zeros(len(array), dtype=bool)
    if len(rows):
        found[rows] = pc.match_substring_regex(pc.take(array, rows), exotic_pattern()).to_numpy(zero_copy_only=False)
    exotic = pa.array(found)
    if not found.any():
        return array, exotic
    folded = pa.array(fold(pc.filter(array, exotic).to_pylist()), type=array.type)
    return pc.replace_with_mask(array, exotic, folded), exotic


@functools.cache
def _folded_prefixes() -> np.ndarray:
    """(256, 256) booleans: True at the first two UTF-8 bytes of every character `fold_table` folds."""
    table = np.zeros((256, 256), dtype=bool)
    for code in fold_table():
        encoded = chr(code).encode()
        if len(encoded) > 1:
            table[encoded[0], encoded[1]] = True
    return table
