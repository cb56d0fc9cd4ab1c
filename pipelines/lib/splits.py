"""Deterministic stratified train/validation/test split.

Each example gets a seeded hash of its id; inside every stratum examples are ordered by that hash
and cut at the declared shares. The same id always lands in the same split for the same seed,
so a later version never moves a test example into train.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.lib.spec import SplitSpec

SPLITS = ("train", "validation", "test")


def assign_splits(frame: pd.DataFrame, id_column: str, split: SplitSpec) -> pd.Series:
    """The split name of every row, stratified by `split.stratify_by`."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    order_key = pd.util.hash_pandas_object(frame[id_column], index=False, hash_key=f"{split.seed:016d}"[-16:])
    rank = order_key.groupby([frame[c] for c in split.stratify_by], sort=False).rank(method="first")
    size = frame.groupby(split.stratify_by, sort=False)[id_column].transform("size")
    position = (rank - 1) / size  # 0 <= position < 1 inside the stratum
    labels = np.where(
        position < split.train, "train", np.where(position < split.train + split.validation, "validation", "test")
    )
    return pd.Series(labels, index=frame.index, dtype="str")
