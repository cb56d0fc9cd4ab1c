"""Partner sources end to end: two partners' deliveries, written in their own ways, declared beside
the case_routing export with their terms; what a steward's decision records let through, run
after run, through `trainset run`.

acme's terms allow training and its security incidents close the dataset's gap on the Security
class; globex's deny training. Without a decision neither is used; once signed, acme's rows reach
the next version with its terms and attribution in the card, globex's never do (the reason in
the accounting and the card); when acme's approval expires, the next version is built without it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date

import pandas as pd
import pytest
import yaml
from conftest import TEST_KEY
from partner_exports import ACME_LABELS, ACME_RENAME, write_acme, write_globex
from test_other_columns import AS_OF, trainset, workspace_with_cases

from pipelines.lib.reports import Manifest
from pipelines.lib.spec import SOURCE_COLUMN

DATASET = "case_routing"
ACME_ATTRIBUTION = "Contains support cases © Acme Support GmbH, used under agreement ACME-2026-017"
ACME_EXPIRY = date(2026, 11, 10)

ACME = {
    "name": "acme",
    "kind": "partner",
    "path": "data/landing/partners/acme",
    "deletions": "data/landing/partners/acme-deletions",
    "format": "csv",
    "delimiter": ";",
    "timezone": "Europe/Berlin",
    "owner": "partnerships",
    "steward": "data-governance",
    "legal_basis": "contract",
    "escalation": {"gate_failure": "partnerships", "pii_found": "privacy-office", "deletion_request": "partnerships"},
    "start_date": "2026-09-01",
    "rename": ACME_RENAME,
    "label_map": ACME_LABELS,
    "terms": {
        "licence": "proprietary",
        "commercial_use": "allowed",
        "model_training": "allowed",
        "derivatives": "allowed",
        "sub_licensing": "denied",
        "share_alike": "not_required",
        "attribution": ACME_ATTRIBUTION,
        "retention": "P24M",
        "deletion_on_request": "required",
        "geography": ["DE", "FR", "GB"],
        "agreement_expires": "2027-12-31",
        "contract": "ACME-2026-017",
    },
}
GLOBEX = {
    "name": "globex",
    "kind": "partner",
    "path": "data/landing/partners/globex",
    "format": "jsonl",
    "id_prefix": "globex:",  # its case numbers are the dataset's own
    "owner": "partnerships",
    "steward": "data-governance",
    "legal_basis": "contract",
    "escalation": {"gate_failure": "partnerships", "pii_found": "privacy-office", "deletion_request": "partnerships"},
    "start_date": "2026-09-01",
    "terms": {
        "licence": "CC-BY-NC-4.0",
        "commercial_use": "denied",
        "model_training": "denied",
        "attribution": "Globex Corporation",
    },
}


def _declare_partners(root) -> None:
    path = root / "pipelines" / "defs" / DATASET / "defs.yaml"
    document = yaml.safe_load(path.read_text())
    attributes = document["attributes"]
    attributes["sources"] += [ACME, GLOBEX]
    attributes["labels"]["classes"].append("Security")
    attributes["gates"]["min_examples_per_class"] = {"min": 20, "severity": "warn"}
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def _record(root, source: str):
    return root / "decisions" / DATASET / f"{source}.yaml"


def _sign(root, source: str, body: dict) -> None:
    _record(root, source).write_text(yaml.safe_dump({"dataset": DATASET, "source": source, **body}))


def _version(root, n: int) -> tuple[Manifest, str, pd.DataFrame]:
    folder = root / "datasets" / DATASET / f"v{n}"
    manifest = Manifest.model_validate_json((folder / "manifest.json").read_text())
    rows = pd.concat(pd.read_parquet(folder / f"{s}.parquet") for s in ("train", "validation", "test"))
    return manifest, (folder / "DATASET_CARD.md").read_text(), rows


def _commit(root, message: str) -> None:
    for command in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *command], cwd=root, check=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs: before any decision, after the steward signs, after acme's approval expires."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            env.setenv(var, "test@localhost" if var.endswith("EMAIL") else "test")
        root, _ = workspace_with_cases(tmp_path_factory.mktemp("partners") / "workspace")
        _declare_partners(root)
        last = date(2026, 10, 30)
        acme = write_acme(root / "data" / "landing" / "partners" / "acme", last)
        globex = write_globex(root / "data" / "landing" / "partners" / "globex", last)
        _commit(root, "partner sources declared")
        results = [trainset(root, "run", DATASET, "--as-of", AS_OF.isoformat())]
        # The steward assesses each delivery against the gaps of that run, then signs the drafts.
        for source, delivery in (("acme", acme), ("globex", globex)):
            results.append(
                trainset(
                    root,
                    "assess-partner",
                    DATASET,
                    "--source",
                    source,
                    "--sample",
                    str(delivery.path),
                    "--as-of",
                    AS_OF.isoformat(),
                )
            )
        drafts = {source: yaml.safe_load(_record(root, source).read_text()) for source in ("acme", "globex")}
        _sign(
            root,
            "acme",
            {**drafts["acme"], "approver": "dana.steward", "date": "2026-10-30", "expiry": ACME_EXPIRY.isoformat()},
        )
        _sign(root, "globex", {**drafts["globex"], "approver": "dana.steward", "date": "2026-10-30"})
        results.append(trainset(root, "run", DATASET, "--as-of", AS_OF.isoformat()))
        results.append(trainset(root, "run", DATASET, "--as-of", "2026-11-12"))
        yield root, [results[0], results[3], results[4], results[1], results[2]], acme, globex, drafts


def test_without_a_decision_no_partner_row_is_used(runs):
    root, results, acme, globex, _ = runs
    first = results[0]
    assert first.returncode == 0, first.stdout + first.stderr
    assert "partner_undecided" in first.stdout
    manifest, card, rows = _version(root, 1)
    assert set(rows[SOURCE_COLUMN]) == {"cases"}
    uses = {i.source: i.use for i in manifest.inputs if i.use}
    mapped = sum(n for label, n in acme.classes.items() if ACME_LABELS[label] is not None)
    assert uses["acme"].removed == {"partner_undecided": mapped} and not uses["acme"].used
    assert uses["globex"].removed == {"partner_undecided": sum(globex.classes.values())}
    assert manifest.licence is not None and manifest.licence.partner_terms is None
    assert "No partner row is in this version." in card
    assert "decisions/case_routing/acme.yaml` does not exist" in card
    # the gap: no Security example of our own
    gate = next(g for g in manifest.gates if g.name == "min_examples_per_class")
    assert gate.status == "warned"


def test_the_assessment_drafts_approve_for_the_partner_closing_the_gap_and_reject_for_the_other(runs):
    root, results, acme, globex, drafts = runs
    for result in results[3:]:
        assert result.returncode == 0, result.stdout + result.stderr
    # acme closes the gap under terms that allow training; its labels overlap none of ours, so
    # their quality is a condition to check, not a reason to refuse
    assert drafts["acme"]["decision"] == "conditional" and drafts["globex"]["decision"] == "reject"
    assert any("label quality" in condition for condition in drafts["acme"]["conditions"])
    assessment = json.loads((root / "reports" / DATASET / "partners" / "acme" / "assessment.json").read_text())
    text = json.dumps(assessment) + (root / "reports" / DATASET / "partners" / "acme" / "assessment.md").read_text()
    assert "Security" in text and "min_examples_per_class" in text  # the gap it closes
    assert any("model_training" in reason for reason in drafts["globex"]["reasons"])
    for value in acme.planted + globex.planted:
        assert value not in text and value not in results[3].stdout + results[4].stdout


def test_an_approved_partner_closes_the_gap_with_its_terms_in_the_card(runs):
    root, results, acme, globex, _ = runs
    second = results[1]
    assert second.returncode == 0, second.stdout + second.stderr
    manifest, card, rows = _version(root, 2)
    mapped = {ACME_LABELS[label]: n for label, n in acme.classes.items() if ACME_LABELS[label]}
    from_acme = rows[rows[SOURCE_COLUMN] == "acme"]
    assert len(from_acme) == sum(mapped.values())
    assert from_acme["queue"].value_counts().to_dict() == mapped
    assert from_acme["case_number"].str.startswith("ACME-").all()  # the partner's own ids, renamed to ours
    gate = next(g for g in manifest.gates if g.name == "min_examples_per_class")
    assert gate.status == "passed"  # Security: acme's incidents close the gap
    # acme's class with no counterpart is quarantined, never relabelled
    assert manifest.quarantine.by_reason.get("unmapped_label") == acme.classes["Billing Dispute"]
    inputs = {i.source: i for i in manifest.inputs}
    assert inputs["acme"].released == len(from_acme) and inputs["acme"].terms.contract == "ACME-2026-017"
    assert inputs["acme"].use.used and inputs["acme"].use.decision == "conditional"
    assert inputs["acme"].use.conditions
    assert inputs["acme"].use.record_sha256 is not None
    assert manifest.licence.licences == {"cases": "internal-use-only", "acme": "proprietary"}
    rolled = manifest.licence.partner_terms
    assert rolled.sub_licensing == "denied" and rolled.decided_by["sub_licensing"] == ["acme"]
    assert manifest.licence.attributions == [ACME_ATTRIBUTION]
    assert "### Partner source acme" in card and "**Used**" in card
    assert ACME_ATTRIBUTION in card and "| sub_licensing | denied | acme |" in card
    assert "conditional by dana.steward on 2026-10-30, in force through 2026-11-10" in card
    assert "- the record's condition: label quality" in card
    # the decision that let the rows in is committed with the version
    shown = subprocess.run(
        ["git", "show", "--name-only", "--format=", f"{DATASET}@v2"], cwd=root, capture_output=True, text=True
    )
    committed = set(shown.stdout.split())
    assert {"decisions/case_routing/acme.yaml", "decisions/case_routing/globex.yaml"} <= committed
    assert "reports/case_routing/partners/acme/assessment.md" in committed  # what the decision was drafted from


def test_a_partner_without_training_rights_never_reaches_a_release(runs):
    root, results, _, globex, _ = runs
    for n in (1, 2, 3):
        _, _, rows = _version(root, n)
        assert "globex" not in set(rows[SOURCE_COLUMN])
    manifest, card, _ = _version(root, 2)
    assert manifest.accounting["eligible"].removed["partner_rejected"] == sum(globex.classes.values())
    use = next(i.use for i in manifest.inputs if i.source == "globex")
    assert not use.used and use.decision == "reject"
    assert any("model_training is denied" in reason for reason in use.reasons)
    section = card.split("### Partner source globex", 1)[1].split("\n## ", 1)[0]
    assert "**Not used**" in section and "partner_rejected" in section and "model_training is denied" in section
    assert "partner_rejected" in results[1].stdout
    assert "partner acme: used, 50 rows (conditional by dana.steward, in force through 2026-11-10)" in results[1].stdout


def test_an_expired_approval_stops_the_next_release_from_using_the_source(runs):
    root, results, acme, _, _ = runs
    third = results[2]
    assert third.returncode == 0, third.stdout + third.stderr
    manifest, card, rows = _version(root, 3)
    assert "acme" not in set(rows[SOURCE_COLUMN])
    removed = manifest.accounting["eligible"].removed
    assert removed["partner_decision_expired"] == sum(n for label, n in acme.classes.items() if ACME_LABELS[label])
    use = next(i.use for i in manifest.inputs if i.source == "acme")
    assert any(f"expired on {ACME_EXPIRY}" in reason for reason in use.reasons)
    assert (
        "partner acme: not used (partner_decision_expired): the conditional decision of 2026-10-30 expired on "
        f"{ACME_EXPIRY}" in third.stdout
    )
    assert "acme" not in manifest.licence.licences and ACME_ATTRIBUTION not in json.dumps(
        manifest.licence.model_dump(mode="json")
    )


def test_no_planted_partner_pii_reaches_a_release(runs):
    root, _, acme, globex, _ = runs
    released = b"".join(path.read_bytes() for path in sorted((root / "datasets" / DATASET).rglob("*.parquet")))
    released += b"".join(path.read_bytes() for path in sorted((root / "datasets" / DATASET).rglob("*.md")))
    text = released.decode("utf-8", errors="ignore")
    for value in acme.planted + globex.planted:
        assert value not in text, "a planted value reached a release"


def test_the_prefix_keeps_a_partners_ids_apart_from_ours(runs):
    root, _, _, globex, _ = runs
    shared = pd.read_json(globex.path, lines=True, dtype=False)["case_number"]
    assert shared.str.fullmatch(r"\d{7}").all()  # the partner numbers its cases as the dataset does
    stored = pd.read_parquet(root / "data" / "warehouse" / DATASET / "redacted")
    held = stored.loc[stored[SOURCE_COLUMN] == "globex", "case_number"]
    assert set(held) == {f"globex:{n}" for n in shared} and stored["case_number"].is_unique


def test_ids_another_source_holds_are_quarantined_as_such_and_the_prefix_keeps_them_apart(tmp_path):
    root, _ = workspace_with_cases(tmp_path / "workspace")
    path = root / "pipelines" / "defs" / DATASET / "defs.yaml"
    document = yaml.safe_load(path.read_text())
    document["attributes"]["labels"]["classes"].append("Security")
    document["attributes"]["sources"].append({k: v for k, v in GLOBEX.items() if k != "id_prefix"})
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    write_globex(root / "data" / "landing" / "partners" / "globex", date(2026, 10, 30))
    result = trainset(root, "run", DATASET, "--as-of", AS_OF.isoformat())
    assert "Traceback" not in result.stderr, result.stderr
    # another record under the same number: never a duplicate of ours, never dropped unsaid
    assert "raw_globex: 40 in -> 0 out (40 quarantined:id_of_another_source)" in result.stdout
    assert "a partner source shares record ids with another source: declare `id_prefix:` on it" in result.stdout
    assert "0000001" not in result.stdout + result.stderr  # counts, never an id
    # the assessment of the delivery says so before any decision
    sample = str(root / "data" / "landing" / "partners" / "globex" / "globex.jsonl")
    assessed = trainset(root, "assess-partner", DATASET, "--source", "globex", "--sample", sample)
    assert "40 of 40 sample rows take a record id another source of case_routing holds" in assessed.stdout
    assert 'declare `id_prefix:` on the source (e.g. `id_prefix: "globex:"`)' in assessed.stdout


def test_the_same_rows_on_a_renewed_decision_are_a_new_basis(runs):
    from pipelines.lib.release.versions import partner_basis

    root = runs[0]
    manifest, _, _ = _version(root, 2)
    renewed = [
        i.model_copy(update={"use": i.use.model_copy(update={"record_sha256": "0" * 64})}) if i.source == "acme" else i
        for i in manifest.inputs
    ]
    assert partner_basis(manifest.inputs) == partner_basis(list(manifest.inputs))
    assert partner_basis(manifest.inputs) != partner_basis(renewed)
    # globex released no row: its record is no basis of the version
    assert [source for source, _, _ in partner_basis(manifest.inputs)] == ["acme"]


def test_a_version_whose_partner_basis_has_lapsed_says_so_when_listed_and_pulled(runs, tmp_path):
    root = runs[0]
    # v2 was released under acme's approval, which expired on 2026-11-10 (before today)
    listed = trainset(root, "versions", DATASET)
    lines = listed.stdout.splitlines()
    after_v2 = lines[[n for n, line in enumerate(lines) if line.startswith(f"{DATASET}@v2 ")][0] + 1]
    assert after_v2 == (
        "  partner rows no longer usable for training: acme: the conditional decision of 2026-10-30 expired on "
        "2026-11-10 (its last day in force): a steward renews or replaces decisions/case_routing/acme.yaml"
    )
    pulled = trainset(root, "pull", f"{DATASET}@v2", "-o", str(tmp_path / "v2"))
    assert pulled.returncode == 0 and "warning: case_routing@v2 holds partner rows no longer usable" in pulled.stderr
    quiet = trainset(root, "pull", f"{DATASET}@v3", "-o", str(tmp_path / "v3"))  # v3 holds none of acme's rows
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
