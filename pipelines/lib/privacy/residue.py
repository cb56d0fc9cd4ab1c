"""PII residue: a second opinion on redacted text, independent of the redactor.

Every text column is scanned whole by RE2 (`pyarrow.compute`) for rows that may hold residue;
only those rows are looked at in Python (`residue_rules.scan_text`). What comes out is a list of
findings: where (dataset, file, row id, column, character offset) and what kind, never the text
or the value, so findings may go into check metadata, logs, errors and manifests.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.privacy.residue_rules import FILTERS, LOOK_ALIKES, ROW_FILTER, ResidueKind, scan_text


class ResidueFinding(BaseModel):
    """Something that still looks like PII after redaction: where it is and what kind it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="Dataset name.")
    row_id: str = Field(description="Value of the dataset's id column in that row (an id, not PII).")
    column: str = Field(description="Text column holding it.")
    kind: ResidueKind = Field(
        description="What it looks like: email, iban, ip_address, credit_card, us_ssn, digit_run."
    )
    offset: int = Field(ge=0, description="Character offset (Unicode code points, from 0) where it starts.")
    file: str | None = Field(default=None, description="Released file it was found in; None in the redacted zone.")

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        """What a steward's allowance names: the same finding in the redacted zone and in a release."""
        return (self.dataset, self.row_id, self.column, self.offset, self.kind)

    def where(self) -> str:
        """`row T00012345 body offset 57 (digit_run)`, after the file if any: ids, offsets, kinds only."""
        place = f"{self.file}: " if self.file else ""
        return f"{place}row {self.row_id} {self.column} offset {self.offset} ({self.kind})"


def find_residue(
    data: pd.DataFrame | pa.Table,
    text_columns: list[str],
    *,
    dataset: str,
    id_column: str | None = None,
    file: str | None = None,
) -> list[ResidueFinding]:
    """Findings in the text columns of a frame or table, in row then column then offset order.

    `id_column` names the column whose value identifies a row (default: the row's position,
    as a string). Cost: one RE2 scan per column, plus Python on the rows it picks."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    ids = table.column(id_column) if id_column else None
    found: list[tuple[int, int, int, ResidueKind]] = []  # row, column, offset, kind
    for position, column in enumerate(text_columns):
        values = pc.cast(table.column(column), pa.large_string())
        hits = pc.fill_null(pc.match_substring_regex(values, ROW_FILTER), False)
        rows = pc.indices_nonzero(hits)
        if not len(rows):
            continue
        candidates = pc.take(values, rows)
        # Which families flagged each candidate: Python then runs only their rules. Numbers are
        # judged once the commonest look-alikes (dates, versions) are out of the way.
        numbers = candidates
        for pattern, replacement in LOOK_ALIKES:
            numbers = pc.replace_substring_regex(numbers, pattern=pattern, replacement=replacement)
        flags = [
            pc.match_substring_regex(numbers if family == "numbers" else candidates, pattern).to_pylist()
            for family, pattern in FILTERS.items()
        ]
        for row, text, *flagged in zip(rows.to_pylist(), candidates.to_pylist(), *flags, strict=True):
            if any(flagged):
                families = [family for family, hit in zip(FILTERS, flagged, strict=True) if hit]
                found += [(row, position, offset, kind) for kind, offset in scan_text(text, families)]
    found.sort()
    row_ids = _row_ids(ids, sorted({row for row, *_ in found}))
    return [
        ResidueFinding(
            dataset=dataset, row_id=row_ids[row], column=text_columns[c], kind=kind, offset=offset, file=file
        )
        for row, c, offset, kind in found
    ]


def _row_ids(ids: pa.ChunkedArray | None, rows: list[int]) -> dict[int, str]:
    if ids is None:
        return {row: str(row) for row in rows}
    return dict(zip(rows, (str(v) for v in pc.take(ids, pa.array(rows, pa.int64())).to_pylist()), strict=True))


def residue_counts(frame: pd.DataFrame, text_columns: list[str]) -> dict[str, int]:
    """Findings per `column/kind` (a summary of `find_residue`, for tests and benchmarks)."""
    findings = find_residue(frame, text_columns, dataset="")
    return dict(Counter(f"{f.column}/{f.kind}" for f in findings))
