"""`trainset assess-partner` on two partners' samples (tests/partner_samples.py): ACME's CSV closes
our Account and web gaps under terms that allow training, and is drafted for approval; Globex's
JSONL closes neither, holds sensitive rows under a contract and denies training, and is drafted
for rejection. Every figure the samples were written to hold is found; no value of theirs reaches
the report, the JSON, the draft or the terminal; a signed record is never overwritten.

Our data is written as the pipeline stores it (redacted zone, eligible, training set, a gate run
measured by the gates themselves, imported annotations, a guideline), without running it."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner
from conftest import declare
from partner_samples import AS_OF, GUIDELINE, OUR_CLASSES, OUR_WEB, acme_sample, globex_sample, our_tickets
from sklearn.metrics import cohen_kappa_score

from pipelines.cli import cli
from pipelines.lib.files import write_parquet
from pipelines.lib.partners.decisions import Decision, read_decision
from pipelines.lib.privacy.redaction import redact
from pipelines.lib.quality.gates import evaluate_gates
from pipelines.lib.quality.splits import assign_splits
from pipelines.lib.report_files import write_gate_run
from pipelines.lib.reports import GateRun
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths

TRAINSET = str(Path(sys.executable).parent / "trainset")
ESCALATION = {"gate_failure": "partnerships", "pii_found": "privacy-office", "deletion_request": "partnerships"}
SOURCE = {
    "owner": "partnerships",
    "steward": "data-governance",
    "escalation": ESCALATION,
    "start_date": "2026-01-01",
}
SPEC = {
    "name": "support_triage",
    "owner": "support-ml",
    "steward": "data-governance",
    "escalation": ESCALATION,
    "sources": [
        {
            "name": "tickets",
            "path": "data/landing/tickets",
            "owner": "support-platform",
            "steward": "support-ops",
            "legal_basis": "legitimate_interest",
            "licence": "internal-use-only",
            "escalation": ESCALATION,
            "start_date": "2026-01-01",
        },
        {
            "name": "acme",
            "kind": "partner",
            "path": "data/partners/acme",
            "deletions": "data/partners/acme/deletions",
            "delimiter": ";",
            "timezone": "Europe/Berlin",
            "legal_basis": "consent",
            "terms": {
                "licence": "proprietary",
                "contract": "ACME-2026-17",
                "model_training": "allowed",
                "commercial_use": "allowed",
                "derivatives": "allowed",
                "deletion_on_request": "required",
                "agreement_expires": "2027-12-31",
            },
            "rename": {
                "Ticket-Nr": "ticket_id",
                "Kundennummer": "user_id",
                "Erstellt": "created_at",
                "Betreff": "subject",
                "Nachricht": "body",
                "Sprache": "language",
                "Kanal": "channel",
                "Kategorie": "category",
            },
            "label_map": {"Rechnung": "Billing", "Technik": "Technical", "Konto": "Account", "Sonstiges": "Other"}
            | {"Spam": None},
            **SOURCE,
        },
        {
            "name": "globex",
            "kind": "partner",
            "path": "data/partners/globex",
            "format": "jsonl",
            "legal_basis": "contract",
            "terms": {"licence": "CC-BY-NC-4.0", "model_training": "denied", "commercial_use": "denied"},
            "rename": {
                "ref": "ticket_id",
                "customer": "user_id",
                "opened": "created_at",
                "title": "subject",
                "message": "body",
                "lang": "language",
                "medium": "channel",
                "topic": "category",
            },
            "label_map": {
                "billing_question": "Billing",
                "bug_report": "Technical",
                "login_problem": "Account",
                "feedback": "Other",
            },
            **SOURCE,
        },
    ],
    "columns": {
        "id": "ticket_id",
        "user": "user_id",
        "timestamp": "created_at",
        "text": ["subject", "body"],
        "language": "language",
        "segments": ["channel"],
    },
    "privacy": {
        "redact": ["email", "phone", "iban", "credit_card"],
        "retention": {"default": "P12M", "sensitive": {"categories": ["Account"], "keep": "P3M"}},
    },
    "labels": {"column": "category", "classes": ["Billing", "Technical", "Account", "Other"]},
    "labeling": {
        "price_per_label": 0.09,
        "labels_per_item": 2,
        "qa_overhead": 0.2,
        "contingency": 0.1,
        "pilot": 100,
        "guideline": "labeling/guideline.md",
        "gold_per_batch": 5,
    },
    "languages": ["en", "de", "fr"],
    "gates": {
        "min_examples_per_class": {"min": 100},
        "min_share_per_class": {"min": 0.1, "severity": "warn"},
        "required_values": {"column": "channel", "values": ["email", "chat", "web"], "min_share": 0.05},
        "max_duplicate_share": {"max": 0.25, "severity": "warn"},
    },
}


def store_ours(root: Path, spec: DatasetSpec, ours: pd.DataFrame) -> None:
    """Our tickets as the pipeline leaves them: redacted, eligible, a training set and its gates;
    two annotators' labels of ten tickets ACME's sample repeats."""
    paths = DatasetPaths(root, spec.name)
    frame = ours.drop(columns=["template", "kind"])
    frame.insert(1, SOURCE_COLUMN, spec.sources[0].name)  # as stored: each row names its source
    for column in spec.columns.text:
        text = pa.array(frame[column], type=pa.large_string())
        frame[column] = redact(text, spec.privacy.redact, regions=spec.phone_regions).text.to_pandas()
    write_parquet(frame, paths.redacted("2026-10-30"))
    write_parquet(frame, paths.eligible)
    training = frame.assign(split=assign_splits(frame, spec.columns.text, spec.split, spec.strata))
    write_parquet(training, paths.training_set)
    gates = evaluate_gates(training, spec, AS_OF)
    write_gate_run(
        paths, GateRun(run_id="run-1", as_of=AS_OF, evaluated_at=datetime(2026, 10, 31, 3, tzinfo=UTC), gates=gates)
    )
    annotated = ours.iloc[::7].head(10)
    rows = [
        {"item": t.ticket_id, "annotator": who, "label": t.category, "batch": "p1-pilot", "gold": False}
        | {"ground_truth": False, "annotated_at": "", "tool": "csv", "task": ""}
        for t in annotated.itertuples()
        for who in ("11", "12")
    ]
    (paths.labels_store / "annotations").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(paths.labels_store / "annotations" / "p1-pilot-000000000000.csv", index=False)


@dataclass(frozen=True)
class Workspace:
    """The workspace, its spec and our raw tickets (which hold PII: never in a test's printout)."""

    root: Path
    spec: DatasetSpec
    ours: pd.DataFrame

    def __iter__(self):
        return iter((self.root, self.spec, self.ours))

    def __repr__(self) -> str:
        return f"Workspace({self.root})"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("partners") / "workspace"
    spec = DatasetSpec.model_validate(SPEC)
    declare(root, spec)
    (root / "labeling").mkdir(parents=True)
    (root / "labeling" / "guideline.md").write_text(GUIDELINE)
    ours = our_tickets()
    store_ours(root, spec, ours)
    return Workspace(root, spec, ours)


def assess(root: Path, *args: str):
    result = CliRunner().invoke(
        cli, ["assess-partner", "support_triage", *args, "--as-of", str(AS_OF), "--workspace", str(root)]
    )
    return result


def written(root: Path, source: str) -> tuple[dict, str, str]:
    folder = root / "reports" / "support_triage" / "partners" / source
    return (
        json.loads((folder / "assessment.json").read_text()),
        (folder / "assessment.md").read_text(),
        (root / "decisions" / "support_triage" / f"{source}.yaml").read_text(),
    )


@pytest.fixture(scope="module")
def acme(workspace):
    root, _, ours = workspace
    planted = acme_sample(root / "exports", ours)
    args = ["--source", "acme", "--sample", str(planted.path), "--rows-available", "2020", "--price", "10"]
    result = assess(root, *args, "--relabelled", str(planted.relabelled))
    assert result.exit_code == 0, result.output
    return planted, result.output, *written(root, "acme")


@pytest.fixture(scope="module")
def globex(workspace):
    root, _, ours = workspace
    planted = globex_sample(root / "exports", ours)
    result = assess(root, "--source", "globex", "--sample", str(planted.path))
    assert result.exit_code == 0, result.output
    return planted, result.output, *written(root, "globex")


def test_our_data_is_short_of_account_and_web(workspace):
    root, spec, _ = workspace
    gates = {g["name"]: g for g in json.loads((DatasetPaths(root, spec.name).stats("gates")).read_text())["gates"]}
    assert gates["min_examples_per_class"]["measured"] == OUR_CLASSES["Account"]
    assert not gates["required_values"]["passed"] and gates["min_share_per_class"]["passed"]
    assert OUR_WEB / sum(OUR_CLASSES.values()) < 0.05


def test_acme_schema_and_pii_are_measured_as_planted(acme):
    planted, _, report, _, _ = acme
    schema = report["schema_fit"]
    assert schema["records"] == planted.records == 202
    assert all(role["found"] for role in schema["roles"]) and len(schema["roles"]) == 8
    assert schema["dropped_columns"] == ["E-Mail", "Telefon", "IBAN"]
    assert schema["malformed"] == {"malformed_record": 1}
    assert schema["quarantined"] == {"unmapped_label": 5, "unknown_label": 4, "unparseable_timestamp": 2}
    found = {c["export_column"]: c["values"] for c in report["pii"]["columns"] if c["values"]}
    assert found == planted.pii
    treatment = {c["export_column"]: c["treatment"] for c in report["pii"]["columns"]}
    assert treatment["Nachricht"] == "redacted" and treatment["Kundennummer"] == "pseudonymised"
    assert treatment["IBAN"] == "dropped" and treatment["Kanal"] == "kept as written"
    assert report["pii"]["sensitive_rows"] == planted.classes["Konto"]  # Account rows, whichever else they are


def test_acme_labels_map_to_ours_and_agree_on_the_planted_items(acme):
    planted, _, report, _, _ = acme
    fit = report["label_fit"]
    assert {c["theirs"]: c["rows"] for c in fit["classes"]} == planted.classes
    assert {c["theirs"]: c["how"] for c in fit["classes"]}["Vertrieb"] == "unknown"
    assert fit["unmapped_rows"] == 5 + 4 and fit["never_seen"] == []
    quality = report["label_quality"]
    assert quality["matched"] == {"relabelled": 50, "gold": 3, "adjudicated": 10, "eligible": 50}
    theirs, ours = zip(*planted.compared, strict=True)
    assert quality["items"] == len(planted.compared) == 113 and quality["judged"]
    assert quality["raw_agreement"] == round(sum(a == b for a, b in planted.compared) / 113, 4)
    assert quality["kappa"] == round(cohen_kappa_score(theirs, ours), 4)
    assert quality["kappa_low"] < quality["kappa"] < quality["kappa_high"]


def test_acme_overlap_and_freshness(acme):
    _, _, report, _, _ = acme
    overlap = report["overlap"]
    assert (overlap["rows"], overlap["in_our_data"], overlap["repeated"]) == (201, 60, 2)
    assert overlap["compared_with"] == ["redacted", "eligible"]
    fresh = report["freshness"]
    assert (fresh["inside"], fresh["unparseable"], fresh["future"]) == (201 - 3 - 2, 2, 0)
    assert fresh["first"].startswith("2024-03-11") and fresh["window"] == "P6M"


def test_acme_closes_both_gaps_scaled_to_its_delivery(acme):
    planted, _, report, _, _ = acme
    gaps = report["gaps"]
    assert gaps["removed"] == planted.removed and gaps["usable"] == sum(planted.usable.values()) == 123
    assert gaps["scale"] == 10.0 and gaps["partner_rows"] == 1230
    assert gaps["by_class"] == {name: 10 * planted.usable[name] for name in OUR_CLASSES}
    by_gate = {g["gate"]: g for g in gaps["gates"]}
    assert set(by_gate) == {"min_examples_per_class", "required_values"}
    counts = by_gate["min_examples_per_class"]
    after = min(OUR_CLASSES[name] + 10 * planted.usable[name] for name in OUR_CLASSES)
    assert (counts["measured"], counts["measured_after"], counts["closes"]) == (60, after, True)
    (account,) = counts["segments"]
    assert (account["segment"], account["missing_before"], account["partner_rows"], account["closed"]) == (
        "Account",
        40,
        500,
        True,
    )
    (web,) = by_gate["required_values"]["segments"]
    total = sum(OUR_CLASSES.values())
    missing = math.ceil((0.05 * total - OUR_WEB) / 0.95)
    assert (web["segment"], web["missing_before"], web["partner_rows"], web["closed"]) == ("web", missing, 120, True)
    assert planted.usable_web == 12 and by_gate["required_values"]["closes"]


def test_acme_roi_is_the_labeling_plans_price_for_the_same_gain(acme):
    _, _, report, _, _ = acme
    roi = report["roi"]
    assert [(c["cell"], c["missing"], c["gained"]) for c in roi["cells"]] == [
        ("category=Account", 40, 40),
        ("channel=web", 9, 9),
    ]
    # 40 / 0.9 -> 45 and 9 / 0.9 -> 10 items; one batch (the pilot) with 5 gold items; 2 labels each
    assert (roi["items"], roi["gold"], roi["labels"]) == (55, 5, 120)
    expected = (Decimal(120) * Decimal("0.09") * Decimal("1.2") * Decimal("1.1")).quantize(Decimal("0.01"))
    assert Decimal(roi["total"]) == expected == Decimal("14.26")
    assert Decimal(roi["partner_price"]) == 10 and Decimal(roi["saving"]) == Decimal("4.26")


def test_acme_is_drafted_for_approval(workspace, acme):
    root, _, _ = workspace
    _, output, report, page, draft = acme
    assert report["terms"]["training"]["allowed"] and report["terms"]["drafted"] == "approve"
    assert report["conditions"] == [] and not [f for f in report["findings"] if f["level"] == "blocking"]
    document = yaml.safe_load(draft)
    assert document["decision"] == "approve" and document["approver"] == "TODO" and document["date"] == "TODO"
    assert str(document["expiry"]) == "2027-12-31"
    assert "**Drafted decision: approve**" in page and "## 7. Gap closure and ROI" in page
    assert "drafted decision: approve" in output and "drafted decisions/support_triage/acme.yaml" in output


def test_globex_is_drafted_for_rejection(globex):
    planted, output, report, _, draft = globex
    assert yaml.safe_load(draft)["decision"] == "reject" and report["terms"]["drafted"] == "reject"
    blocking = " ".join(f["text"] for f in report["findings"] if f["level"] == "blocking")
    assert "model_training is denied" in blocking
    assert "close none of the 2 failing or warned coverage bars" in blocking
    conditions = " ".join(report["conditions"])
    # the classes the dataset keeps shorter are not, by that alone, special-category data: a condition
    assert "6 of 75 rows are in the dataset's sensitive categories (Account" in conditions
    assert "'contract', not consent" in conditions
    assert "column 'channel' (the export's 'medium') is kept as written and holds PII (3 email)" in conditions
    assert "terms.deletion_on_request is unknown" in conditions
    assert (
        "column 'body' (the export's 'message') holds ip_address, which privacy.redact does not replace" in conditions
    )
    found = {c["export_column"]: c["values"] for c in report["pii"]["columns"] if c["values"]}
    assert found == planted.pii
    assert report["schema_fit"]["quarantined"] == {"missing_required_field": 1}
    quality = report["label_quality"]
    assert quality["items"] == 10 and not quality["judged"] and quality["kappa"] is None
    assert quality["verdict"] == "too few items to judge: 10 compared, 100 needed"
    assert report["gaps"]["removed"] == planted.removed and report["gaps"]["by_class"]["Account"] == 6
    assert [g["closes"] for g in report["gaps"]["gates"]] == [False, False]
    assert "drafted decision: reject" in output


@pytest.mark.parametrize("which", ["acme", "globex"])
def test_no_value_of_a_sample_reaches_the_report_the_draft_or_the_terminal(request, which):
    planted, output, report, page, draft = request.getfixturevalue(which)
    shown = "\n".join([json.dumps(report, ensure_ascii=False), page, draft, output]).lower()
    leaked = [v for v in [*planted.values, *planted.cells] if v and len(v) > 3 and v.lower() in shown]
    assert not leaked, f"{len(leaked)} sample values in the outputs"
    assert len(planted.values) > 400 if which == "acme" else len(planted.values) > 150


def test_an_export_without_its_header_line_shows_none_of_its_first_record(tmp_path, workspace):
    root, _, ours = workspace
    planted = acme_sample(tmp_path, ours)
    headerless = tmp_path / "headerless.csv"
    headerless.write_bytes(b"\xef\xbb\xbf" + planted.path.read_bytes().split(b"\r\n", 1)[1])
    result = assess(root, "--source", "acme", "--sample", str(headerless))
    assert result.exit_code == 0, result.output
    report, page, _ = written(root, "acme")
    assert report["terms"]["drafted"] == "reject"  # no text and no label column: nothing to use
    assert {c["column"] for c in report["pii"]["columns"] if c["treatment"] == "dropped"} == {"<not shown>"}
    shown = "\n".join([json.dumps(report, ensure_ascii=False), page, result.output]).lower()
    assert not [v for v in [*planted.values, *planted.cells] if len(v) > 3 and v.lower() in shown]


def test_a_signed_record_is_never_overwritten(workspace, acme):
    root, _, _ = workspace
    planted = acme[0]
    record = root / "decisions" / "support_triage" / "acme.yaml"
    signed = (
        "dataset: support_triage\nsource: acme\ndecision: reject\nreasons: [waiting for the partner's DPA]\n"
        "approver: data-governance/alice\ndate: 2026-10-30\n"
    )
    record.write_text(signed)
    result = assess(root, "--source", "acme", "--sample", str(planted.path))
    assert result.exit_code == 0, result.output
    assert record.read_text() == signed
    assert read_decision(record, "support_triage", "acme").decision is Decision.REJECT
    report, page, _ = written(root, "acme")
    terms = report["terms"]
    assert not terms["draft_written"] and terms["record"]["decision"] == "reject"
    assert not terms["usable"]["allowed"] and "rejected by data-governance/alice" in terms["usable"]["reasons"][0]
    assert "kept decisions/support_triage/acme.yaml" in result.output and "was not overwritten" in page


def test_without_gate_results_the_gaps_are_not_judged(tmp_path, workspace):
    _, spec, ours = workspace
    declare(tmp_path, spec)
    planted = acme_sample(tmp_path / "exports", ours)
    result = assess(tmp_path, "--source", "acme", "--sample", str(planted.path), "--rows", "50")
    assert result.exit_code == 0, result.output
    report, _, draft = written(tmp_path, "acme")
    assert report["schema_fit"]["records"] == 50 and report["roi"] is None
    assert (
        report["gaps"]["verdict"]
        == "no gate results for support_triage yet: run `trainset run support_triage`, then assess again"
    )
    assert yaml.safe_load(draft)["decision"] == "conditional"


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (
            ["--source", "tickets", "--sample", "x.csv"],
            2,
            "'tickets' is a `kind: files` source; assess-partner takes one of",
        ),
        (["--source", "nope", "--sample", "x.csv"], 2, "'nope' is not a source"),
        (["--source", "acme", "--sample", "missing.csv"], 2, "missing.csv: no such file"),
        (["--source", "acme", "--sample", "x.csv", "--rows", "0"], 2, "a sample holds at least one record"),
        (["--source", "acme", "--sample", "x.csv", "--price", "lots"], 2, "an amount such as 1200"),
        (["--source", "acme", "--sample", "globex.jsonl"], 2, "a jsonl file, but source 'acme' declares `format: csv`"),
        (["--source", "acme", "--sample", "empty.csv"], 1, "empty.csv: cannot be read as csv: the file is empty"),
        (["--source", "acme", "--sample", "x.csv", "--relabelled", "x.csv"], 2, "expected columns 'Ticket-Nr'"),
    ],
)
def test_bad_input_says_what_where_and_what_to_do(workspace, args, code, said):
    root, _, _ = workspace
    (root / "x.csv").write_text("a;b\n1;2\n")
    (root / "globex.jsonl").write_text("{}\n")
    (root / "empty.csv").write_text("")
    args = [str(root / a) if a.endswith((".csv", ".jsonl")) else a for a in args]
    result = assess(root, *args)
    assert result.exit_code == code, result.output
    assert said in result.output and "Traceback" not in result.output


def test_a_header_only_sample_or_a_wrong_label_is_bad_data(workspace):
    root, _, ours = workspace
    planted = acme_sample(root / "exports-3", ours)
    header = planted.path.read_bytes().split(b"\r\n", 1)[0]
    (root / "header.csv").write_bytes(header + b"\r\n")
    result = assess(root, "--source", "acme", "--sample", str(root / "header.csv"))
    assert result.exit_code == 1 and "holds no record (a header line only" in result.output
    (root / "relabels.csv").write_text("Ticket-Nr,label\nACME-0001,Billing\nACME-0002,Sales\n")
    result = assess(root, "--source", "acme", "--sample", str(planted.path), "--relabelled", str(root / "relabels.csv"))
    assert result.exit_code == 1 and "relabels.csv:3: label is not one of the classes" in result.output
    assert "Sales" not in result.output


def test_a_missing_role_is_a_condition_and_the_rows_are_judged_as_if_it_came(tmp_path, workspace):
    root, _, ours = workspace
    planted = acme_sample(tmp_path, ours)
    records = list(csv.reader(io.StringIO(planted.path.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(r[:1] + r[2:] for r in records if len(r) == 11)  # no Kundennummer
    (tmp_path / "no-user.csv").write_text(out.getvalue())
    result = assess(root, "--source", "acme", "--sample", str(tmp_path / "no-user.csv"), "--rows-available", "2010")
    assert result.exit_code == 0, result.output
    report, _, _ = written(root, "acme")
    (user,) = [r for r in report["schema_fit"]["roles"] if not r["found"]]
    assert user["column"] == "user_id" and "no consent or erasure by user" in user["prevents"]
    assert any("no user column 'user_id'" in c and "refuses its deliveries" in c for c in report["conditions"])
    assert report["gaps"]["usable"] == 123 and [g["closes"] for g in report["gaps"]["gates"]] == [True, True]


def test_an_unknown_dataset_is_a_usage_error_without_a_traceback(workspace):
    root, _, _ = workspace
    done = subprocess.run(
        [TRAINSET, "assess-partner", "nope", "--source", "acme", "--sample", "x.csv", "--workspace", str(root)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no dataset named 'nope'" in done.stderr and "Traceback" not in done.stderr
