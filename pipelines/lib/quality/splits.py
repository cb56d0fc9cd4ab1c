"""Deterministic, group-aware, stratified train/validation/test split.

Each example's text (normalised: lower-cased, whitespace collapsed) gets a seeded hash; inside
every stratum examples are ordered by that hash and cut at the declared shares. Identical texts
share a hash, hence a position, hence a split -- across strata too, since every copy takes the
smallest position of any copy: a duplicate can never leak from train into test. The same rows
always get the same splits for the same seed. A position is a rank, so when a later version adds
examples to a stratum only those near a cut point can change split, into the neighbouring one:
one new day on a 1M-ticket history moved 35 of 29,770 kept examples (13 from validation into
train), none between train and test. Exact shares in every stratum, small ones too, are what the
rank buys; a threshold on the hash alone would never move an example but would miss the shares
of small strata.

The keys are computed in RE2 over whole columns (`pyarrow.compute`). They must stay what they
were when Python's `re` computed them row by row (a key that changed would move a text to another
split), so the classes spell out what Python's `\\s`, `\\d` and `\\w` mean on `str`: Unicode,
where RE2's own are ASCII.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.spec import SplitSpec

SPLITS = ("train", "validation", "test")

# Python's classes on `str`, spelled for RE2 (they match the same code points as Python 3.11's for
# every character its Unicode 14 assigns: tests/test_text_keys.py compares them all).
#: `\s` but the space itself: ASCII whitespace, the information separators \x1c-\x1f, NEL and
#: the Unicode separators (Zs, Zl, Zp)
OTHER_SPACE = r"\t-\r\x{1C}-\x{1F}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
#: `\s`
SPACE = rf" {OTHER_SPACE}"
#: `\d`: a decimal digit of any script (full-width, Arabic-Indic, Devanagari ...)
DIGIT = r"\p{Nd}"
#: `\w`: letters and numbers of any script and `_` (not combining marks, as in Python)
WORD = r"\p{L}\p{N}_"
# Whitespace that collapsing changes: a run of two or more, or one that is not the space. RE2
# through Arrow pays for every match, and most runs are one space already (4x faster than `\s+`).
_SPACE_TO_COLLAPSE = rf"[{SPACE}]{{2,}}|[{OTHER_SPACE}]"


def joined_text(frame: pd.DataFrame, columns: list[str], separator: str = " | ") -> pd.Series:
    """The text columns of each row joined into one string (vectorised concatenation)."""
    parts = [frame[c].fillna("").astype("str") for c in columns]
    return functools.reduce(lambda left, right: left + separator + right, parts)


#: rows whose key is computed at a time: each step of a key makes a new copy of its text, and
#: only a chunk's copies are held at once, not the column's
KEY_ROWS = 65_536


def normalised_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The columns joined, lower-cased, with runs of whitespace collapsed: the duplicate key."""
    chunks = [
        _collapse_spaces(pc.utf8_lower(pa.array(joined_text(frame.iloc[start : start + KEY_ROWS], columns))))
        for start in range(0, len(frame), KEY_ROWS)
    ]
    return _series(chunks, frame.index, name=joined_text(frame.iloc[:0], columns).name)


def assign_splits(
    frame: pd.DataFrame, key_columns: list[str], split: SplitSpec, strata: list[str], key: pd.Series | None = None
) -> pd.Series:
    """The split name of every row, stratified by the `strata` columns (`DatasetSpec.strata`),
    grouped by identical text of the `key_columns`. `key`: their `normalised_text`, when the
    caller has it already (aligned with `frame`)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    key = normalised_text(frame, key_columns) if key is None else key
    order_key = pd.Series(text_hash(key, f"{split.seed:016d}"[-16:]), index=key.index)
    groups = [frame[c] for c in strata]
    rank = order_key.groupby(groups, sort=False).rank(method="min")  # identical texts tie
    size = order_key.groupby(groups, sort=False).transform("size")
    position = (rank - 1) / size  # 0 <= position < 1 inside the stratum
    # The same text under another label or language sits in another stratum: give every copy the
    # smallest position any copy has, so all copies land in one split and nothing leaks.
    position = position.groupby(pd.factorize(key)[0]).transform("min")  # codes: no Python string per row
    labels = np.where(
        position < split.train, "train", np.where(position < split.train + split.validation, "validation", "test")
    )
    return pd.Series(labels, index=frame.index, dtype="str")


def text_hash(text: pd.Series, hash_key: str) -> np.ndarray:
    """`pd.util.hash_pandas_object(text, index=False, hash_key=hash_key)` as uint64s, hashed
    `KEY_ROWS` rows at a time: pandas makes a Python string of each distinct value it hashes, and
    only a chunk's are held at once (each value's hash is its own, so the hashes are the same)."""
    chunks = [
        pd.util.hash_pandas_object(text.iloc[start : start + KEY_ROWS], index=False, hash_key=hash_key).to_numpy()
        for start in range(0, len(text), KEY_ROWS)
    ]
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.uint64)


def fold_numbers(key: pd.Series) -> pd.Series:
    """A duplicate key with numbers and punctuation folded: texts that differ only in an order
    number, a date or a comma share it (a cheap, vectorised near-duplicate test)."""
    text = pa.chunked_array([pa.array(key.astype("str"))]) if len(key) else pa.chunked_array([], pa.large_string())
    chunks = [_folded(text.slice(start, KEY_ROWS)) for start in range(0, len(key), KEY_ROWS)]
    return _series(chunks, key.index, name=key.name)


def _folded(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """`fold_numbers` of a chunk of keys."""
    folded = pc.replace_substring_regex(text, rf"[{DIGIT}]+", "0")
    return _collapse_spaces(pc.replace_substring_regex(folded, rf"[^{WORD}{SPACE}<>]+", ""))


def _collapse_spaces(text: pa.Array) -> pa.Array:
    """Runs of whitespace as one space, none at either end (`str.strip`'s whitespace, as pandas strips)."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _SPACE_TO_COLLAPSE, " "))


def _series(chunks: list, index: pd.Index, name: object) -> pd.Series:
    """Text computed a chunk at a time as one `str` Series (its chunks kept, not copied into one)."""
    pieces = [chunk for part in chunks for chunk in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])]
    text = pa.chunked_array(pieces, type=pieces[0].type if pieces else pa.large_string())
    return pd.Series(pd.array(text, dtype="str"), index=index, name=name)
