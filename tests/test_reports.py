"""The HTML gate report and the dataset card, rendered from their Jinja2 templates: values from the
data are escaped in HTML, the card keeps its text, and the templates ship with the package."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from conftest import PROJECT

from pipelines.lib.accounting import RowAccounting
from pipelines.lib.privacy.residue import ResidueFinding
from pipelines.lib.privacy.residue_review import AllowedFinding, ResidueReview
from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_html import render_gate_report
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.quality.waivers import Waiver
from pipelines.lib.release.card import render_card
from pipelines.lib.reports import GateRun, Manifest, TrainingSetReport

FIXTURES = Path(__file__).parent / "fixtures" / "card"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def gate(name: str, passed: bool, failing: list[str] | None = None, waiver: Waiver | None = None, **more) -> GateResult:
    return GateResult.model_validate(
        {
            "name": name,
            "severity": "error",
            "passed": passed,
            "measured": 12,
            "required": 1000,
            "failing": failing or [],
            "waiver": waiver,
        }
        | more
    )


def training(counts: list[dict], weekly: dict[str, int]) -> TrainingSetReport:
    """The training set's report as the gate report reads it: counts (`label` may be named by its
    column, as manifests written before the typed reports did) and examples per week."""
    accounting = RowAccounting(rows_in=0, rows_out=0)
    return TrainingSetReport(as_of=date(2026, 10, 30), accounting=accounting, counts=counts, weekly=weekly)


def manifest_fixture() -> Manifest:
    return Manifest.model_validate_json((FIXTURES / "manifest.json").read_bytes())


def residue_check(row_id: str, reason: str) -> CheckRecord:
    unreviewed = ResidueFinding(dataset="d", row_id=row_id, column="body", kind="email", offset=3)
    allowed = AllowedFinding(
        finding=ResidueFinding(
            dataset="d", row_id="T2", column="body", kind="digit_run", offset=9, file="train.parquet"
        ),
        reason=reason,
        approver="data-governance/alice",
        expires=date(2999, 12, 31),
        entry="waivers.yaml:2 residue_allow[0]",
    )
    review = ResidueReview(scope="redacted", rows=2, findings=2, unreviewed=[unreviewed], allowed=[allowed])
    return CheckRecord(name="pii_residue", asset="redacted", passed=False, description="2 findings", residue=review)


def test_the_html_report_escapes_every_value_from_the_data():
    counts = [{"label": SCRIPT, "language": SCRIPT, "channel": SCRIPT, "split": "train", "n": 4}]
    waiver = Waiver(dataset=SCRIPT, gate=SCRIPT, approver=SCRIPT, expires=date(2999, 12, 31), reason=SCRIPT)
    run = GateRun(
        run_id=SCRIPT, as_of=date(2026, 10, 30), gates=[gate(SCRIPT, False, [SCRIPT], waiver, explanation=SCRIPT)]
    )
    html = render_gate_report(SCRIPT, run, training(counts, {SCRIPT: 4}), [residue_check(SCRIPT, SCRIPT)])
    assert "<script" not in html
    # dataset and run id (title, text: 4), gate name, its explanation, segment, waiver approver and
    # reason (5), each coverage plot's bar title (class and series), class label and legend (2 x 4),
    # the week (bar title, first and last week: 3), the finding's row id and the allowance's reason (2)
    assert html.count(ESCAPED) == 22
    assert f"<td>{ESCAPED}<br>{ESCAPED}<br><em>waived by {ESCAPED} until 2999-12-31: {ESCAPED}</em></td>" in html
    # The waived gate does not block; the failed residue check does.
    assert "<strong>Blocked by pii_residue (redacted): no version was released.</strong>" in html


def test_the_html_report_lists_gates_checks_findings_and_plots():
    counts = [
        {"category": "Billing", "language": "en", "channel": "email", "split": "train", "n": 30},
        {"category": "Billing", "language": "de", "channel": "web", "split": "test", "n": 10},
        {"category": "Account", "language": "en", "channel": "web", "split": "train", "n": 5},
    ]
    gates = [
        gate("min_examples_per_class", False, ["Account: 5"], explanation="class 'Account' has 5 examples"),
        gate("min_share_per_class", False, ["Account: 2%"], severity="warn"),
        gate("max_split_leakage", True, explanation="no held-out example has a text also in train"),
    ]
    evaluated = datetime(2026, 10, 31, 3, tzinfo=UTC)
    run = GateRun(run_id="r1", as_of=date(2026, 10, 30), evaluated_at=evaluated, gates=gates)
    weekly = {"2026-10-19": 5, "2026-10-26": 40}
    html = render_gate_report("ticket_triage", run, training(counts, weekly), [])
    assert (
        "<p>Run <code>r1</code>, as of 2026-10-30,\nevaluated 2026-10-31T03:00:00+00:00: 3 gates, 2 not passed."
        " <strong>Blocked by min_examples_per_class: no version was released.</strong></p>" in html
    )
    # The status is the one rule's; the result is the explanation, then the segments if it failed.
    assert (
        '<span class="status" style="background:#c62828">FAIL</span></td><td>min_examples_per_class</td>'
        "<td>error</td><td>12</td><td>1000</td><td>class &#39;Account&#39; has 5 examples<br>Account: 5</td>" in html
    )
    assert '<span class="status" style="background:#b26a00">WARN</span></td><td>min_share_per_class</td>' in html
    assert "<td>no held-out example has a text also in train</td></tr>" in html
    assert "checks" not in html  # no checks recorded: no section
    for figure in ("coverage-language", "coverage-channel", "freshness"):
        assert f'<figure id="{figure}">' in html
    language = re.search(r'<figure id="coverage-language">.*?</figure>', html).group(0)
    assert language.count('<rect class="bar"') == 4  # 2 classes x 2 languages
    assert "<title>Billing / en: 30</title>" in language and "<title>Account / de: 0</title>" in language
    assert '<tspan fill="#4e79a7">■ de</tspan> <tspan fill="#f28e2b">■ en</tspan>' in language
    assert html.count("<title>week of ") == 2

    checks = [
        residue_check("T1", "a serial number"),
        CheckRecord(name="row_accounting", asset="eligible", passed=True, description="ok"),
    ]
    html = render_gate_report("ticket_triage", run, None, checks)
    assert html.count("<p>No examples.</p>") == 2  # coverage and freshness
    assert (
        "<td>unreviewed</td><td>redacted</td><td></td><td>T1</td><td>body</td><td>3</td><td>email</td><td></td>" in html
    )
    allowed = (
        "<td>allowed</td><td>redacted</td><td>train.parquet</td><td>T2</td><td>body</td><td>9</td><td>digit_run</td>"
    )
    assert f"{allowed}<td>data-governance/alice until 2999-12-31: a serial number</td>" in html
    no_findings = render_gate_report("ticket_triage", run, training([], {}), checks[1:])
    assert "<h2>PII residue findings</h2><p>No PII residue findings.</p>" in no_findings


def test_a_run_a_check_blocked_has_its_checks_and_no_gates_or_plots():
    checks = [residue_check("T1", "a serial number")]
    html = render_gate_report("ticket_triage", GateRun(run_id="r2"), None, checks)
    assert "0 gates, 0 not passed. <strong>Blocked by pii_residue (redacted): no version was released.</strong>" in html
    assert html.count("<p>No examples.</p>") == 2  # coverage and freshness


def test_the_card_renders_from_its_template_with_the_same_text():
    """The expected card, byte for byte, from a typed manifest with a waived gate, a warned one
    and an allowed residue finding: each gate's result is its status, a known gap its explanation."""
    card = render_card(manifest_fixture())
    assert card == (FIXTURES / "DATASET_CARD.md").read_text()
    sections = re.findall(r"^## (.+)$", card, flags=re.MULTILINE)
    assert sections == [
        "Files",
        "Sources",
        "Licence",
        "Coverage",
        "Labels",
        "Quality gates",
        "Privacy treatment",
        "Access and escalation",
        "What could not apply",
        "PII residue in the released files",
        "Release record",
        "Row accounting",
        "Known gaps",
        "How to get it",
    ]


def test_a_card_from_a_bare_manifest_says_what_is_missing():
    full = manifest_fixture()
    content = full.spec.content | {"name": "d", "description": ""}
    bare = full.model_copy(
        update={
            "dataset": "d",
            "version": 3,
            "spec": full.spec.model_copy(update={"content": content}),
            "files": {},
            "inputs": [],
            "policies": [],
            "accounting": {},
            "gates": [],
            "counts": [],
            "pii_residue_in_files": None,
        }
    )
    card = render_card(bare)
    assert card.startswith("# d v3\n\n_No description declared._\n")
    assert "## Coverage\n\n_No rows._\n" in card and "## PII residue in the released files\n\n_Not checked._\n" in card
    assert "- None found by the declared gates." in card and card.endswith("--rev d@v3`.\n")


def test_the_card_is_markdown_not_html():
    manifest = manifest_fixture()
    content = manifest.spec.content | {"description": "Tickets <b>routed</b> by R&D"}
    manifest = manifest.model_copy(update={"spec": manifest.spec.model_copy(update={"content": content})})
    assert "Tickets <b>routed</b> by R&D" in render_card(manifest)


def test_the_templates_ship_with_the_package():
    package_data = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    templates = sorted((PROJECT / "pipelines" / "templates").iterdir())
    assert [t.name for t in templates] == [
        "data_brief.md.j2",
        "dataset_card.md.j2",
        "feedback_postmortem.md.j2",
        "feedback_report.html.j2",
        "gate_report.html.j2",
        "labeling_plan.md.j2",
        "partner_assessment.md.j2",
    ]
    for template in templates:
        relative = str(template.relative_to(PROJECT / "pipelines"))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in package_data["pipelines"]), relative
        assert (resources.files("pipelines") / relative).is_file()
