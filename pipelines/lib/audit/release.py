"""The audit log at a release: the record the manifest carries, and the entries the release
commit carries (the release, the waivers and allowances it was released under, withdrawals).

`release_record` answers, before the version is written, who releases it, under which waivers
and allowances, honouring which erasure requests and delete lists (counts and hashes), and where
in the audit chain it stands. `audit_release` then appends the release's entries, rewrites the
dataset's CHANGELOG.md and moves the pending entries into `audit/log.jsonl` for the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipelines.lib.audit.changelog import write_changelog
from pipelines.lib.audit.entries import (
    AllowanceEvent,
    ReleaseEvent,
    WaiverEvent,
    WithdrawalEvent,
    text_sha256,
)
from pipelines.lib.audit.log import audit_lock, commit_pending, entries, last_entry, record, relink_pending, who
from pipelines.lib.hashing import combined_sha256, file_sha256
from pipelines.lib.partners.deletions import DeleteLists
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.quality.waivers import ResidueAllowance
from pipelines.lib.release.versions import MANIFEST, ReleaseOutcome, read_manifest
from pipelines.lib.release.withdrawal import read_registry
from pipelines.lib.reports import AllowanceRecord, ReleaseRecord, WaiverRecord


def release_record(
    root: Path,
    gates: list[GateResult],
    allowances: list[ResidueAllowance],
    erased: dict[str, str],
    lists: dict[str, DeleteLists],
) -> ReleaseRecord:
    """The release record of the version about to be released: the waived gates (`gates`), the
    allowances active today, the erasure requests (`erased`: pseudonym -> request id) and partner
    delete lists honoured, as counts and hashes; and the audit log's last entry."""
    today = datetime.now(UTC).date()
    requests = sorted({text_sha256(request) for request in erased.values()})
    relink_pending(root)  # entries since the last release follow the log as it now is
    with audit_lock(root):
        seq, head = last_entry(root)
    return ReleaseRecord(
        # Named without the e-mail address, which the audit log and the release commit hold: the card
        # travels with the data.
        released_by=who(root).model_copy(update={"git_email": None}),
        waivers=[
            WaiverRecord(gate=g.name, approver=g.waiver.approver, expires=g.waiver.expires, reason=g.waiver.reason)
            for g in gates
            if g.waiver is not None and not g.passed
        ],
        allowances=[
            AllowanceRecord(
                finding_sha256=text_sha256("/".join(map(str, a.key))),
                column=a.column,
                kind=a.kind,
                approver=a.approver,
                expires=a.expires,
                reason=a.reason,
            )
            for a in allowances
            if a.active(today)
        ],
        erasure_requests=len(requests),
        erasure_requests_sha256=combined_sha256(requests) if requests else None,
        partner_delete_lists=sorted({f.sha256 for listed in lists.values() for f in listed.files}),
        audit_seq=seq,
        audit_head=head,
    )


def audit_release(root: Path, outcome: ReleaseOutcome) -> list[str]:
    """Append the entries of a release being published (once per version, however often a cut-short
    release is finished): the release, each waiver and allowance it stands on, each withdrawal
    the registry holds that the log does not; rewrite `datasets/<name>/CHANGELOG.md`; move the
    pending entries into `audit/log.jsonl`. Returns the paths the release commit carries."""
    dataset, version = outcome.dataset, outcome.version
    logged = [e.event for e in entries(root) if e.event.dataset == dataset]
    manifest = read_manifest(outcome.path)
    if not any(e.type == "release" and e.version == version for e in logged):
        released = manifest.release_record
        record(
            root,
            ReleaseEvent(
                dataset=dataset,
                version=version,
                run_id=manifest.dagster_run_id,
                rows=manifest.rows,
                manifest_sha256=file_sha256(outcome.path / MANIFEST),
                content_sha256=manifest.content_sha256,
                spec_sha256=manifest.spec.sha256,
                waivers=len(released.waivers) if released else 0,
                allowances=len(released.allowances) if released else 0,
                erasure_requests=released.erasure_requests if released else 0,
            ),
        )
        for waiver in released.waivers if released else []:
            waived = WaiverEvent(
                dataset=dataset, version=version, gate=waiver.gate, approver=waiver.approver, expires=waiver.expires
            )
            record(root, waived, why=waiver.reason)
        for allowed in released.allowances if released else []:
            allowance = AllowanceEvent(
                dataset=dataset,
                version=version,
                finding_sha256=allowed.finding_sha256,
                column=allowed.column,
                kind=allowed.kind,
                approver=allowed.approver,
                expires=allowed.expires,
            )
            record(root, allowance, why=allowed.reason)
    withdrawn = {e.version for e in logged if e.type == "withdrawal"}
    for number, entry in sorted(read_registry(root, dataset)["withdrawn"].items(), key=lambda item: int(item[0])):
        if int(number) in withdrawn:
            continue
        withdrawal = WithdrawalEvent(
            dataset=dataset,
            version=int(number),
            replaced_by=entry["replaced_by"],
            reason=entry["reason"],
            requests=len(entry["requests"]),
            requests_sha256=combined_sha256(sorted(text_sha256(r) for r in entry["requests"])),
        )
        record(root, withdrawal, why=entry["reason"])
    # datasets/ is DVC's: the change log goes in with the version when `publish` runs `dvc add`.
    write_changelog(root, dataset, entries(root))
    return [str(commit_pending(root))]
