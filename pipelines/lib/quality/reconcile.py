"""Row accounting reconciled against what is stored: rows in = rows out + rows removed per reason,
and the counts a step reported match the rows in the files it wrote and the files it read.

The steps count as they go; this reads the written parquet footers back, so a lost file, a
half-written zone or a step that drops rows without naming a reason fails a check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.lib.accounting import RowAccounting
from pipelines.lib.report_files import read_eligibility, read_ingest, read_labeled, read_redaction, read_training_set
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


@dataclass
class Reconciliation:
    """What one asset's accounting says, and every way it disagrees with the stored rows."""

    rows_in: int = 0
    rows_out: int = 0
    removed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def add(self, where: str, accounting: RowAccounting, stored_out: int, stored_removed: int | None = None) -> None:
        """Take one accounting in; note where it does not balance or does not match storage."""
        removed = accounting.removed_total
        self.rows_in += accounting.rows_in
        self.rows_out += accounting.rows_out
        self.removed += removed
        if not accounting.balanced:
            self.problems.append(f"{where}: {accounting.rows_in} in != {accounting.rows_out} out + {removed} removed")
        if stored_out != accounting.rows_out:
            self.problems.append(f"{where}: {accounting.rows_out} rows out counted, {stored_out} stored")
        quarantined = accounting.removed_for("quarantined:")
        if stored_removed is not None and stored_removed != quarantined:
            self.problems.append(f"{where}: {quarantined} rows quarantined counted, {stored_removed} in quarantine")

    def expect_in(self, where: str, rows: int, upstream: int, upstream_name: str) -> None:
        if rows != upstream:
            self.problems.append(f"{where}: {rows} rows, but {upstream_name} holds {upstream}")

    def description(self) -> str:
        if self.problems:
            return "accounting does not reconcile: " + "; ".join(self.problems[:5])
        return f"{self.rows_in} in = {self.rows_out} out + {self.removed} removed; matches the stored rows"


def stored_rows(path: Path) -> int:
    """Rows in a parquet file, from its footer; 0 if the file is not there."""
    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0


def reconcile_raw(paths: DatasetPaths, source: str, partitions: list[str]) -> Reconciliation:
    """Each landed day: records read = rows in the raw zone + rows in quarantine."""
    result = Reconciliation()
    for partition in partitions:
        accounting = read_ingest(paths, source, partition).accounting
        quarantined = stored_rows(paths.quarantine_part(source, partition))
        result.add(f"raw_{source} {partition}", accounting, stored_rows(paths.raw(source, partition)), quarantined)
    return result


def reconcile_redacted(paths: DatasetPaths, spec: DatasetSpec, partitions: list[str]) -> Reconciliation:
    """Each day: the redacted zone holds exactly the raw rows of every source (redaction removes none)."""
    result = Reconciliation()
    for partition in partitions:
        accounting = read_redaction(paths, partition).accounting
        where = f"redacted {partition}"
        result.add(where, accounting, stored_rows(paths.redacted(partition)))
        # Later deletions (retention, erasure) remove the same rows from both zones.
        raw = sum(stored_rows(paths.raw(s.name, partition)) for s in spec.sources)
        result.expect_in(where, stored_rows(paths.redacted(partition)), raw, "the raw zone")
    return result


def reconcile_eligible(paths: DatasetPaths) -> Reconciliation:
    """Eligible: every row the redacted days' stats say is stored, minus rows removed for a reason."""
    result = Reconciliation()
    accounting = read_eligibility(paths).accounting
    result.add("eligible", accounting, stored_rows(paths.eligible))
    stored_days = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    counted = sum(read_redaction(paths, f.stem).accounting.rows_out for f in stored_days)
    result.expect_in("eligible", accounting.rows_in, counted, "the redacted days")
    return result


def reconcile_labeled(paths: DatasetPaths) -> Reconciliation:
    """Labeled: every eligible row, minus those held back unlabelled or awaiting adjudication;
    the unlabelled ones are the labeling pool's rows."""
    result = Reconciliation()
    report = read_labeled(paths)
    result.add("labeled", report.accounting, stored_rows(paths.labeled))
    result.expect_in("labeled", report.accounting.rows_in, stored_rows(paths.eligible), "eligible")
    result.expect_in(
        "labeling pool",
        report.accounting.removed.get("unlabeled", 0),
        stored_rows(paths.unlabeled),
        "labeled's unlabeled rows",
    )
    return result


def reconcile_training_set(paths: DatasetPaths) -> Reconciliation:
    """Training set: every labelled row, minus those outside the freshness window."""
    result = Reconciliation()
    accounting = read_training_set(paths).accounting
    result.add("training_set", accounting, stored_rows(paths.training_set))
    result.expect_in("training_set", accounting.rows_in, stored_rows(paths.labeled), "labeled")
    return result
