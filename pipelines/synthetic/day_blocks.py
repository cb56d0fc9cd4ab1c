"""The synthetic export generated and landed a block of consecutive days at a time.

`generate` holds every ticket at once, over 1 GB per million; here memory is bounded by a block
(`block_rows` tickets, about), whatever the number of rows. The tickets are drawn as `generate`
draws them (same distributions, same columns, ids in order of creation), block after block from
seeds of their own, so the same config and block size give the same bytes, though not the bytes
`generate` gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.synthetic.generate import (
    GeneratorConfig,
    RawExport,
    _annotations,
    _assemble,
    _draw_rows,
    _opt_outs,
    _window,
    landing_folders,
    user_count,
    user_ids,
    write_days,
)

#: tickets per block, about: assembling and writing a block peaks at 2-3 KB per ticket, so
#: about 300 MB over the interpreter's; smaller blocks save little time or memory
BLOCK_ROWS = 100_000
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class DayBlock:
    """Consecutive days of the export: every ticket created on them, the annotations of those
    tickets, and the opt-outs of the users whose first ticket is among them (so the blocks
    together name each user at most once)."""

    days: pd.DatetimeIndex
    export: RawExport


def generate_in_blocks(config: GeneratorConfig, block_rows: int = BLOCK_ROWS) -> Iterator[DayBlock]:
    """Blocks of consecutive days, oldest first, of about `block_rows` tickets each, that together
    make an export of `config.rows` tickets over `config.months`; the same config and block size
    always give the same blocks."""
    if block_rows < 1:
        raise ValueError(f"block_rows must be at least 1, got {block_rows}")
    start, seconds = _window(config.as_of, config.months)
    n_days = seconds // DAY_SECONDS
    n_blocks = min(n_days, max(1, -(-config.rows // block_rows)))
    bounds = np.linspace(0, n_days, n_blocks + 1).round().astype(int)
    block_days = np.diff(bounds)
    # One seed for the split of rows between blocks, one per block: a block's draws do not
    # depend on how many draws the blocks before it made.
    seeds = np.random.SeedSequence(config.seed).spawn(n_blocks + 1)
    # Tickets are uniform over the window's seconds, so a block's count is multinomial in its days.
    counts = np.random.default_rng(seeds[0]).multinomial(config.rows, block_days / n_days)
    n_users = user_count(config)
    seen = np.zeros(n_users, dtype=bool)
    next_id = 1
    for block, (first_day, days, count) in enumerate(zip(bounds[:-1], block_days, counts, strict=True)):
        rng = np.random.default_rng(seeds[block + 1])
        block_start = start + np.timedelta64(int(first_day) * DAY_SECONDS, "s")
        rows = _draw_rows(rng, config, int(count), block_start, int(days) * DAY_SECONDS, n_users)
        tickets, planted = _assemble(rng, config, rows, np.arange(next_id, next_id + count))
        annotations = _annotations(rng, tickets, list(config.class_weights), config)
        newcomers = np.unique(rows.user_num)
        newcomers = newcomers[~seen[newcomers]]
        seen[newcomers] = True
        opt_outs = _opt_outs(rng, user_ids(newcomers).to_numpy(), config)
        yield DayBlock(
            days=pd.date_range(pd.Timestamp(block_start), periods=int(days), freq="D"),
            export=RawExport(tickets=tickets, annotations=annotations, opt_outs=opt_outs, planted=planted),
        )
        next_id += int(count)


def write_landing_in_blocks(config: GeneratorConfig, root: Path, block_rows: int = BLOCK_ROWS) -> dict[str, Path]:
    """Generate `config` a block of days at a time and write it as `write_landing` writes an
    export: one CSV of tickets per day of the window (quiet days too), the annotations and the
    opt-outs; returns the same folders."""
    folders = landing_folders(root)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    with (
        _AppendedCsv(folders["annotations"] / "annotations.csv") as annotations,
        _AppendedCsv(folders["consent"] / "opt_outs.csv") as opt_outs,
    ):
        for block in generate_in_blocks(config, block_rows):
            write_days(block.export.tickets, block.days, folders["tickets"])
            annotations.append(block.export.annotations)
            opt_outs.append(block.export.opt_outs)
    return folders


class _AppendedCsv:
    """A CSV file written a frame at a time under one header; every column is written as text,
    so a block with no rows cannot change a column's type."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pacsv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> _AppendedCsv:
        return self

    def append(self, frame: pd.DataFrame) -> None:
        if self._writer is None:
            self._schema = pa.schema([(str(name), pa.string()) for name in frame.columns])
            self._writer = pacsv.CSVWriter(self.path, self._schema)
        self._writer.write_table(pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False))

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.close()
