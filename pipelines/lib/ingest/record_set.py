"""What every record reader returns, and what they share: the records of one landed file as text,
the malformed ones with their positions, and the all-empty ones counted.

Every record keeps its position: `row` (1-based ordinal among the file's records) and `line`
(the physical line it starts on, header included), so a steward can find it in the landed file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

POSITION = ["row", "line"]
# What an id recovered from a malformed record may look like: a field shifted by the damage could
# hold an email or free text, which must not reach the quarantine table.
ID_SHAPE = "[A-Za-z0-9_.:-]{1,64}"


class UnreadableFile(RuntimeError):
    """The file as a whole cannot be read as its format (no header, not text at all)."""


@dataclass(frozen=True)
class Records:
    """Parsed records (every column as text, plus `row` and `line`), the malformed ones (`row`,
    `line`, `reason`, and the id when it could still be read), and how many records were all
    empty (every field blank: `,,,,` rows an export pads with), which are left out of `rows`."""

    rows: pd.DataFrame
    malformed: pd.DataFrame
    blank: int = 0

    @property
    def count(self) -> int:
        """Every record of the file: parsed, malformed and blank."""
        return len(self.rows) + len(self.malformed) + self.blank


class Collected:
    """Records gathered by a slow path: values of the good ones, positions of the bad ones."""

    def __init__(self) -> None:
        self.values: list = []
        self.rows: list[int] = []
        self.lines: list[int] = []
        self.bad: list[tuple[int, int, str, str]] = []

    def good(self, row: int, line: int, values) -> None:
        self.values.append(values)
        self.rows.append(row)
        self.lines.append(line)

    def malformed(self, row: int, line: int, reason: str, record_id: str) -> None:
        self.bad.append((row, line, reason, record_id))

    def records(self, frame: pd.DataFrame) -> Records:
        """`frame` (the good records' values, in order) with their positions, and the bad ones."""
        frame["row"] = pd.Series(self.rows, dtype="int64")
        frame["line"] = pd.Series(self.lines, dtype="int64")
        rows, lines, reasons, ids = zip(*self.bad, strict=True) if self.bad else ((), (), (), ())
        bad = pd.DataFrame(
            {
                "row": pd.Series(rows, dtype="int64"),
                "line": pd.Series(lines, dtype="int64"),
                "reason": pd.Series(reasons, dtype="str"),
                "id": pd.Series(ids, dtype="str"),
            }
        )
        return Records(frame, bad)


def no_malformed() -> pd.DataFrame:
    """The malformed records of a file that has none."""
    return Collected().records(pd.DataFrame()).malformed


def clean_id(value: str) -> str:
    """An id as text, unless it does not look like one (undecodable bytes, spaces, an @...)."""
    value = value.strip().strip('"')
    return value if re.fullmatch(ID_SHAPE, value) else ""


def text_frame(table: pa.Table) -> pd.DataFrame:
    """Every column of `table` as text, cast by Arrow: an int64 id 1001 is "1001" (never through
    float64, where a null would make it "1001.0" and ids above 2**53 collide), a bool "true", a
    timestamp ISO-8601 text. A type Arrow cannot cast to text goes through pandas' text form."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        try:
            columns[name] = pd.Series(pc.cast(column, pa.string()).to_pandas(), dtype="str")
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            columns[name] = column.to_pandas().astype("str")
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def without_blank(records: Records) -> Records:
    """`records` with the all-empty ones (every field null or whitespace) left out and counted."""
    frame = records.rows
    values = [name for name in frame.columns if name not in POSITION]
    if not len(frame) or not values:
        return records
    empty = np.ones(len(frame), dtype=bool)
    for name in values:  # each column looks only at rows still empty so far: after the first, hardly any
        empty[empty] = (frame[name][empty].fillna("").str.strip() == "").to_numpy()
        if not empty.any():
            return records
    return Records(frame.loc[~empty].reset_index(drop=True), records.malformed, records.blank + int(empty.sum()))
