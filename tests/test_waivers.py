"""Waivers: a failed ERROR gate released with a steward's dated, recorded decision."""

from __future__ import annotations

import json
import subprocess
from datetime import date

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from conftest import AS_OF, chromium, land, make_workspace, small_spec

from pipelines.cli import cli
from pipelines.lib.quality.gate_results import GateResult, Shortfall
from pipelines.lib.quality.gates import apply_waivers
from pipelines.lib.quality.waivers import WaiverError, load_allowances, load_waivers
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.runner import materialize_dataset

WAIVER = {
    "dataset": "ticket_triage",
    "gate": "min_examples_per_class",
    "reason": "Account volume fell after the 3-month retention; targeted labelling batch planned",
    "approver": "data-governance/alice",
}


def write_waivers(root, *entries):
    (root / "waivers.yaml").write_text(yaml.safe_dump({"waivers": list(entries)}))


def test_waivers_are_validated_and_pii_residue_cannot_be_waived(tmp_path):
    write_waivers(tmp_path, WAIVER | {"expires": "2026-12-31"}, WAIVER | {"dataset": "other", "expires": "2026-12-31"})
    assert [w.gate for w in load_waivers(tmp_path, "ticket_triage")] == ["min_examples_per_class"]
    write_waivers(tmp_path, WAIVER | {"gate": "pii_residue", "expires": "2026-12-31"})
    with pytest.raises(WaiverError, match=r"waivers\[0\]: gate: .*pii_residue cannot be waived"):
        load_waivers(tmp_path, "ticket_triage")
    write_waivers(tmp_path, {k: v for k, v in WAIVER.items() if k != "approver"} | {"expires": "2026-12-31"})
    with pytest.raises(WaiverError, match="approver"):
        load_waivers(tmp_path, "ticket_triage")


def test_an_active_waiver_unblocks_and_an_expired_one_does_not(tmp_path):
    write_waivers(tmp_path, WAIVER | {"expires": "2026-11-30"})
    waivers = load_waivers(tmp_path, "ticket_triage")
    failed = GateResult(
        name="min_examples_per_class",
        severity="error",
        passed=False,
        measured=812,
        required=1000,
        failing=[Shortfall(segment="Account", text="Account: 812 < 1000")],
    )
    [before_expiry] = apply_waivers([failed], waivers, date(2026, 11, 30))
    [after_expiry] = apply_waivers([failed], waivers, date(2026, 12, 1))
    assert not before_expiry.blocking and "WAIVED by data-governance/alice until 2026-11-30" in before_expiry.message()
    assert before_expiry.status == "waived" and not before_expiry.enforced
    assert after_expiry.blocking and after_expiry.waiver is None and after_expiry.status == "failed"
    assert "expired on 2026-11-30" in after_expiry.message()


def test_release_goes_ahead_with_the_waiver_recorded(tmp_path):
    root = make_workspace(tmp_path / "workspace")
    land(root, rows=3000, months=2)  # 9 weeks: the freshness plot still has a bar per week
    spec = small_spec()
    gates = spec.gates.model_dump()
    gates["min_examples_per_class"]["min"] = 1_000_000
    strict = spec.model_copy(update={"gates": type(spec.gates).model_validate(gates)})

    def run():
        return materialize_dataset(strict, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())

    write_waivers(root, WAIVER | {"expires": "2000-01-01"})
    expired = run()
    assert not expired.success and versions(root / "datasets" / "ticket_triage") == []
    assert any("expired on 2000-01-01" in c for c in expired.failed_checks)

    write_waivers(root, WAIVER | {"expires": "2999-12-31"})
    waived = run()
    assert waived.success, waived.failure
    assert any(c.startswith("min_examples_per_class [WARN]") and "WAIVED" in c for c in waived.failed_checks)
    version = root / "datasets" / "ticket_triage" / "v1"
    gate = next(g for g in read_manifest(version).gates if g.name == "min_examples_per_class")
    assert gate.passed is False and gate.waiver is not None and gate.waiver.approver == "data-governance/alice"
    assert gate.status == "waived" and '"status": "waived"' in (version / "manifest.json").read_text()
    card = (version / "DATASET_CARD.md").read_text()
    assert "**waived** (data-governance/alice, until 2999-12-31)" in card and "targeted labelling batch" in card
    # The decision that let the version through is in the release commit, beside the spec.
    tagged = subprocess.run(
        ["git", "show", "ticket_triage@v1:waivers.yaml"], cwd=root, capture_output=True, text=True, check=True
    )
    assert tagged.stdout == (root / "waivers.yaml").read_text()
    # The release record and the audit log the release commit carries say it was released under the waiver.
    (waiver,) = read_manifest(version).release_record.waivers
    assert (waiver.gate, waiver.approver) == ("min_examples_per_class", "data-governance/alice")
    logged = subprocess.run(
        ["git", "show", "ticket_triage@v1:audit/log.jsonl"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    waived_entry = [json.loads(line) for line in logged.splitlines() if '"type": "waiver"' in line]
    assert [(e["event"]["gate"], e["event"]["version"], e["why"]) for e in waived_entry] == [
        ("min_examples_per_class", 1, WAIVER["reason"])
    ]

    report = CliRunner().invoke(cli, ["gates", "--workspace", str(root)]).output
    assert f"run {waived.run_id}" in report
    assert "WAIVED error min_examples_per_class" in report and "waived by data-governance/alice" in report
    assert "Account: " in report and "e.g. '" in report  # a failing segment, with redacted examples
    as_json = json.loads(CliRunner().invoke(cli, ["gates", "--workspace", str(root), "--format", "json"]).output)
    gate = next(g for g in as_json["gates"] if g["name"] == "min_examples_per_class")
    assert gate["measured"] < gate["required"] and gate["examples"]
    assert not any("@" in example for examples in gate["examples"].values() for example in examples)
    by_run = CliRunner().invoke(cli, ["gates", "--workspace", str(root), "--run", expired.run_id[:8]]).output
    assert "FAIL   error min_examples_per_class" in by_run
    assert "BLOCKED by min_examples_per_class: no version released" in by_run.splitlines()[0]
    assert expired.gate_report is not None and expired.gate_report.name == f"{expired.run_id}.html"
    assert "Blocked by min_examples_per_class" in expired.gate_report.read_text()

    report = root / "data/warehouse/ticket_triage/gate_runs" / f"{waived.run_id}.html"
    assert report.read_text() == (root / "reports/ticket_triage/gate_report.html").read_text()
    assert_report_renders_in_chromium(report, tmp_path)


def assert_report_renders_in_chromium(report, tmp_path):
    dom = chromium(report, tmp_path).stdout.decode()
    for figure in ("coverage-language", "coverage-channel", "freshness"):
        section = dom.split(f'<figure id="{figure}">')[1].split("</figure>")[0]
        assert section.count('class="bar"') > 3, figure
    assert "WAIVED" in dom and "data-governance/alice" in dom
    shot = tmp_path / "report.png"
    chromium(report, tmp_path, f"--screenshot={shot}")
    assert shot.stat().st_size > 20_000  # a rendered page with plots, not a blank one


ALLOW = {
    "dataset": "ticket_triage",
    "row_id": "T00000042",
    "column": "body",
    "offset": 16,
    "kind": "digit_run",
    "reason": "a forum post id the customer quoted, not a phone or an account",
    "approver": "data-governance/alice",
    "expires": "2999-12-31",
}


def write_decisions(root, waivers=(), allow=()):
    document = {"waivers": list(waivers), "residue_allow": list(allow)}
    (root / "waivers.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_waiver_naming_a_check_or_an_unknown_gate_is_an_error_that_names_the_line(tmp_path):
    gates = ["min_examples_per_class", "min_share_per_class"]
    for check in ("row_accounting", "pii_residue_in_files", "expectation_suite"):
        write_decisions(tmp_path, [WAIVER | {"gate": check, "expires": "2026-12-31"}])
        with pytest.raises(WaiverError, match=rf"waivers.yaml:2 waivers\[0\]: gate: .*{check} cannot be waived"):
            load_waivers(tmp_path, "ticket_triage", gates)
    write_decisions(
        tmp_path, [WAIVER | {"expires": "2026-12-31"}, WAIVER | {"gate": "min_exampels", "expires": "2026-12-31"}]
    )
    with pytest.raises(WaiverError) as error:
        load_waivers(tmp_path, "ticket_triage", gates)
    assert "/waivers.yaml:8 waivers[1]: gate 'min_exampels' is not a gate of ticket_triage" in str(error.value)
    assert "its gates: min_examples_per_class, min_share_per_class" in str(error.value)
    assert "correct the name, or remove the entry" in str(error.value)


def test_residue_allowances_are_validated_and_an_unknown_section_is_an_error(tmp_path):
    write_decisions(tmp_path, allow=[ALLOW, ALLOW | {"dataset": "other"}, ALLOW | {"row_id": 1001}])
    allowances = load_allowances(tmp_path, "ticket_triage")
    assert [(a.row_id, a.where) for a in allowances] == [
        ("T00000042", "waivers.yaml:3 residue_allow[0]"),
        ("1001", "waivers.yaml:19 residue_allow[2]"),  # an unquoted numeric id reads as its text
    ]
    write_decisions(tmp_path, allow=[ALLOW, ALLOW | {"kind": "phone", "offset": -1}])
    with pytest.raises(WaiverError) as error:
        load_allowances(tmp_path, "ticket_triage")
    assert "waivers.yaml:11 residue_allow[1]: kind: Input should be 'email'" in str(error.value)
    assert "waivers.yaml:11 residue_allow[1]: offset: Input should be greater than or equal to 0" in str(error.value)
    (tmp_path / "waivers.yaml").write_text(yaml.safe_dump({"residue_allows": [ALLOW]}))
    with pytest.raises(WaiverError, match=r"residue_allows: .*Extra inputs .*sections: waivers, residue_allow"):
        load_allowances(tmp_path, "ticket_triage")
