"""Verdicts of the checks that are not gates (`pii_residue`, `row_accounting`), kept per run so
that `trainset gates` and the HTML report can list them beside the gates, even for a run that a
check stopped before the training set was built.

One small JSON file per check and asset: `data/warehouse/<name>/checks/<run_id>/<asset>.<check>.json`,
and the latest of each under `checks/latest/`. Counts, ids, offsets and kinds only: never text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.privacy.residue_review import ResidueReview
from pipelines.lib.quality.gate_results import GateStatus, gate_verdict
from pipelines.lib.report_files import read_report, write_report
from pipelines.lib.reports import ContractResult
from pipelines.lib.workspace import DatasetPaths

LATEST = "latest"


class CheckRecord(BaseModel):
    """One check of one asset in one run: its verdict in words, and what it measured."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Check name: pii_residue, pii_residue_in_files, row_accounting or a contract.")
    asset: str = Field(description="Asset (or `release`) the check ran on.")
    run_id: str | None = Field(default=None, description="Dagster run id.")
    passed: bool
    description: str = Field(description="The check's description: counts, ids, offsets and kinds only.")
    residue: ResidueReview | None = Field(default=None, description="The reviewed findings, for pii_residue.")
    rows_in: int | None = Field(default=None, description="For row_accounting: rows in.")
    rows_out: int | None = Field(default=None, description="For row_accounting: rows out.")
    rows_removed: int | None = Field(default=None, description="For row_accounting: rows removed for a reason.")
    contract: ContractResult | None = Field(default=None, description="For a contract: failures per column.")
    recorded_at: datetime | None = Field(default=None, description="When the verdict was kept (UTC).")

    @property
    def status(self) -> GateStatus:
        """Checks are never waived and always block when they fail (the gates' rule, at `error`)."""
        return gate_verdict("error", self.passed)


def _folder(paths: DatasetPaths) -> Path:
    return paths.warehouse / "checks"


def record_check(paths: DatasetPaths, record: CheckRecord) -> None:
    """Keep a check's verdict for its run, and as the latest of that check on that asset."""
    name = f"{record.asset}.{record.name}.json"
    if record.recorded_at is None:
        record = record.model_copy(update={"recorded_at": datetime.now(UTC)})
    if record.run_id:
        write_report(record, _folder(paths) / record.run_id / name)
    write_report(record, _folder(paths) / LATEST / name)


def load_checks(paths: DatasetPaths, run_id: str | None = None) -> list[CheckRecord]:
    """The checks of one run (a full id), or the latest verdict of every check; in asset order."""
    folder = _folder(paths) / (run_id or LATEST)
    records = [read_report(p, CheckRecord) for p in sorted(folder.glob("*.json"))]
    order = ["raw", "redacted", "eligible", "labeled", "training_set", "release"]
    return sorted(records, key=lambda r: (_rank(r.asset, order), r.asset, r.name))


def _rank(asset: str, order: list[str]) -> int:
    return next((i for i, prefix in enumerate(order) if asset.startswith(prefix)), len(order))


def check_run_ids(paths: DatasetPaths) -> list[str]:
    """Runs that left check verdicts."""
    folder = _folder(paths)
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != LATEST) if folder.is_dir() else []
