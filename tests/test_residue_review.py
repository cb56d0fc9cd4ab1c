"""Residue findings reviewed by a steward: an unreviewed finding blocks, an allowed one is
released and listed, an allowance that names nothing is an error. End to end through Dagster,
`trainset gates`, the manifest, the card and the HTML gate report."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import yaml
from click.testing import CliRunner
from conftest import AS_OF, land, make_workspace, small_spec

from pipelines.cli import cli
from pipelines.lib.privacy.residue import ResidueFinding
from pipelines.lib.privacy.residue_review import review_residue
from pipelines.lib.quality.waivers import ResidueAllowance
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.runner import materialize_dataset

TODAY = date(2026, 11, 1)


def finding(row_id="T1", offset=16, kind="digit_run") -> ResidueFinding:
    return ResidueFinding(dataset="ticket_triage", row_id=row_id, column="body", kind=kind, offset=offset)


def allowance(index=0, expires=date(2026, 12, 31), **changes) -> ResidueAllowance:
    fields = {"dataset": "ticket_triage", "row_id": "T1", "column": "body", "offset": 16, "kind": "digit_run"}
    entry = ResidueAllowance(
        **(fields | changes), reason="a forum post id, not PII", approver="data-governance/alice", expires=expires
    )
    entry._where = f"waivers.yaml:{3 + 9 * index} residue_allow[{index}]"
    return entry


def review(findings, allowances, stored=("T1", "T2", "T9")):
    return review_residue(
        findings,
        allowances,
        TODAY,
        scope="redacted 2026-10-30",
        rows=3,
        scanned_ids={"T1", "T2"},
        stored_ids=lambda: stored,
    )


def test_an_allowed_finding_passes_and_any_other_blocks():
    result = review([finding(), finding("T2", 3, "email")], [allowance()])
    assert not result.passed and [f.row_id for f in result.unreviewed] == ["T2"]
    [allowed] = result.allowed
    assert allowed.finding == finding() and allowed.entry == "waivers.yaml:3 residue_allow[0]"
    assert "1 unreviewed PII residue finding(s) in redacted 2026-10-30: row T2 body offset 3 (email)" in (
        result.description()
    )
    assert review([finding()], [allowance()]).passed
    assert "1 allowed by a steward" in review([finding()], [allowance()]).description()


def test_an_allowance_naming_no_finding_is_an_error_that_says_what_is_there():
    result = review([finding()], [allowance(offset=17)])
    assert not result.passed and result.unreviewed == [finding()]
    [problem] = result.unmatched
    assert problem.entry == "waivers.yaml:3 residue_allow[0]" and problem.names == "row T1 body offset 17 (digit_run)"
    assert "matches no finding (findings in that row: body offset 16 (digit_run))" in problem.problem
    assert "waivers.yaml:3 residue_allow[0]: row T1 body offset 17 (digit_run): matches no finding" in (
        result.description()
    )


def test_an_allowance_for_a_row_elsewhere_waits_and_one_for_no_stored_row_is_an_error():
    result = review([], [allowance(row_id="T9"), allowance(1, row_id="T404")])
    assert result.elsewhere == 1 and not result.passed
    [problem] = result.unmatched
    assert problem.entry == "waivers.yaml:12 residue_allow[1]" and "no stored row of the dataset has this id" in (
        problem.problem
    )


def test_an_expired_allowance_no_longer_applies_and_is_reported():
    result = review([finding()], [allowance(expires=TODAY - timedelta(days=1))])
    assert not result.passed and result.unreviewed == [finding()] and not result.unmatched
    [expired] = result.expired
    assert "expired on 2026-10-31; it no longer applies" in expired.problem
    assert "waivers.yaml:3 residue_allow[0]: row T1 body offset 16 (digit_run): expired on" in result.description()
    nothing_left = review([], [allowance(expires=TODAY - timedelta(days=1))])
    assert nothing_left.passed and "residue_allow[0]: row T1 body offset 16 (digit_run): expired on" in (
        nothing_left.description()
    )


# -- end to end -----------------------------------------------------------------------------------

# A serial number: the redactor keeps a number its name introduces, while the residue check,
# broad on purpose and written apart, does not know that name and reports the 7+ digits. A
# steward looks at it and allows it.
SERIAL = "48213377"
BODY = f"Hello, the serial number {SERIAL} is on the label. Thanks."
OFFSET = BODY.index(SERIAL)
# Written in full-width digits: a redactor that does not fold them leaves it, and then the
# residue check must report it; one that does replaces it. Either way it is never released.
FULL_WIDTH_PHONE = "０１７１ ２３４５６７８"


def run(root, start=None):
    spec = small_spec()
    return materialize_dataset(spec, root, start=start, end=start, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


def plant(folder, day: str, phone: bool) -> tuple[str, str]:
    """Plant the serial number (and the phone) in a recent Billing ticket of a user who did not opt out."""
    path = folder / f"{day}.csv"
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    frame.loc[0, ["body", "category", "language", "user_id"]] = [BODY, "Billing", "en", "u9999999"]
    frame.loc[1, "body"] = f"Please call me on {FULL_WIDTH_PHONE} today." if phone else frame.loc[1, "body"]
    frame.to_csv(path, index=False)
    return frame.loc[0, "ticket_id"], frame.loc[1, "ticket_id"]


def gates(root, *args):
    return CliRunner().invoke(cli, ["gates", "--workspace", str(root), *args]).output


def test_a_finding_blocks_the_release_until_a_steward_allows_it(tmp_path):
    root = make_workspace(tmp_path / "workspace")
    folder = land(root, rows=3000, months=2)
    day = (AS_OF - timedelta(days=10)).isoformat()
    original = (folder / f"{day}.csv").read_text()
    row_id, phone_row = plant(folder, day, phone=True)
    where = f"row {row_id} body offset {OFFSET} (digit_run)"

    blocked = run(root)
    assert not blocked.success and versions(root / "datasets" / "ticket_triage") == []
    [check] = [c for c in blocked.failed_checks if c.startswith("pii_residue")]
    assert where in check and "residue_allow" in check
    redacted = pd.read_parquet(root / f"data/warehouse/ticket_triage/redacted/{day}.parquet")
    phone_left = FULL_WIDTH_PHONE in redacted.set_index("ticket_id").loc[phone_row, "body"]
    assert (f"row {phone_row} body offset 18 (digit_run)" in check) == phone_left
    report = gates(root)
    assert "FAIL   error pii_residue" in report and f"unreviewed {where}" in report
    assert "pass   error row_accounting       redacted" in report
    as_json = json.loads(gates(root, "--format", "json"))
    residue = next(c for c in as_json["checks"] if c["name"] == "pii_residue")
    assert {"row_id": row_id, "column": "body", "offset": OFFSET, "kind": "digit_run"}.items() <= (
        residue["residue"]["unreviewed"][0].items()
    )
    by_run = gates(root, "--run", blocked.run_id[:8])  # a run stopped before any gate: its checks
    assert f"run {blocked.run_id}" in by_run and "0 gates" in by_run and f"unreviewed {where}" in by_run
    shown = "\n".join(blocked.failed_checks) + report + by_run + json.dumps(as_json)
    assert SERIAL not in shown and FULL_WIDTH_PHONE not in shown

    # The steward reviews the finding, finds a serial number, and allows that one finding.
    (folder / f"{day}.csv").write_text(original)
    plant(folder, day, phone=False)
    entry = {"dataset": "ticket_triage", "row_id": row_id, "column": "body", "offset": OFFSET, "kind": "digit_run"}
    entry |= {"reason": "a device serial number, not a person's", "approver": "data-governance/alice"}
    (root / "waivers.yaml").write_text(yaml.safe_dump({"residue_allow": [entry | {"expires": "2999-12-31"}]}))
    released = run(root, start=date.fromisoformat(day))
    assert released.success, released.failure
    version = root / "datasets" / "ticket_triage" / "v1"
    listed = read_manifest(version).pii_residue_in_files
    assert listed is not None
    [allowed] = listed.allowed
    assert listed.findings == 1 and not listed.unreviewed
    assert allowed.finding.row_id == row_id and (allowed.finding.file or "").endswith(".parquet")
    assert allowed.approver == "data-governance/alice" and allowed.entry == "waivers.yaml:2 residue_allow[0]"
    card = (version / "DATASET_CARD.md").read_text()
    assert f"| {row_id} | body | {OFFSET} | digit_run | data-governance/alice | 2999-12-31 |" in card
    html = (root / "reports/ticket_triage/gate_report.html").read_text()
    assert f"<td>allowed</td><td>redacted</td><td></td><td>{row_id}</td><td>body</td><td>{OFFSET}</td>" in html
    assert f"allowed    {where} by data-governance/alice" in gates(root)

    # An allowance that names no finding (a wrong offset) is an error, never ignored.
    (root / "waivers.yaml").write_text(
        yaml.safe_dump({"residue_allow": [entry | {"offset": OFFSET + 1, "expires": "2999-12-31"}]})
    )
    stale = run(root, start=date.fromisoformat(day))
    assert not stale.success and versions(root / "datasets" / "ticket_triage") == [1]
    [check] = [c for c in stale.failed_checks if c.startswith("pii_residue")]
    stale_entry = f"waivers.yaml:2 residue_allow[0]: row {row_id} body offset {OFFSET + 1} (digit_run)"
    assert f"{stale_entry}: matches no finding" in check
    assert f"(findings in that row: body offset {OFFSET} (digit_run))" in check

    # `trainset gates` headlines the blocked run, not the release before it, and the blocked run
    # wrote its own HTML gate report and said where it is.
    report = gates(root)
    headline = report.splitlines()[0]
    assert f"run {stale.run_id}" in headline and "BLOCKED by pii_residue (redacted): no version released" in headline
    assert f"the gates were last measured by run {released.run_id}" in report
    assert f"{stale_entry}: matches no finding" in report
    assert stale.gate_report == root / "data/warehouse/ticket_triage/gate_runs" / f"{stale.run_id}.html"
    page = stale.gate_report.read_text()
    assert "Blocked by pii_residue (redacted)" in page and "matches no finding" in page
    assert f"gate report: {stale.gate_report}" in report
    as_json = json.loads(gates(root, "--format", "json"))
    assert as_json["run_id"] == stale.run_id and as_json["gates"] == [] and as_json["report"] == str(stale.gate_report)
