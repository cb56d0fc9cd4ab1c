"""What every format of `trainset redact` shares: the error it raises, the summary it returns,
and the one call of the redaction engine per batch of values."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.errors import BAD_DATA
from pipelines.lib.privacy.redaction import redact

T = TypeVar("T")
R = TypeVar("R")
#: batches redacted at once, each on one thread: the engine, the parsing and the splicing of a
#: batch all run while another is redacted (the engine alone would split one batch in two)
WORKERS = 2


def batch_size(total: int, least: int, most: int, workers: int = WORKERS) -> int:
    """Bytes (or rows) per batch for a file of `total` bytes (rows): two batches per worker, so
    every worker stays busy to the end, within `least`..`most`. Large batches pay the engine's
    fixed cost per call (its patterns compiled, about 8 ms) fewer times; `most` bounds memory,
    which holds `workers` + 1 batches."""
    share = -(-total // (2 * workers))  # rounded up
    return int(min(most, max(least, share + share // 64)))  # a little over: no sliver of a last batch


class RedactFileError(ValueError):
    """The file cannot be redacted as asked; the message says where and what to do."""


class UnreadableExportError(RedactFileError):
    """The file's content cannot be read as its format (bytes that are not UTF-8, a record that
    does not parse): bad data, not a bad command."""

    exit_code = BAD_DATA


#: what a column name looks like: an identifier without a run of digits (`T00042`, `u0000083` are ids)
COLUMN_NAME = re.compile(r"(?!.*\d{3})[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def shown_names(names: list[str]) -> str:
    """A header's names for an error, or, when one of them does not look like a column name, how
    many there are: a CSV exported without its header line has a record there, and a record's
    values (names, e-mail addresses, ids) must never reach an error."""
    if all(COLUMN_NAME.fullmatch(name) for name in names):
        return str(names)
    return f"{len(names)} values that do not all look like column names (is the header line missing?)"


@dataclass(frozen=True)
class RedactionPolicy:
    """What to replace: PII types (placeholders), and the regions national phone numbers are read in."""

    pii_types: tuple[str, ...]
    #: ISO 3166 codes; None: the engine's default regions
    regions: tuple[str, ...] | None = None


@dataclass
class FileSummary:
    """Counts of one redacted file: records, values replaced per PII type, and values of a
    redacted field that were not text, by what they were (null, number, object or array...)."""

    records: int = 0
    replaced: Counter[str] = field(default_factory=Counter)
    not_text: Counter[str] = field(default_factory=Counter)

    def add(self, other: FileSummary) -> None:
        """Add the counts of another batch."""
        self.records += other.records
        self.replaced.update(other.replaced)
        self.not_text.update(other.not_text)

    def line(self) -> str:
        """One line: replacements per type, then the values that were not text and what was done."""
        replaced = ", ".join(f"{pii_type} {n}" for pii_type, n in self.replaced.items())
        notes = [f"{n} {kind}" for kind, n in sorted(self.not_text.items()) if n]
        return f"{self.records} records; {replaced}" + (f"; not text: {', '.join(notes)}" if notes else "")


def redact_values(values: pa.Array, policy: RedactionPolicy, summary: FileSummary, threads: int = 1) -> pa.Array:
    """`values` (text, nulls allowed) redacted; nulls stay null. Adds the replacements to `summary`.

    The fields of a batch are concatenated by the caller so the engine runs once per batch.
    `threads` is 1 where batches are redacted side by side (in_order)."""
    if not len(values):
        return values
    regions = list(policy.regions) if policy.regions else None
    result = redact(values, list(policy.pii_types), threads=threads, regions=regions)
    summary.replaced.update(result.replaced)
    redacted = result.text.combine_chunks() if isinstance(result.text, pa.ChunkedArray) else result.text
    if values.null_count:
        redacted = pc.if_else(values.is_valid(), redacted, pa.scalar(None, redacted.type))
    return redacted


def changed(before: pa.Array, after: pa.Array) -> np.ndarray:
    """Where a redacted value differs from the original (False for nulls)."""
    return pc.fill_null(pc.not_equal(before.cast(after.type), after), False).to_numpy(False)


def in_order(
    work: Callable[[T], R], items: Iterable[T], workers: int = WORKERS, waiting: int = 0
) -> Generator[R, None, None]:
    """work(item) for each item on `workers` threads (Arrow and numpy release the GIL), results in
    the items' order; at most workers + `waiting` + 1 items are in flight, so memory stays bounded.

    `waiting`: items queued for the workers while a result is handed on, so that a worker done
    while the caller writes that result (which the disk may hold up) starts on the next at once."""
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > workers + waiting:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
