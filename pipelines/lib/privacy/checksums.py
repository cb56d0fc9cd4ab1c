"""Check digits of many candidate strings at once (numpy over Arrow buffers, no per-row Python).

Each function takes an Arrow string array of candidates already reduced to their characters
(no spaces or dashes) and returns a boolean mask. They agree with python-stdnum's checks (the
tests compare them on random and real-shaped values); redaction uses them for the candidates
that stand alone in their row and falls back to stdnum for the rest.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _chars(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, start offset, length) of each value of a string array without nulls."""
    values = values.cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    data = (
        np.frombuffer(values.buffers()[2], dtype=np.uint8) if values.buffers()[2] is not None else np.zeros(1, np.uint8)
    )
    return data, offsets[:-1], np.diff(offsets)


def luhn_valid(digits: pa.Array) -> np.ndarray:
    """Luhn (mod 10) check of strings of ASCII digits; False for any other character."""
    data, starts, lengths = _chars(digits)
    total = np.zeros(len(lengths), dtype=np.int64)
    ok = lengths > 0
    for k in range(int(lengths.max(initial=0))):  # k-th digit from the right, all rows at once
        present = k < lengths
        d = data[np.where(present, starts + lengths - 1 - k, 0)].astype(np.int64) - 48
        ok &= ~present | ((d >= 0) & (d <= 9))
        if k % 2:
            d = np.where(d * 2 > 9, d * 2 - 9, d * 2)
        total += np.where(present, d, 0)
    return ok & (total % 10 == 0)


def iban_valid(compact: pa.Array) -> np.ndarray:
    """ISO 7064 mod 97-10 check of IBANs without spaces (upper-case letters and digits)."""
    data, starts, lengths = _chars(compact)
    remainder = np.zeros(len(lengths), dtype=np.int64)
    ok = lengths >= 5
    for k in range(int(lengths.max(initial=0))):
        present = (k < lengths) & (lengths >= 5)  # shorter values are invalid and have no rearrangement
        # The check reads the IBAN from its 5th character on, then its first four.
        source = np.where(k < lengths - 4, k + 4, k - (lengths - 4))
        c = data[np.where(present, starts + source, 0)].astype(np.int64)
        digit, letter = (c >= 48) & (c <= 57), (c >= 65) & (c <= 90)
        ok &= ~present | digit | letter
        value = np.where(digit, c - 48, c - 55)  # A=10 ... Z=35: two digits
        scaled = np.where(digit, remainder * 10, remainder * 100) + value
        remainder = np.where(present, scaled % 97, remainder)
    return ok & (remainder == 1)
