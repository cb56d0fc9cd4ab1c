"""PII-residue findings reviewed against a steward's allowances (`residue_allow:` in waivers.yaml).

A finding an active allowance names is allowed (listed, not blocking); any other finding is
unreviewed and blocks. An active allowance that names no finding is an error: a typo, or a text
that changed since the review, must not leave a stale decision standing. An allowance for a row
outside what was scanned is judged where that row is scanned, unless no stored row has that id
(then it is an error too). Expired allowances apply to nothing and are reported.

Everything here is ids, columns, offsets, kinds and the steward's words: never the text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.privacy.residue import ResidueFinding
from pipelines.lib.quality.waivers import ResidueAllowance

#: a review lists at most this many findings of each sort in messages (all are in the model)
SHOWN = 10


class AllowedFinding(BaseModel):
    """A finding a steward reviewed and allowed: where it is, and the decision."""

    model_config = ConfigDict(frozen=True)

    finding: ResidueFinding
    reason: str
    approver: str
    expires: date
    entry: str = Field(description="Where the allowance is: `waivers.yaml:14 residue_allow[0]`.")


class AllowanceProblem(BaseModel):
    """An allowance that cannot stand as written (it names no finding), or that has expired."""

    model_config = ConfigDict(frozen=True)

    entry: str = Field(description="Where it is: `waivers.yaml:14 residue_allow[0]`.")
    names: str = Field(description="What it names: `row T00012345 body offset 57 (digit_run)`.")
    problem: str = Field(description="What is wrong and what to do.")


class ResidueReview(BaseModel):
    """The residue findings of one scan (the redacted days of a run, or the files of a release)."""

    scope: str = Field(description="What was scanned: `redacted 2026-05-01..2026-10-30` or `release files`.")
    rows: int = Field(description="Rows scanned.")
    findings: int = Field(description="Findings in them, allowed or not.")
    unreviewed: list[ResidueFinding] = Field(
        default_factory=list, description="Findings no allowance names: they block."
    )
    allowed: list[AllowedFinding] = Field(default_factory=list)
    unmatched: list[AllowanceProblem] = Field(default_factory=list, description="Allowances naming no finding: errors.")
    expired: list[AllowanceProblem] = Field(default_factory=list, description="Expired allowances: reported.")
    elsewhere: int = Field(default=0, description="Allowances for stored rows outside this scan (judged there).")

    @property
    def passed(self) -> bool:
        return not self.unreviewed and not self.unmatched

    def description(self) -> str:
        """One paragraph for a check result or an error: counts, then where (never the text)."""
        if self.passed:
            allowed = f", {len(self.allowed)} allowed by a steward" if self.allowed else ""
            expired = "".join(f" | {p.entry}: {p.names}: {p.problem}" for p in self.expired[:SHOWN])
            return f"no unreviewed PII residue in {self.scope} ({self.rows} rows{allowed}){expired}"
        parts = []
        if self.unreviewed:
            shown = "; ".join(f.where() for f in self.unreviewed[:SHOWN])
            more = f" and {len(self.unreviewed) - SHOWN} more" if len(self.unreviewed) > SHOWN else ""
            parts.append(
                f"{len(self.unreviewed)} unreviewed PII residue finding(s) in {self.scope}: {shown}{more}. "
                "Fix the redaction, or, if a steward finds it is not PII, allow that finding in "
                "waivers.yaml under residue_allow: (dataset, row_id, column, offset, kind, reason, approver, expires)"
            )
        parts += [f"{p.entry}: {p.names}: {p.problem}" for p in self.unmatched[:SHOWN]]
        parts += [f"{p.entry}: {p.names}: {p.problem}" for p in self.expired[:SHOWN]]
        return " | ".join(parts)


def review_residue(
    findings: list[ResidueFinding],
    allowances: list[ResidueAllowance],
    today: date,
    *,
    scope: str,
    rows: int,
    scanned_ids: Collection[str],
    stored_ids: Callable[[], Collection[str]] | None = None,
) -> ResidueReview:
    """Sort findings into allowed and unreviewed; judge every allowance of the dataset.

    `scanned_ids`: row ids of what was scanned; `stored_ids`: every id the dataset still stores
    (called only if an allowance names a row outside the scan)."""
    active = {a.key: a for a in allowances if a.active(today)}
    review = ResidueReview(scope=scope, rows=rows, findings=len(findings))
    found_keys = set()
    for finding in findings:
        found_keys.add(finding.key)
        allowance = active.get(finding.key)
        if allowance is None:
            review.unreviewed.append(finding)
            continue
        review.allowed.append(
            AllowedFinding(
                finding=finding,
                reason=allowance.reason,
                approver=allowance.approver,
                expires=allowance.expires,
                entry=allowance.where,
            )
        )
    by_row: dict[str, list[ResidueFinding]] = {}
    for finding in findings:
        by_row.setdefault(finding.row_id, []).append(finding)
    scanned = set(scanned_ids)
    stored: Collection[str] | None = None
    for allowance in allowances:
        if not allowance.active(today):
            review.expired.append(
                AllowanceProblem(
                    entry=allowance.where,
                    names=allowance.names(),
                    problem=f"expired on {allowance.expires}; it no longer applies (renew it after a new review, "
                    "or remove it)",
                )
            )
        elif allowance.row_id in scanned and allowance.key not in found_keys:
            row = by_row.get(allowance.row_id, [])
            here = ", ".join(f"{f.column} offset {f.offset} ({f.kind})" for f in row) or "none"
            review.unmatched.append(
                AllowanceProblem(
                    entry=allowance.where,
                    names=allowance.names(),
                    problem=f"matches no finding (findings in that row: {here}); correct the entry to a finding "
                    "`trainset gates` lists, or remove it",
                )
            )
        elif allowance.row_id not in scanned:
            stored = stored if stored is not None else set(stored_ids()) if stored_ids else set()
            if allowance.row_id in stored:
                review.elsewhere += 1
            else:
                review.unmatched.append(
                    AllowanceProblem(
                        entry=allowance.where,
                        names=allowance.names(),
                        problem="no stored row of the dataset has this id (a typo, or a row retention or "
                        "erasure deleted); correct the row_id, or remove the entry",
                    )
                )
    return review
