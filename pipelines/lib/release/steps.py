"""Step of the release asset: the manifest from every stage's report, the version, DVC and git.

The release commit carries what built the version (its defs.yaml, GX suite, waivers.yaml and
dvc.yaml stage), the run's gate reports, the privacy logs and the audit log, so checking out the tag gives the
declaration to rebuild it. Nothing is written to tracked files unless a release is published.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib.accounting import RowAccounting
from pipelines.lib.audit.release import audit_release, release_record
from pipelines.lib.hashing import combined_sha256
from pipelines.lib.ingest.landing import read_ledger
from pipelines.lib.partners.decisions import decision_path
from pipelines.lib.partners.deletions import PARTNER_DELETIONS_LOG, delete_lists
from pipelines.lib.partners.terms import roll_up
from pipelines.lib.privacy.erasure import ERASURE_LOG, erased_pseudonyms
from pipelines.lib.privacy.pseudonymize import key_id
from pipelines.lib.privacy.residue_review import ResidueReview
from pipelines.lib.privacy.retention import commit_pending_log
from pipelines.lib.privacy.steps import stored_row_ids
from pipelines.lib.quality.check_records import CheckRecord, record_check
from pipelines.lib.quality.gate_report import write_gate_report
from pipelines.lib.quality.waivers import WAIVERS_FILE, load_allowances
from pipelines.lib.release import vcs
from pipelines.lib.release.killpoints import NEVER, KillSwitch
from pipelines.lib.release.stages import DVC_YAML, write_stages
from pipelines.lib.release.vcs import git_head
from pipelines.lib.release.versions import (
    ReleaseOutcome,
    ReleaseResidue,
    fetch_missing_versions,
    release,
    release_lock,
)
from pipelines.lib.release.versions import publish as publish_release
from pipelines.lib.release.withdrawal import (
    purge_objects,
    registry_path,
    versions_holding_partner_rows,
    versions_to_withdraw,
    withdraw,
)
from pipelines.lib.report_files import (
    MissingReportError,
    ingest_days,
    read_eligibility,
    read_gate_run,
    read_labeled,
    read_quarantine,
    read_training_set,
    redaction_days,
)
from pipelines.lib.reports import (
    ConsentPolicy,
    EligibilityReport,
    ErasurePolicy,
    IngestReport,
    InputSummary,
    LicenceSection,
    ManifestBody,
    MinimisationPolicy,
    PartnerDeletionPolicy,
    Policy,
    PseudonymisationPolicy,
    RedactionPolicy,
    RedactionReport,
    RetentionOnStoragePolicy,
    RetentionPolicy,
    SpecRecord,
)
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.lib.zones import close_version_stores, prepare_releases, storage_record

# -- release -----------------------------------------------------------------------------------


def release_training_set(
    paths: DatasetPaths,
    spec: DatasetSpec,
    spec_file: Path,
    key: bytes,
    run_id: str,
    publish: bool = True,
    kill: KillSwitch = NEVER,
) -> ReleaseOutcome:
    """Assemble the manifest from every stage's report and release the training set: a new
    version unless the latest holds the same content; published (DVC, git commit and tag) when
    new, when earlier versions must be withdrawn, or when an earlier release was cut short.

    Returns the outcome. Raises ReleaseError (residue found, a released version missing from the
    workspace, a version folder in the way), MissingReportError (a stage has not run), VcsError
    (git or DVC failed), LockedError."""
    frame = pd.read_parquet(paths.training_set)
    training = read_training_set(paths)
    gate_run = read_gate_run(paths)
    if gate_run is None or gate_run.contract is None:
        raise MissingReportError(f"no gate results for {spec.name}: materialize training_set first")
    eligible = read_eligibility(paths)
    labeled = read_labeled(paths)
    ingested = {s.name: ingest_days(paths, s.name) for s in spec.sources}
    released = {str(k): int(n) for k, n in frame[SOURCE_COLUMN].value_counts(sort=False).items()}
    redacted = redaction_days(paths)
    erased = erased_pseudonyms(paths.root, key) if spec.columns.user else {}
    lists = delete_lists(paths.root, spec)
    body = ManifestBody(
        created_at=datetime.now(UTC).replace(microsecond=0),
        as_of=training.as_of,
        code_version=git_head(paths.root),
        dagster_run_id=run_id,
        spec=SpecRecord(
            path=str(spec_file.relative_to(paths.root)) if spec_file.is_relative_to(paths.root) else str(spec_file),
            sha256=spec.fingerprint(),
            content=spec.model_dump(mode="json"),
        ),
        pseudonymisation_key_id=key_id(key),
        inputs=[
            _input_summary(paths, spec, s.name, ingested[s.name], eligible, released.get(s.name, 0))
            for s in spec.sources
        ],
        policies=_policies(spec, redacted, eligible),
        accounting={
            **{f"raw_{name}": RowAccounting.total(d.accounting for d in days) for name, days in ingested.items()},
            "redacted": RowAccounting.total(d.accounting for d in redacted),
            "eligible": eligible.accounting,
            "labeled": labeled.accounting,
            "training_set": training.accounting,
        },
        quarantine=read_quarantine(paths),
        contract=gate_run.contract,
        expectations=gate_run.expectations,
        gates=gate_run.gates,
        counts=training.counts,
        language=training.language,
        limits=training.limits,
        labels=labeled.model_copy(update={"released_by_source": training.label_sources}),
        licence=licence_section(spec, released),
        storage=storage_record(paths, spec, ingested),
        release_record=release_record(
            paths.root, gate_run.gates, load_allowances(paths.root, spec.name), erased, lists
        ),
    )
    with release_lock(paths.root, spec.name):
        residue = ReleaseResidue(
            text_columns=spec.columns.text,
            id_column=spec.id_column,
            allowances=load_allowances(paths.root, spec.name),
            stored_ids=lambda: stored_row_ids(paths, spec),
            record=lambda review: _record_residue(paths, run_id, review),
        )
        # A fresh clone holds datasets.dvc but not datasets/: fetch what is released before numbering.
        fetch_missing_versions(paths.root, spec.name)
        prepare_releases(paths, spec)
        outcome = release(paths.root, spec.name, frame, body, residue=residue, kill=kill)
        withdrawals = versions_to_withdraw(paths.root, spec.name, spec.columns.user, erased, outcome.version)
        # (a version holding both an erased user and a listed partner row is withdrawn once, for both)
        withdrawals += versions_holding_partner_rows(paths.root, spec.name, spec, lists, outcome.version, key)
        # An unchanged version without its tag was cut short before publishing: finish it.
        unpublished = vcs.is_git_repo(paths.root) and outcome.tag is None
        if not publish or not (outcome.created or withdrawals or unpublished):
            return outcome
        # Also finishes withdrawals a crash cut short: their files go, their objects are purged.
        deleted = withdraw(paths.root, spec.name, withdrawals, kill=kill)
        extra = [
            str(registry_path(paths.root, spec.name).relative_to(paths.root)),
            str(ERASURE_LOG),
            str(PARTNER_DELETIONS_LOG),
        ]
        extra += what_built_it(paths, spec_file, spec)
        extra += audit_release(paths.root, outcome)  # the release's entries, the change log, the log itself
        purge = lambda: purge_objects(paths.root, deleted)  # noqa: E731
        published = publish_release(paths.root, outcome, extra, purge=purge, kill=kill)
        close_version_stores(paths, spec)  # DVC's cache and local remote hold the released bytes too
        return published


def what_built_it(paths: DatasetPaths, spec_file: Path, spec: DatasetSpec | None = None) -> list[str]:
    """Make the work tree hold what a release commits beside the pointer, and name it: the run's
    gate reports (copied to `reports/<name>/`), the retention deletions since the last release
    (moved into `privacy/retention_log.jsonl`), the spec, its GX suite, `waivers.yaml`, the labeling
    guideline, the imported annotations and the steward's adjudications (`labeling/<name>/`), the
    partner sources' decision records (`decisions/<name>/`) and assessments
    (`reports/<name>/partners/`), and the dvc.yaml stages (rewritten
    from the workspace's specs). Returns paths relative to the workspace; files outside it (a spec
    given from elsewhere) are left out."""
    root = paths.root.resolve()
    if paths.reports.is_dir():
        paths.released_reports.mkdir(parents=True, exist_ok=True)
        for report in sorted(paths.reports.iterdir()):
            shutil.copy2(report, paths.released_reports / report.name)
    committed = [str(commit_pending_log(paths))]
    sources = [spec_file.resolve(), paths.suite.resolve(), root / WAIVERS_FILE]
    if spec is not None and spec.labeling and spec.labeling.guideline:
        sources.append(paths.landing(spec.labeling.guideline).resolve())
    sources += sorted(paths.labels_store.rglob("*.csv"))
    if spec is not None:  # the steward's decisions, as they were read: the folder, so a removed record goes too
        sources += [decision_path(root, spec.name, "-").parent]
        # and the assessments they were drafted from (figures and names only: no sample value)
        sources += [paths.released_reports / "partners"]
    committed += [str(p.relative_to(root)) for p in sources if p.is_relative_to(root) and p.exists()]
    if spec_file.resolve().is_relative_to(root):  # declared in this workspace: its stage is in dvc.yaml
        write_stages(root)
        committed.append(DVC_YAML)
    return committed


def _record_residue(paths: DatasetPaths, run_id: str, review: ResidueReview) -> None:
    record_check(
        paths,
        CheckRecord(
            name="pii_residue_in_files",
            asset="release",
            run_id=run_id,
            passed=review.passed,
            description=review.description(),
            residue=review,
        ),
    )
    if not review.passed:  # the release stops here: the run's gate report says why
        write_gate_report(paths, run_id)


def licence_section(spec: DatasetSpec, released: dict[str, int]) -> LicenceSection:
    """The version's licence section from the sources its rows come from (`released`: rows per
    source): each one's licence, and the partner sources' terms rolled up (`terms.roll_up`)."""
    used = [s for s in spec.sources if released.get(s.name)]
    partners = {s.name: s.terms for s in used if s.terms is not None}
    return LicenceSection(
        licences={s.name: s.licence for s in used}, partner_terms=roll_up(partners) if partners else None
    )


def _input_summary(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source_name: str,
    days: list[IngestReport],
    eligible: EligibilityReport,
    released: int,
) -> InputSummary:
    source = next(s for s in spec.sources if s.name == source_name)
    partitions = [d.partition for d in days]
    exports = read_ledger(paths, source.name).exports
    return InputSummary(
        source=source.name,
        kind=source.kind,
        owner=source.owner,
        steward=source.steward,
        legal_basis=source.legal_basis,
        licence=source.licence,
        terms=source.terms,
        use=next((use for use in eligible.partners if use.source == source.name), None),
        released=released,
        path=source.location,
        partitions=f"{partitions[0]}..{partitions[-1]} ({len(partitions)} days)" if partitions else "none",
        sha256=combined_sha256([e.sha256 for e in exports]),
        rows=sum(d.accounting.rows_in for d in days),
        exports=len(exports),
        replaced=sum(e.replaced for e in exports),
    )


def _policies(spec: DatasetSpec, redacted: list[RedactionReport], eligible: EligibilityReport) -> list[Policy]:
    replaced: dict[str, int] = {}
    for day in redacted:
        for kind, n in day.replaced.items():
            replaced[kind] = replaced.get(kind, 0) + n
    replaced = dict(sorted(replaced.items()))  # by type, as manifests and cards have listed them
    dropped = sorted({c for d in redacted for c in d.dropped_columns})
    removed = eligible.accounting.removed
    storage = eligible.retention_storage
    retention = spec.privacy.retention
    sensitive = f", {retention.sensitive.keep} for {retention.sensitive.categories}" if retention.sensitive else ""
    consent, erased = removed.get("consent_opt_out", 0), removed.get("erasure_request", 0)
    expired, expired_sensitive = removed.get("retention_expired", 0), removed.get("retention_expired_sensitive", 0)
    oldest = storage.oldest_day_kept.isoformat() if storage.oldest_day_kept else None
    # What a declared-absent column keeps from applying is said in the policy itself.
    limits = {limit.rule: limit.reason for limit in spec.limits()}
    pseudonymized = spec.pseudonymized_columns
    policies: list[Policy] = [
        MinimisationPolicy(
            dropped_columns=dropped,
            # With keep_raw the raw zone keeps every column as written: they are dropped after it.
            summary=f"columns dropped {'from the redacted zone on' if spec.privacy.keep_raw else 'before storage'}: "
            f"{dropped or 'none'}",
        ),
        RedactionPolicy(
            replaced=replaced, summary="replaced in text: " + ", ".join(f"{k} {v}" for k, v in replaced.items())
        ),
        PseudonymisationPolicy(
            columns=pseudonymized,
            summary=f"keyed HMAC-SHA256 of {pseudonymized}"
            + (f" (not applied to a person: {limits['pseudonymisation']})" if "pseudonymisation" in limits else ""),
        ),
        ConsentPolicy(
            rows_removed=consent,
            opted_out_users=eligible.opted_out_users,
            summary=f"not applied: {limits['consent']}"
            if "consent" in limits
            else f"{consent} rows of {eligible.opted_out_users} opted-out users excluded",
        ),
        ErasurePolicy(
            requests=eligible.erasure_requests,
            rows_removed=erased,
            summary=f"not applied: {limits['erasure']}"
            if "erasure" in limits
            else f"{eligible.erasure_requests} erasure request(s) on record; {erased} rows excluded",
        ),
        RetentionOnStoragePolicy(
            **dict(storage),
            summary=f"days before {oldest} deleted from every zone ({storage.files_deleted} files this run); "
            f"{storage.sensitive_rows_deleted} sensitive rows deleted from storage",
        ),
        RetentionPolicy(
            rows_removed=expired + expired_sensitive,
            summary=f"kept {retention.default}{sensitive}; {expired} + {expired_sensitive} (sensitive) rows expired"
            + (f" ({limits['retention']})" if "retention" in limits else ""),
        ),
    ]
    return policies + _partner_deletion_policy(spec, eligible)


def _partner_deletion_policy(spec: DatasetSpec, eligible: EligibilityReport) -> list[Policy]:
    """The partners' delete lists, for a dataset with a partner source that receives them."""
    if not any(s.deletions for s in spec.sources):
        return []
    purged = eligible.partner_deletions.sources
    lists = sum(len(s.lists) for s in purged)
    ids = sum(s.ids_requested for s in purged)
    removed = eligible.accounting.removed.get("partner_deletion_request", 0)
    return [
        PartnerDeletionPolicy(
            lists=lists,
            ids_requested=ids,
            rows_removed=removed,
            summary=f"{lists} partner delete list(s) on record naming {ids} record id(s); their rows were deleted "
            f"from storage when each list was applied, {removed} more left out of this build "
            "(privacy/partner_deletions_log.jsonl)",
        )
    ]
