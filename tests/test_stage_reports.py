"""Typed stage reports: written and read through `report_files`, balanced after later deletions,
one rule for what a result means, and the manifest's committed JSON Schema."""

from __future__ import annotations

import json
from datetime import date

import jsonschema
import pytest
from conftest import AS_OF, PROJECT, land, small_spec

from pipelines.lib.ingest.steps import land_raw
from pipelines.lib.privacy.steps import redact_partitions
from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_results import GateResult, GateStatus, gate_verdict
from pipelines.lib.quality.waivers import Waiver
from pipelines.lib.report_files import (
    MissingReportError,
    ingest_days,
    read_eligibility,
    read_ingest,
    read_redaction,
    record_deletion,
    redaction_days,
)
from pipelines.lib.reports import MANIFEST_SCHEMA, IngestReport, Manifest, manifest_json_schema
from pipelines.lib.workspace import DatasetPaths

FIXTURES = PROJECT / "tests" / "fixtures" / "manifests"


def test_the_committed_manifest_schema_is_generated_from_the_model():
    committed = json.loads((PROJECT / MANIFEST_SCHEMA).read_text())
    assert committed == manifest_json_schema(), f"{MANIFEST_SCHEMA} is stale: run `make schemas` and commit it"
    jsonschema.Draft202012Validator.check_schema(committed)


def test_a_manifest_written_before_typed_reports_still_reads():
    """Versions released earlier stay pullable: their manifest validates as a `Manifest`."""
    manifest = Manifest.model_validate_json((FIXTURES / "written_before_typed_reports.json").read_bytes())
    assert manifest.ref == "ticket_triage@v1" and manifest.rows == 17991
    assert manifest.counts[0].label == "Account" and manifest.contract.schema_name == "ticket_triage.training_set"
    # A failed `warn` gate as it was written then: its shortfalls as plain strings.
    [warned] = [g for g in manifest.gates if not g.passed]
    assert warned.status is GateStatus.WARNED and warned.failing[0].text.startswith("Account: 9.7% < 10%")
    assert {p.name for p in manifest.policies} >= {"redaction", "consent", "retention_on_storage"}
    written = json.loads(manifest.model_dump_json())  # as written now: matches the committed schema
    jsonschema.validate(written, json.loads((PROJECT / MANIFEST_SCHEMA).read_text()))
    assert written["counts"][0]["label"] == "Account" and written["contract"]["schema"] == manifest.contract.schema_name


def test_stage_reports_are_written_read_and_kept_balanced_after_later_deletions(tmp_path):
    spec = small_spec()
    folder = land(tmp_path, rows=600, months=1)
    days = sorted(p.stem for p in folder.glob("*.csv") if p.stem <= AS_OF.isoformat())[-2:]
    paths = DatasetPaths(tmp_path, spec.name)
    batch = land_raw(paths, spec, "tickets", days, AS_OF)
    assert [read_ingest(paths, "tickets", d) for d in days] == batch.days == ingest_days(paths, "tickets")
    assert batch.accounting.balanced and batch.accounting.rows_out > 0
    redacted = redact_partitions(paths, spec, days, b"k" * 32)
    assert redaction_days(paths) == redacted.days and redacted.replaced and redacted.contract.passed
    # The file is the model's JSON, nothing else.
    stored = paths.stats("raw_tickets", days[0])
    assert IngestReport.model_validate_json(stored.read_bytes()) == batch.days[0]

    record_deletion(paths, "redacted", days[0], "erasure_request", 2)
    after = read_redaction(paths, days[0]).accounting
    assert after.balanced and after.rows_out == redacted.days[0].accounting.rows_out - 2
    assert after.removed == {"erasure_request": 2}
    with pytest.raises(ValueError, match="not a zone with row accounting"):
        record_deletion(paths, "quarantine", None, "erasure_request", 1)
    with pytest.raises(MissingReportError, match="no EligibilityReport at .*eligible.json"):
        read_eligibility(paths)


@pytest.mark.parametrize(
    ("severity", "passed", "waived", "status", "blocks"),
    [
        ("error", True, False, GateStatus.PASSED, False),
        ("error", False, False, GateStatus.FAILED, True),
        ("error", False, True, GateStatus.WAIVED, False),
        ("warn", False, False, GateStatus.WARNED, False),
        ("warn", False, True, GateStatus.WAIVED, False),
        ("warn", True, False, GateStatus.PASSED, False),
    ],
)
def test_one_rule_decides_status_and_blocking(severity, passed, waived, status, blocks):
    assert gate_verdict(severity, passed, waived) is status and status.blocks is blocks
    waiver = Waiver(dataset="d", gate="g", reason="a plan to close the gap", approver="al", expires=date(2999, 1, 1))
    gate = GateResult(
        name="g", severity=severity, passed=passed, measured=1, required=2, waiver=waiver if waived else None
    )
    assert gate.status is status and gate.blocking is blocks
    assert json.loads(gate.model_dump_json())["status"] == status.value
    check = CheckRecord(name="row_accounting", asset="raw_tickets", passed=passed, description="")
    assert check.status is (GateStatus.PASSED if passed else GateStatus.FAILED)
