"""Asset-check results built from the steps' typed reports: contracts, row accounting, PII
residue, the expectation suite and every gate. Checks that are not gates are also kept per run
(`check_records`), so that `trainset gates` lists them beside the gates; a check that blocks
writes the run's HTML gate report at once, and links it. Metadata holds counts, ids, offsets and
kinds only."""

from __future__ import annotations

import dagster as dg

from pipelines.lib.privacy.residue_review import ResidueReview
from pipelines.lib.quality import reconcile
from pipelines.lib.quality.check_records import CheckRecord, record_check
from pipelines.lib.quality.gate_report import write_gate_report
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.reports import ContractResult, ExpectationOutcome
from pipelines.lib.workspace import DatasetPaths

#: findings listed in one check's metadata table (all of them are counted, and kept in the record)
METADATA_ROWS = 200
_FINDING_COLUMNS = [("status", "string"), ("row_id", "string"), ("column", "string")]
_FINDING_COLUMNS += [("offset", "int"), ("kind", "string"), ("allowance", "string")]


def accounting_result(
    asset_key: dg.AssetKey, result: reconcile.Reconciliation, paths: DatasetPaths, run_id: str | None
) -> dg.AssetCheckResult:
    """The blocking row_accounting check of an asset, kept for `trainset gates`."""
    record = record_and_report(
        paths,
        CheckRecord(
            name="row_accounting",
            asset=asset_key.path[-1],
            run_id=run_id,
            passed=result.passed,
            description=result.description(),
            rows_in=result.rows_in,
            rows_out=result.rows_out,
            rows_removed=result.removed,
        ),
    )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="row_accounting",
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.description(),
        metadata={"rows_in": result.rows_in, "rows_out": result.rows_out, "rows_removed": result.removed} | record,
    )


def residue_result(
    asset_key: dg.AssetKey, review: ResidueReview, paths: DatasetPaths, run_id: str | None
) -> dg.AssetCheckResult:
    """The blocking pii_residue check: every finding with its row, column, offset and kind."""
    record = record_and_report(
        paths,
        CheckRecord(
            name="pii_residue",
            asset=asset_key.path[-1],
            run_id=run_id,
            passed=review.passed,
            description=review.description(),
            residue=review,
        ),
    )
    rows = [{"status": "unreviewed", **_place(f), "allowance": ""} for f in review.unreviewed]
    rows += [{"status": "allowed", **_place(a.finding), "allowance": a.entry} for a in review.allowed]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="pii_residue",
        passed=review.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=review.description(),
        metadata={
            "rows_scanned": review.rows,
            "findings": review.findings,
            "unreviewed": len(review.unreviewed),
            "allowed": len(review.allowed),
            "allowances_matching_nothing": len(review.unmatched),
            "allowances_expired": len(review.expired),
            "findings_table": dg.MetadataValue.table(
                records=[dg.TableRecord(row) for row in rows[:METADATA_ROWS]],
                schema=dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in _FINDING_COLUMNS]),
            ),
        }
        | record,
    )


def _place(finding) -> dict:
    return {"row_id": finding.row_id, "column": finding.column, "offset": finding.offset, "kind": finding.kind}


def contract_result(
    asset_key: dg.AssetKey, name: str, contract: ContractResult, paths: DatasetPaths, run_id: str | None
) -> dg.AssetCheckResult:
    """A pandera contract check: failure counts per column and check, never the failing values."""
    failures = contract.failures
    description = "pandera contract holds" if contract.passed else f"{sum(failures.values())} contract failure(s)"
    record = record_and_report(
        paths,
        CheckRecord(
            name=name,
            asset=asset_key.path[-1],
            run_id=run_id,
            passed=contract.passed,
            description=description,
            contract=contract,
        ),
    )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=contract.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=dict(failures) | record,
    )


def expectations_result(asset_key: dg.AssetKey, expectations: list[ExpectationOutcome]) -> dg.AssetCheckResult:
    """The GX expectation suite as one blocking check: each unmet expectation and what was observed."""
    failed = [e for e in expectations if not e.success]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="expectation_suite",
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{e.type}({e.column}): {e.observed or 'failed'}" for e in failed)
        or f"all {len(expectations)} expectations met",
        metadata={"expectations": len(expectations), "failed": len(failed)},
    )


def gate_check_result(asset_key: dg.AssetKey, gate: GateResult) -> dg.AssetCheckResult:
    """One gate as a check: ERROR (blocking) when a failure would stop the release, as the one
    rule decides; a waived or `warn` gate fails as a WARN, visible but not blocking."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=gate.name,
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR if gate.enforced else dg.AssetCheckSeverity.WARN,
        description=gate.message(),
        metadata={
            "status": gate.status.value,
            "measured": str(gate.measured),
            "required": str(gate.required),
            "failing": ", ".join(s.text for s in gate.failing),
            "waiver": f"{gate.waiver.approver} until {gate.waiver.expires}" if gate.waiver else "",
        },
    )


def record_and_report(paths: DatasetPaths, record: CheckRecord) -> dict:
    """Keep a check's verdict for `trainset gates`; when it blocks, write the run's HTML gate
    report now (the run stops here) and return its link for the check's metadata, else {}."""
    record_check(paths, record)
    if not record.status.blocks:
        return {}
    return {"gate_report": dg.MetadataValue.path(str(write_gate_report(paths, record.run_id)))}
