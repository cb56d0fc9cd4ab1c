"""Deterministic, group-aware, stratified train/validation/test split.

Each example's text (normalised: lower-cased, whitespace collapsed) gets a seeded hash; inside
every stratum examples are ordered by that hash and cut at the declared shares. Identical texts
share a hash, hence a position, hence a split -- across strata too, since every copy takes the
smallest position of any copy: a duplicate can never leak from train into test. The same text
always lands in the same split for the same seed, so a later version does not move a test
example into train.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from pipelines.lib.spec import SplitSpec

SPLITS = ("train", "validation", "test")


def joined_text(frame: pd.DataFrame, columns: list[str], separator: str = " | ") -> pd.Series:
    """The text columns of each row joined into one string (vectorised concatenation)."""
    parts = [frame[c].fillna("").astype("str") for c in columns]
    return functools.reduce(lambda left, right: left + separator + right, parts)


def normalised_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The columns joined, lower-cased, with runs of whitespace collapsed: the duplicate key."""
    return joined_text(frame, columns).str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


def assign_splits(frame: pd.DataFrame, key_columns: list[str], split: SplitSpec, strata: list[str]) -> pd.Series:
    """The split name of every row, stratified by the `strata` columns (`DatasetSpec.strata`),
    grouped by identical text of the `key_columns`."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    key = normalised_text(frame, key_columns)
    order_key = pd.util.hash_pandas_object(key, index=False, hash_key=f"{split.seed:016d}"[-16:])
    groups = [frame[c] for c in strata]
    rank = order_key.groupby(groups, sort=False).rank(method="min")  # identical texts tie
    size = order_key.groupby(groups, sort=False).transform("size")
    position = (rank - 1) / size  # 0 <= position < 1 inside the stratum
    # The same text under another label or language sits in another stratum: give every copy the
    # smallest position any copy has, so all copies land in one split and nothing leaks.
    position = position.groupby(key.to_numpy()).transform("min")
    labels = np.where(
        position < split.train, "train", np.where(position < split.train + split.validation, "validation", "test")
    )
    return pd.Series(labels, index=frame.index, dtype="str")


def fold_numbers(key: pd.Series) -> pd.Series:
    """A duplicate key with numbers and punctuation folded: texts that differ only in an order
    number, a date or a comma share it (a cheap, vectorised near-duplicate test)."""
    folded = key.str.replace(r"\d+", "0", regex=True)
    return folded.str.replace(r"[^\w\s<>]", "", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
