"""What each command and step appends to the audit log: one call where the event happens.

Each function takes what its caller already holds and keeps of it only counts, versions, reasons
and hashes. They import nothing heavier than the log itself, so any stage can call them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pipelines.lib.audit.entries import (
    AuditEntry,
    ErasureEvent,
    PartnerDeletionEvent,
    PullEvent,
    RetentionEvent,
    RunEvent,
    text_sha256,
)
from pipelines.lib.audit.log import record


def record_run(root: Path, dataset: str, summary: Any) -> AuditEntry:
    """A `trainset run` (its `RunSummary`): released, unchanged, blocked (by which gates and
    checks: their names, never their details) or failed."""
    released = summary.release_metadata or {}
    outcome: Literal["released", "unchanged", "blocked", "failed"]
    if summary.success:
        outcome = "released" if released.get("created") else "unchanged"
    else:
        outcome = "blocked" if summary.failed_checks else "failed"
    return record(
        root,
        RunEvent(
            dataset=dataset,
            version=released.get("version"),
            run_id=summary.run_id,
            outcome=outcome,
            partitions=summary.partitions,
            # Only a failed ERROR check blocks: a warning is reported, never a blocker.
            blocked_by=sorted(
                {check.split(maxsplit=1)[0] for check in summary.failed_checks if "[ERROR]" in check}
                if outcome == "blocked"
                else set()
            ),
        ),
    )


def record_pull(
    root: Path,
    dataset: str,
    version: int,
    files: list[str],
    via: Literal["trainset pull", "pipelines.load"] = "trainset pull",
) -> AuditEntry:
    """A version fetched and verified through `trainset pull` (or loaded by `pipelines.load`)."""
    return record(root, PullEvent(dataset=dataset, version=version, files=len(files), via=via))


def record_erasure(root: Path, request_id: str, deleted: dict[str, int], reason: str) -> AuditEntry:
    """An erasure request: its id's hash (the erasure log holds the id), the datasets it applies to
    and the rows deleted at once; the reason given as the why."""
    event = ErasureEvent(request_sha256=text_sha256(request_id), datasets=sorted(deleted), rows_deleted=deleted)
    return record(root, event, why=reason)


def record_retention(root: Path, dataset: str, records: list[dict], oldest_day_kept: date) -> AuditEntry | None:
    """Stored data deleted by retention (the records `retention.expire_stored` logs); None if none."""
    if not records:
        return None
    event = RetentionEvent(
        dataset=dataset,
        files_deleted=sum(r["rule"] == "default" for r in records),
        sensitive_rows_deleted=sum(r["rows"] or 0 for r in records if r["rule"] == "sensitive"),
        oldest_day_kept=oldest_day_kept,
    )
    return record(root, event, why="retention")


def record_partner_deletions(root: Path, lines: list[str]) -> None:
    """Each delete list applied for the first time (the lines `partners.deletions` logs)."""
    for line in lines:
        logged = json.loads(line)
        event = PartnerDeletionEvent(
            dataset=logged["dataset"],
            source=logged["source"],
            list_sha256=logged["sha256"],
            ids=logged["ids"],
            rows_deleted=logged["rows_deleted"],
        )
        record(root, event, why="partner delete list")
