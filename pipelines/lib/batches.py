"""Steps that read and write parquet a bounded batch of rows at a time, so that their memory is
bounded by a batch (a day, or `BATCH_ROWS`), not by the history.

- `day_batches` groups the stored days into batches of at most `BATCH_ROWS` rows (a bigger day
  is a batch of its own);
- `SortedBatches` sorts each batch and tells whether the batches, written one after another, are
  in the order one sort of them all gives;
- `SeenValues` tells which values of a batch earlier batches held, without holding their rows;
- `BatchedContract` validates a pandera schema batch by batch and counts the failures as one
  validation of every row would (uniqueness across batches included), without holding the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.lib.membership import is_in
from pipelines.lib.reports import ContractResult

#: rows a batch holds at most, unless one day alone holds more
BATCH_ROWS = 100_000
#: pandera's name of a column's `unique=True` check in its failure cases
UNIQUENESS = "field_uniqueness"


class OutOfOrderError(ValueError):
    """A batch starts before the batch written before it ends: the batches, each sorted, are not
    in the global order."""


def day_batches(files: list[Path], rows: int | None = None) -> Iterator[list[Path]]:
    """The day files in their order, grouped: consecutive days of at most `rows` rows together
    (default `BATCH_ROWS`), a day holding more alone. Reads only each file's footer."""
    limit = BATCH_ROWS if rows is None else rows
    group: list[Path] = []
    held = 0
    for path in files:
        n = pq.ParquetFile(path).metadata.num_rows
        if group and held + n > limit:
            yield group
            group, held = [], 0
        group.append(path)
        held += n
    if group:
        yield group


def parquet_batches(path: Path, rows: int | None = None, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of one parquet file (its `columns`, default all), `rows` at a time (default
    `BATCH_ROWS`), with the types pandas gives the whole file."""
    source = pq.ParquetFile(path)
    if not source.metadata.num_rows:  # no row group: one empty frame, of the file's columns
        yield source.schema_arrow.empty_table().select(columns or source.schema_arrow.names).to_pandas()
        return
    for batch in source.iter_batches(batch_size=BATCH_ROWS if rows is None else rows, columns=columns):
        yield batch.to_pandas()


class SortedBatches:
    """Sorts batches by `columns` (stably) and checks, batch after batch, that each starts at or
    after the end of the one before: then writing them one after another gives the order of one
    stable sort of them all. A missing value at a batch's edge is sorted last within its batch
    only, so it counts as out of order when another batch follows."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self._started = False
        self._last: tuple | None = None

    def sort(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` sorted, on a fresh index. Raises OutOfOrderError when its first row sorts
        before the last row of the batches sorted so far."""
        frame = frame.sort_values(self.columns, kind="stable").reset_index(drop=True)
        if frame.empty:
            return frame
        first, last = self._edge(frame, 0), self._edge(frame, len(frame) - 1)
        if self._started and (first is None or self._last is None or first < self._last):
            raise OutOfOrderError(f"a batch of {len(frame)} rows starts before the batch before it ends")
        self._started, self._last = True, last
        return frame

    def _edge(self, frame: pd.DataFrame, position: int) -> tuple | None:
        key = tuple(frame[c].iloc[position] for c in self.columns)
        return None if any(pd.isna(v) for v in key) else key


class BatchedContract:
    """A pandera schema validated batch by batch, summarised as `schemas.validate` summarises one
    validation of all the rows: failing rows counted per `column / check`, a failure of the frame's
    shape (a type, a column missing or extra) once, and a `unique` column's duplicates across
    batches as well as within one (found from a 64-bit hash of each value, confirmed on the values
    themselves). Never holds a value beyond the batch, nor echoes one."""

    def __init__(self, schema: pa.DataFrameSchema) -> None:
        self.name = schema.name or "schema"
        self.unique = [name for name, column in schema.columns.items() if column.unique]
        self._schema = schema
        for name in self.unique:
            self._schema = self._schema.update_column(name, unique=False)
        self._rows: Counter[str] = Counter()
        self._shape: dict[tuple[str, str], None] = {}
        self._hashes: dict[str, list[np.ndarray]] = {name: [] for name in self.unique}

    def add(self, frame: pd.DataFrame) -> None:
        """Validate one batch (lazily) and count its failures."""
        for name in self.unique:
            if name in frame.columns:
                self._hashes[name].append(_hashed(frame[name]))
        try:
            self._schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases
            where = cases["column"].astype("str").fillna("<frame>") + " / " + cases["check"].astype("str")
            shape = cases["index"].isna().to_numpy()
            self._rows.update(where[~shape].tolist())
            for key in zip(where[shape], cases.loc[shape, "failure_case"].astype("str"), strict=True):
                self._shape.setdefault(key)

    def result(self, values: Callable[[str], Iterable[pd.Series]]) -> ContractResult:
        """The contract over every batch added. `values(column)` reads a `unique` column again,
        batch by batch, when two of its hashes are equal (to count only true duplicates)."""
        found = Counter[str]()
        for where, _ in self._shape:
            found[where] += 1
        found.update(self._rows)
        for name in self.unique:
            duplicated = _duplicates(self._hashes[name], partial(values, name))
            if duplicated:
                found[f"{name} / {UNIQUENESS}"] += duplicated
        if not found:
            return ContractResult(schema=self.name, passed=True)
        # Most first, as `value_counts` ranks them (ties in the order they were found).
        ranked = pd.Series(found, dtype="int64").sort_values(ascending=False)
        return ContractResult(schema=self.name, passed=False, failures={str(k): int(n) for k, n in ranked.items()})


def _hashed(values: pd.Series) -> np.ndarray:
    """64-bit hashes of the present values (pandera's uniqueness ignores missing ones)."""
    present = values.dropna()
    return pd.util.hash_pandas_object(present.astype("str"), index=False).to_numpy(dtype=np.uint64)


def _duplicates(hashes: list[np.ndarray], values: Callable[[], Iterable[pd.Series]]) -> int:
    """Rows whose value another row holds too (every copy counted, as pandera reports them)."""
    if not hashes:
        return 0
    ordered = np.sort(np.concatenate(hashes))
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return 0
    # Equal hashes, probably equal values: only the candidates' values are read again and compared.
    candidates = np.unique(repeated)
    kept = []
    for batch in values():
        present = batch.dropna().astype("str")
        kept.append(present[np.isin(_hashed(present), candidates)])
    found = pd.concat(kept, ignore_index=True) if kept else pd.Series([], dtype="str")
    return int(found.duplicated(keep=False).sum())


def counted_batches(counts: list[int], rows: int | None = None) -> Iterator[range]:
    """Positions of items holding `counts` rows each, grouped in their order as `day_batches`
    groups days: consecutive items of at most `rows` rows together (default `BATCH_ROWS`), an
    item holding more alone."""
    limit = BATCH_ROWS if rows is None else rows
    start, held = 0, 0
    for position, n in enumerate(counts):
        if position > start and held + n > limit:
            yield range(start, position)
            start, held = position, 0
        held += n
    if start < len(counts):
        yield range(start, len(counts))


class SeenValues:
    """The values of a column seen in earlier batches, to tell which values of a batch one of them
    held, as `membership.is_in` against all of them would: 64-bit hashes of the values (sorted, to
    look up by bisection) beside the values themselves; equal hashes are confirmed on the values."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._batches: list[tuple[np.ndarray, pd.Series]] = []

    def add(self, values: pd.Series) -> None:
        """Remember a batch's values (missing ones too)."""
        hashes = text_hashes(values)
        # Two sorted runs: a stable sort merges them in one pass.
        self._sorted = np.sort(np.concatenate([self._sorted, np.sort(hashes)]), kind="stable")
        self._batches.append((hashes, values.reset_index(drop=True)))

    def held(self, values: pd.Series) -> pd.Series:
        """Whether each value was seen in an earlier batch: a boolean Series aligned with `values`."""
        found = np.zeros(len(values), dtype=bool)
        if len(self._sorted) and len(values):
            hashes = text_hashes(values)
            at = np.minimum(np.searchsorted(self._sorted, hashes), len(self._sorted) - 1)
            maybe = self._sorted[at] == hashes
            if maybe.any():
                candidates = pyarrow.array(np.unique(hashes[maybe]))
                earlier = [
                    seen[np.asarray(pc.is_in(pyarrow.array(h), value_set=candidates), dtype=bool)]
                    for h, seen in self._batches
                ]
                found[maybe] = is_in(values[maybe], pd.concat(earlier, ignore_index=True)).to_numpy(dtype=bool)
        return pd.Series(found, index=values.index, name=values.name)


def text_hashes(values: pd.Series) -> np.ndarray:
    """64-bit hashes of every value as text (a missing value has one too), in their order."""
    return pd.util.hash_pandas_object(values.astype("str"), index=False).to_numpy(dtype=np.uint64)
