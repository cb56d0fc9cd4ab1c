"""Row accounting: every row that enters a step leaves it, or is removed for a named reason.

`Accounting` counts while a step runs; `RowAccounting` is what the step's report records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class AccountingError(RuntimeError):
    """Rows in != rows out + rows removed: a step lost or invented rows."""


class NothingLeftError(ValueError):
    """A step kept no row of a non-empty input: the message names the rule that removed them, its
    dates and what to do, instead of every later gate measuring 0."""


def removal_summary(removed: dict[str, int]) -> str:
    """`5302 retention_expired, 12 consent_opt_out`: the reasons rows were removed, most first."""
    ranked = sorted(((n, reason) for reason, n in removed.items() if n), reverse=True)
    return ", ".join(f"{n} {reason}" for n, reason in ranked) or "none removed"


@dataclass
class Accounting:
    """Counts of one step while it runs: rows in, rows removed per reason."""

    rows_in: int
    removed: dict[str, int] = field(default_factory=dict)

    def remove(self, frame: pd.DataFrame, drop: pd.Series, reason: str) -> pd.DataFrame:
        """Drop the rows where `drop` is true, counting them under `reason`."""
        count = int(drop.sum())
        self.removed[reason] = self.removed.get(reason, 0) + count
        return frame.loc[~drop.to_numpy()]

    def close(self, rows_out: int) -> RowAccounting:
        """The step's record, given its output size; raises AccountingError if rows went missing."""
        removed = sum(self.removed.values())
        if self.rows_in != rows_out + removed:
            raise AccountingError(
                f"accounting does not balance: {self.rows_in} rows in, {rows_out} out, "
                f"{removed} removed ({self.removed})"
            )
        return RowAccounting(rows_in=self.rows_in, rows_out=rows_out, removed=dict(self.removed))


class RowAccounting(BaseModel):
    """One step's rows (or one day of it) as recorded: rows in = rows out + rows removed, per reason."""

    model_config = ConfigDict(frozen=True)

    rows_in: int = Field(ge=0, description="Rows the step read.")
    rows_out: int = Field(ge=0, description="Rows the step wrote (or that are still stored).")
    removed: dict[str, int] = Field(
        default_factory=dict, description="Rows removed, by reason (`quarantined:<reason>`, `consent_opt_out`...)."
    )

    @property
    def removed_total(self) -> int:
        """Rows removed for any reason."""
        return sum(self.removed.values())

    @property
    def balanced(self) -> bool:
        """True when rows in = rows out + rows removed."""
        return self.rows_in == self.rows_out + self.removed_total

    def removed_for(self, prefix: str) -> int:
        """Rows removed for the reasons starting with `prefix` (`quarantined:`)."""
        return sum(n for reason, n in self.removed.items() if reason.startswith(prefix))

    def after_deletion(self, reason: str, rows: int) -> RowAccounting:
        """The same accounting after `rows` stored rows were deleted later for `reason`."""
        removed = dict(self.removed) | {reason: self.removed.get(reason, 0) + rows}
        return RowAccounting(rows_in=self.rows_in, rows_out=self.rows_out - rows, removed=removed)

    @classmethod
    def total(cls, parts: Iterable[RowAccounting]) -> RowAccounting:
        """One accounting for several (the days of a batch); reasons added up."""
        parts = list(parts)
        removed: dict[str, int] = {}
        for part in parts:
            for reason, n in part.removed.items():
                removed[reason] = removed.get(reason, 0) + n
        return cls(rows_in=sum(p.rows_in for p in parts), rows_out=sum(p.rows_out for p in parts), removed=removed)
