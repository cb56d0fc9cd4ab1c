"""Text features kept between runs, so a new day vectorises only the texts no earlier run did.

The label-issue gate predicts every distinct text of the training set with the text model
(hashed word 1-2 grams, `labeling.text_model`); vectorising them was most of a new day's
training-set build past the model's fits (174,646 distinct texts of a 1M-ticket history's window:
3.5 to 5 CPU s, nearly all of them vectorised by the build before). Each distinct text's hashed
counts are kept in the warehouse, keyed by the 128-bit hash of the text `language_cache` uses (no
text is stored), in a file named for scikit-learn's version and the vectoriser's settings, so
another vectoriser never reads it. A row is rebuilt from its counts as the model builds it
(`text_model.features_from_counts`), so the model sees the same numbers, bit for bit. Each run
writes back the counts of the texts it used only: texts past retention leave the cache with their
rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
import sklearn

from pipelines.lib.files import streamed_parquet
from pipelines.lib.labeling.text_model import N_FEATURES, VECTORISER, features_from_counts, hashed_counts
from pipelines.lib.quality.language_cache import text_keys

#: the type counts are kept as: a count above it (one word 65,536 times in a text) is not cached
COUNT_TYPE = np.uint16


def cache_file(folder: Path) -> Path:
    """The counts cache of this scikit-learn and vectoriser, in `folder`."""
    fingerprint = hashlib.sha256(f"{sklearn.__version__}|{VECTORISER}".encode()).hexdigest()[:16]
    return folder / f"features-{fingerprint}.parquet"


class FeatureCache:
    """`text_model.Features` from the counts earlier runs kept: `cache(texts)` is the features of
    the distinct `texts` (as `text_model._features`), vectorising only those the cache lacks;
    `write()` keeps the counts of every text asked for since the cache was read, and only those."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = cache_file(folder)
        self.keys, self.counts = _read(self.path)
        self.rows = pd.Series(np.arange(len(self.keys)), index=pd.MultiIndex.from_frame(self.keys))
        # What `write` keeps: rows of the cache asked for, and the texts it lacked (their counts
        # as kept, not as float64: a cache of a few hundred thousand texts is tens of MB).
        self.asked: list[np.ndarray] = []
        self.new_keys: list[pd.DataFrame] = []
        self.new_counts: list[sp.csr_matrix] = []

    def __call__(self, texts: pd.Index) -> sp.csr_matrix:
        keys = text_keys(pd.Series(texts, dtype="str"))
        rows = self.rows.reindex(pd.MultiIndex.from_frame(keys)).to_numpy(dtype="float64")
        hit = ~np.isnan(rows)
        cached = rows[hit].astype(np.int64)
        fresh = hashed_counts(texts[~hit])
        self.asked.append(cached)
        fits = fresh.max(axis=1).toarray().ravel() <= np.iinfo(COUNT_TYPE).max if fresh.shape[0] else np.zeros(0, bool)
        self.new_keys.append(keys[~hit][fits])
        self.new_counts.append(fresh[np.flatnonzero(fits)].astype(COUNT_TYPE))
        # Hits first, then misses: put each row back at its text's place.
        place = np.empty(len(texts), dtype=np.int64)
        place[np.concatenate([np.flatnonzero(hit), np.flatnonzero(~hit)])] = np.arange(len(texts))
        counts = sp.vstack([self.counts[cached].astype(np.float64), fresh], format="csr")[place]
        return features_from_counts(counts)

    def write(self) -> None:
        """Keep the counts of the texts asked for (each once) in place of the cache's, or no cache
        when none was asked for; other vectorisers' caches are removed. A text with a count above
        `COUNT_TYPE`'s is not kept (it is vectorised again when asked for)."""
        for stale in self.folder.glob("features-*.parquet"):  # another vectoriser's counts are not read again
            if stale != self.path:
                stale.unlink()
        if not self.asked:
            self.path.unlink(missing_ok=True)
            return
        asked = np.concatenate(self.asked)
        fresh = sp.vstack(self.new_counts, format="csr")
        keys = pd.concat([self.keys.iloc[asked], *self.new_keys], ignore_index=True)
        kept = np.flatnonzero(~keys.duplicated().to_numpy())
        self.folder.mkdir(parents=True, exist_ok=True)
        # Written a part at a time: only a part's rows are copied out of the cache at once.
        with streamed_parquet(self.path) as stream:
            for start in range(0, max(len(kept), 1), WRITTEN_AT_ONCE):
                rows = kept[start : start + WRITTEN_AT_ONCE]
                from_cache = rows < len(asked)
                counts = sp.vstack([self.counts[asked[rows[from_cache]]], fresh[rows[~from_cache] - len(asked)]])
                stream.write(_frame(keys.iloc[rows].reset_index(drop=True), counts.tocsr()))


#: texts whose counts are written at a time
WRITTEN_AT_ONCE = 100_000


def _frame(keys: pd.DataFrame, counts: sp.csr_matrix) -> pd.DataFrame:
    """Rows of the cache's file: the texts' keys, and their counts' columns and values as lists
    (Arrow-backed: they go to Parquet as they are, no Python object per text)."""
    offsets = pa.array(counts.indptr.astype(np.int32, copy=False))
    lists = {
        "columns": pa.ListArray.from_arrays(offsets, pa.array(counts.indices.astype(np.int32, copy=False))),
        "counts": pa.ListArray.from_arrays(offsets, pa.array(counts.data.astype(COUNT_TYPE, copy=False))),
    }
    return keys.assign(**{name: pd.arrays.ArrowExtensionArray(array) for name, array in lists.items()})


def _read(path: Path) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """The cache's keys (`h1`, `h2`) and counts (one row each, as kept), or none."""
    if not path.is_file():
        return _empty_keys(), _empty_counts()
    table = pq.read_table(path)
    keys = pd.DataFrame({"h1": table.column("h1").to_numpy(), "h2": table.column("h2").to_numpy()})
    # Each list column in one piece, its parts let go of as soon as it is joined (one part a row group).
    columns = table.column("columns").combine_chunks()
    table = table.drop_columns(["columns"])
    counts = table.column("counts").combine_chunks()
    del table
    indptr = columns.offsets.to_numpy()
    matrix = sp.csr_matrix((counts.values.to_numpy(), columns.values.to_numpy(), indptr), shape=(len(keys), N_FEATURES))
    return keys, matrix


def _empty_keys() -> pd.DataFrame:
    return pd.DataFrame({"h1": np.empty(0, np.uint64), "h2": np.empty(0, np.uint64)})


def _empty_counts() -> sp.csr_matrix:
    return sp.csr_matrix((0, N_FEATURES), dtype=COUNT_TYPE)
