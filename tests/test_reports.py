"""The HTML gate report and the dataset card, rendered from their Jinja2 templates: values from the
data are escaped in HTML, the card keeps its text, and the templates ship with the package."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

from conftest import PROJECT

from pipelines.lib.privacy.residue import ResidueFinding
from pipelines.lib.privacy.residue_review import AllowedFinding, ResidueReview
from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_html import render_gate_report
from pipelines.lib.release.card import render_card

FIXTURES = Path(__file__).parent / "fixtures" / "card"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def gate(name: str, passed: bool, failing: list[str] | None = None, waiver: dict | None = None) -> dict:
    return {
        "name": name,
        "severity": "error",
        "passed": passed,
        "measured": 12,
        "required": 1000,
        "failing": failing or [],
        "waiver": waiver,
    }


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
    counts = [{"category": SCRIPT, "language": SCRIPT, "channel": SCRIPT, "split": "train", "n": 4}]
    waiver = {"approver": SCRIPT, "expires": "2999-12-31", "reason": SCRIPT}
    run = {
        "run_id": SCRIPT,
        "as_of": "2026-10-30",
        "evaluated_at": "x",
        "gates": [gate(SCRIPT, False, [SCRIPT], waiver)],
    }
    html = render_gate_report(SCRIPT, run, counts, {SCRIPT: 4}, "category", [residue_check(SCRIPT, SCRIPT)])
    assert "<script" not in html
    # dataset and run id (title, text: 4), gate name, segment, waiver approver and reason (4), each coverage
    # plot's bar title (class and series), class label and legend (2 x 4), the week (bar title, first and
    # last week: 3), the finding's row id and the allowance's reason (2)
    assert html.count(ESCAPED) == 21
    assert f"<td>{ESCAPED}<br><em>waived by {ESCAPED} until 2999-12-31: {ESCAPED}</em></td>" in html


def test_the_html_report_lists_gates_checks_findings_and_plots():
    counts = [
        {"category": "Billing", "language": "en", "channel": "email", "split": "train", "n": 30},
        {"category": "Billing", "language": "de", "channel": "web", "split": "test", "n": 10},
        {"category": "Account", "language": "en", "channel": "web", "split": "train", "n": 5},
    ]
    run = {"run_id": "r1", "as_of": "2026-10-30", "evaluated_at": "2026-10-31T03:00:00+00:00"}
    run["gates"] = [gate("min_examples_per_class", False, ["Account: 5"]), gate("max_split_leakage", True)]
    html = render_gate_report("ticket_triage", run, counts, {"2026-10-19": 5, "2026-10-26": 40}, "category", [])
    assert (
        "<p>Run <code>r1</code>, as of 2026-10-30,\nevaluated 2026-10-31T03:00:00+00:00: 2 gates, 1 not passed.</p>"
        in html
    )
    assert '<span class="status" style="background:#c62828">FAIL</span></td><td>min_examples_per_class</td>' in html
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
    html = render_gate_report("ticket_triage", run, [], {}, "category", checks)
    assert html.count("<p>No examples.</p>") == 3
    assert (
        "<td>unreviewed</td><td>redacted</td><td></td><td>T1</td><td>body</td><td>3</td><td>email</td><td></td>" in html
    )
    allowed = (
        "<td>allowed</td><td>redacted</td><td>train.parquet</td><td>T2</td><td>body</td><td>9</td><td>digit_run</td>"
    )
    assert f"{allowed}<td>data-governance/alice until 2999-12-31: a serial number</td>" in html
    no_findings = render_gate_report("ticket_triage", run, [], {}, "category", checks[1:])
    assert "<h2>PII residue findings</h2><p>No PII residue findings.</p>" in no_findings


def test_the_card_renders_from_its_template_with_the_same_text():
    """The expected card was written by the card's code before it became a template: same text,
    byte for byte, with a waived gate, a failed one and an allowed residue finding."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    card = render_card(manifest)
    assert card == (FIXTURES / "DATASET_CARD.md").read_text()
    sections = re.findall(r"^## (.+)$", card, flags=re.MULTILINE)
    assert sections == [
        "Files",
        "Sources",
        "Coverage",
        "Quality gates",
        "Privacy treatment",
        "PII residue in the released files",
        "Row accounting",
        "Known gaps",
        "How to get it",
    ]


def test_a_card_from_a_bare_manifest_says_what_is_missing():
    card = render_card({"dataset": "d", "version": 3})
    assert card.startswith("# d v3\n\n_No description declared._\n")
    assert "## Coverage\n\n_No rows._\n" in card and "## PII residue in the released files\n\n_Not checked._\n" in card
    assert "- None found by the declared gates." in card and card.endswith("--rev d@v3`.\n")


def test_the_card_is_markdown_not_html():
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    manifest["spec"]["content"]["description"] = "Tickets <b>routed</b> by R&D"
    assert "Tickets <b>routed</b> by R&D" in render_card(manifest)


def test_the_templates_ship_with_the_package():
    package_data = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    templates = sorted((PROJECT / "pipelines" / "templates").iterdir())
    assert [t.name for t in templates] == ["dataset_card.md.j2", "gate_report.html.j2"]
    for template in templates:
        relative = str(template.relative_to(PROJECT / "pipelines"))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in package_data["pipelines"]), relative
        assert (resources.files("pipelines") / relative).is_file()
