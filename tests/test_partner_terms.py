"""Partner terms as data, whether they allow training, the release's licence roll-up, and the
decision record that gates a partner source (pure library: no pipeline, no Dagster)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pipelines.lib.errors import describe_validation, exit_code
from pipelines.lib.partners.decisions import (
    Decision,
    DecisionRecordError,
    decision_path,
    draft_record,
    load_decision,
    partner_usable,
)
from pipelines.lib.partners.terms import (
    PROPRIETARY,
    WORLDWIDE,
    Obligation,
    PartnerTerms,
    Permission,
    allows_training,
    country_codes,
    roll_up,
)

AS_OF = date(2026, 6, 1)
OPEN = {"licence": "CC-BY-4.0", "model_training": "allowed", "commercial_use": "allowed"}


def terms(text: str) -> PartnerTerms:
    """Terms as a defs.yaml writes them (YAML's booleans and dates included)."""
    return PartnerTerms.model_validate(yaml.safe_load(text))


def refused(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        terms(text)
    return describe_validation(caught.value)


# --- the terms --------------------------------------------------------------------------------------


def test_a_term_not_stated_is_unknown():
    stated = terms("licence: proprietary")
    assert stated.licence == PROPRIETARY
    for name in ("commercial_use", "model_training", "derivatives", "sub_licensing"):
        assert getattr(stated, name) is Permission.UNKNOWN
    assert stated.share_alike is Obligation.UNKNOWN
    assert stated.deletion_on_request is Obligation.UNKNOWN
    assert stated.geography is None and stated.retention is None and stated.agreement_expires is None


@pytest.mark.parametrize(
    ("written", "permission", "obligation"),
    [
        ("true", Permission.ALLOWED, Obligation.REQUIRED),
        ("false", Permission.DENIED, Obligation.NOT_REQUIRED),
        ("yes", Permission.ALLOWED, Obligation.REQUIRED),  # YAML 1.1, as PyYAML reads it
        ("Unknown", Permission.UNKNOWN, Obligation.UNKNOWN),
    ],
)
def test_yaml_booleans_are_allowed_or_denied(written, permission, obligation):
    read = terms(f"licence: MIT\nmodel_training: {written}\nshare_alike: {written}\ndeletion_on_request: {written}")
    assert read.model_training is permission
    assert read.share_alike is obligation and read.deletion_on_request is obligation


def test_the_words_of_one_kind_are_refused_for_the_other():
    assert "model_training: write one of allowed, denied, unknown" in refused("licence: MIT\nmodel_training: required")
    assert "share_alike: write one of required, not_required, unknown" in refused("licence: MIT\nshare_alike: allowed")


@pytest.mark.parametrize(
    ("licence", "canonical", "keys"),
    [
        ("CC-BY-4.0", "CC-BY-4.0", ["CC-BY-4.0"]),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", ["CC-BY-SA-4.0"]),
        ("CC-BY-NC-4.0 OR MIT", "CC-BY-NC-4.0 OR MIT", ["CC-BY-NC-4.0", "MIT"]),
        ("Proprietary", PROPRIETARY, []),
    ],
)
def test_a_licence_is_an_spdx_expression_or_proprietary(licence, canonical, keys):
    read = terms(f"licence: {licence}")
    assert read.licence == canonical
    assert read.licence_keys() == keys


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("licence: CC-BY-5.0", "licence", "'CC-BY-5.0' is not an SPDX licence expression"),
        ("licence: MIT AND (", "licence", "is not an SPDX licence expression"),
        ("geography: [DE, UK]", "geography", "'UK' is not an ISO 3166-1 alpha-2 country code; did you mean GB?"),
        ("geography: [EU]", "geography", "'EU' is not an ISO 3166-1 alpha-2 country code"),
        ("geography: [DE, NO]", "geography", "quote Norway's code ('NO')"),
        ("geography: [DE, worldwide]", "geography", "`worldwide` stands alone"),
        ("retention: 12 months", "retention", "not an ISO-8601 date duration"),
        ("contract_id: X-1", "contract_id", "Extra inputs are not permitted"),
    ],
)
def test_invalid_terms_are_refused_naming_the_key(text, key, says):
    text = text if text.startswith("licence") else f"licence: MIT\n{text}"
    problems = refused(text)
    assert f"{key}: " in problems and says in problems


def test_the_country_codes_are_iso_3166_1s_assigned_ones():
    codes = country_codes()
    assert len(codes) == 249  # ISO 3166-1's officially assigned alpha-2 codes
    assert {"DE", "GB", "NO", "SS", "CW"} <= codes and not {"EU", "UN", "XK", "ZZ", "UK", "AC"} & codes


def test_geography_reads_codes_and_worldwide():
    assert terms("licence: MIT\ngeography: [de, FR, DE]").geography == ["DE", "FR"]
    assert terms("licence: MIT\ngeography: worldwide").geography == [WORLDWIDE]
    assert terms("licence: MIT\ngeography: ['NO']").geography == ["NO"]


# --- training -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "allowed", "names"),
    [
        ({}, True, []),
        ({"model_training": None}, False, ["model_training is unknown"]),
        ({"commercial_use": None}, False, ["commercial_use is unknown"]),
        ({"model_training": None, "commercial_use": None}, False, ["model_training is unknown", "commercial_use"]),
        ({"model_training": False}, False, ["model_training is denied"]),
        ({"commercial_use": "denied"}, False, ["commercial_use is denied"]),
        ({"derivatives": "denied"}, False, ["derivatives is denied"]),
        ({"derivatives": "unknown"}, True, []),
        ({"agreement_expires": date(2026, 6, 1)}, True, []),  # its last day in force
        ({"agreement_expires": date(2026, 5, 31)}, False, ["the agreement expired on 2026-05-31"]),
    ],
)
def test_training_needs_both_uses_stated_allowed_and_an_agreement_in_force(changes, allowed, names):
    declared = {**OPEN, **changes}
    verdict = allows_training(PartnerTerms(**{k: v for k, v in declared.items() if v is not None}), AS_OF)
    assert verdict.allowed is allowed
    assert verdict.reasons
    for name in names:
        assert any(name in reason for reason in verdict.reasons), verdict.reasons


def test_unknown_terms_never_allow_training_whatever_else_is_allowed():
    everything_else = terms(
        "licence: CC0-1.0\nderivatives: true\nsub_licensing: true\nshare_alike: false\ngeography: worldwide"
    )
    verdict = allows_training(everything_else, AS_OF)
    assert not verdict.allowed
    assert len(verdict.reasons) == 2


# --- the licence roll-up ------------------------------------------------------------------------


def test_the_most_restrictive_term_wins():
    rolled = roll_up(
        {
            "acme": terms(
                "licence: CC-BY-4.0\ncommercial_use: true\nmodel_training: true\nderivatives: true\n"
                "attribution: Data by Acme\nretention: P12M\nagreement_expires: 2027-03-31\ngeography: worldwide\n"
                "share_alike: false\ndeletion_on_request: false"
            ),
            "globex": terms(
                "licence: CC-BY-SA-4.0\ncommercial_use: true\nmodel_training: unknown\nderivatives: false\n"
                "attribution: Globex tickets\nretention: P30D\nagreement_expires: 2026-12-31\ngeography: [DE, FR]\n"
                "share_alike: true"
            ),
            "initech": terms(
                "licence: proprietary\ncommercial_use: true\nmodel_training: true\nderivatives: true\n"
                "attribution: Data by Acme\nretention: P3M\ngeography: [FR, ES]\nsub_licensing: true\n"
                "share_alike: false\ndeletion_on_request: true"
            ),
        }
    )
    assert rolled.licences == {"acme": "CC-BY-4.0", "globex": "CC-BY-SA-4.0", "initech": PROPRIETARY}
    assert rolled.commercial_use is Permission.ALLOWED
    assert rolled.model_training is Permission.UNKNOWN and rolled.decided_by["model_training"] == ["globex"]
    assert rolled.derivatives is Permission.DENIED and rolled.decided_by["derivatives"] == ["globex"]
    assert rolled.sub_licensing is Permission.UNKNOWN and rolled.decided_by["sub_licensing"] == ["acme", "globex"]
    assert rolled.share_alike is Obligation.REQUIRED
    assert rolled.deletion_on_request is Obligation.REQUIRED and rolled.decided_by["deletion_on_request"] == ["initech"]
    assert rolled.attributions == ["Data by Acme", "Globex tickets"]
    assert rolled.retention == "P30D"
    assert rolled.agreement_expires == date(2026, 12, 31)
    assert rolled.geography == ["FR"]


def test_the_roll_up_of_one_source_is_its_terms_and_unknown_stays_unknown():
    rolled = roll_up({"acme": terms("licence: MIT\nmodel_training: true")})
    assert rolled.model_training is Permission.ALLOWED and rolled.commercial_use is Permission.UNKNOWN
    assert rolled.attributions == [] and rolled.retention is None and rolled.agreement_expires is None
    assert rolled.geography is None
    with pytest.raises(ValueError, match="no sources"):
        roll_up({})


# --- decision records ---------------------------------------------------------------------------

SIGNED = """\
dataset: tickets
source: acme
decision: {decision}
reasons: [closes the non-English coverage gap; labels agree with our gold at kappa 0.86]
approver: Ana Steward
date: 2026-01-05
"""


def write_record(root: Path, text: str, source: str = "acme") -> Path:
    path = decision_path(root, "tickets", source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def usable(root: Path, declared: PartnerTerms, source: str = "acme"):
    record = load_decision(root, "tickets", source)
    return partner_usable(declared, record, AS_OF, dataset="tickets", source=source)


@pytest.mark.parametrize(
    ("record", "declared", "allowed", "says"),
    [
        (
            None,
            OPEN,
            False,
            ["no decision record at decisions/tickets/acme.yaml: draft one with `trainset assess-partner`"],
        ),
        (SIGNED.format(decision="approve"), OPEN, True, ["approved by Ana Steward on 2026-01-05"]),
        (SIGNED.format(decision="approve") + "expiry: 2026-06-01\n", OPEN, True, ["in force through 2026-06-01"]),
        (SIGNED.format(decision="approve") + "expiry: 2026-05-31\n", OPEN, False, ["expired on 2026-05-31"]),
        (SIGNED.format(decision="reject"), OPEN, False, ["rejected by Ana Steward on 2026-01-05: closes"]),
        (
            SIGNED.format(decision="conditional") + "conditions: [relabel its Other class]\n",
            OPEN,
            True,
            ["approved on conditions", "the record's condition: relabel its Other class"],
        ),
        (
            SIGNED.format(decision="approve"),
            {**OPEN, "model_training": "unknown"},
            False,
            ["terms deny training: model_training is unknown"],
        ),
        (
            SIGNED.format(decision="approve"),
            {**OPEN, "agreement_expires": date(2026, 3, 31)},
            False,
            ["terms deny training: agreement_expires: the agreement expired on 2026-03-31"],
        ),
        (
            SIGNED.format(decision="reject"),
            {**OPEN, "commercial_use": "denied"},
            False,
            ["rejected by", "terms deny training: commercial_use is denied"],
        ),
    ],
)
def test_a_partner_source_is_usable_only_under_an_approval_in_force_with_terms_that_allow_training(
    tmp_path, record, declared, allowed, says
):
    if record is not None:
        write_record(tmp_path, record)
    verdict = usable(tmp_path, PartnerTerms(**declared))
    assert verdict.allowed is allowed
    for words in says:
        assert any(words in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (SIGNED.format(decision="maybe"), ":3 decision: Input should be 'approve', 'reject' or 'conditional'"),
        (SIGNED.format(decision="approve").replace("reasons: [", "reasons: [\n# ]"), "not valid YAML"),
        (SIGNED.format(decision="approve").replace("reasons: [closes", "reasons: []\n#"), ":4 reasons: "),
        (SIGNED.format(decision="conditional"), "conditions: a conditional decision lists its conditions"),
        (SIGNED.format(decision="approve") + "conditions: [x]\n", "conditions: only a conditional decision"),
        (SIGNED.format(decision="approve") + "expiry: 2025-12-31\n", "expiry: 2025-12-31 is before"),
        (SIGNED.format(decision="approve").replace("Ana Steward", "TODO"), ":5 approver: still TODO"),
        (SIGNED.format(decision="approve").replace("2026-01-05", "TODO"), ":6 date: still TODO"),
        (SIGNED.format(decision="approve") + "signed: yes\n", ":7 signed: not a key of a decision record"),
        (SIGNED.format(decision="approve").replace("source: acme", "source: globex"), ":2 source: the record says"),
        ("- approve\n", "expected a mapping of decision"),
    ],
)
def test_an_invalid_record_is_refused_naming_the_file_and_key(tmp_path, text, says):
    path = write_record(tmp_path, text)
    with pytest.raises(DecisionRecordError) as caught:
        load_decision(tmp_path, "tickets", "acme")
    assert str(caught.value).startswith(str(path))
    assert says in str(caught.value)
    assert exit_code(caught.value) == 2


def test_a_draft_is_refused_until_a_steward_signs_it(tmp_path):
    verdict = allows_training(PartnerTerms(**OPEN), AS_OF)
    draft = draft_record(
        "tickets", "acme", verdict, findings=["closes the German coverage gap"], expiry=date(2026, 12, 31)
    )
    path = write_record(tmp_path, draft)
    with pytest.raises(DecisionRecordError, match="approver: still TODO.*date: still TODO"):
        load_decision(tmp_path, "tickets", "acme")

    path.write_text(draft.replace("approver: TODO", "approver: Ana Steward").replace("date: TODO", "date: 2026-05-02"))
    record = load_decision(tmp_path, "tickets", "acme")
    assert record is not None and record.decision is Decision.APPROVE
    assert record.reasons[-1] == "closes the German coverage gap"
    assert record.expiry == date(2026, 12, 31)
    assert usable(tmp_path, PartnerTerms(**OPEN)).allowed


@pytest.mark.parametrize(
    ("declared", "conditions", "decision"),
    [
        (OPEN, (), Decision.APPROVE),
        (OPEN, ("relabel its Other class",), Decision.CONDITIONAL),
        ({"licence": "CC-BY-NC-4.0", "commercial_use": False}, (), Decision.REJECT),
    ],
)
def test_a_draft_proposes_what_the_verdict_says(declared, conditions, decision):
    verdict = allows_training(PartnerTerms(**declared), AS_OF)
    document = yaml.safe_load(draft_record("tickets", "acme", verdict, conditions=conditions))
    assert document["decision"] == decision.value
    assert document["reasons"] == verdict.reasons
    assert document["approver"] == "TODO" and document["date"] == "TODO"
    assert document.get("conditions", []) == list(conditions)


#: a partner source of a spec, as `sources[]` declares it
PARTNER_SOURCE = {
    "name": "acme",
    "kind": "partner",
    "path": "data/partners/acme",
    "owner": "partnerships",
    "steward": "data-governance",
    "legal_basis": "contract",
    "escalation": {"gate_failure": "partnerships", "pii_found": "privacy-office", "deletion_request": "partnerships"},
    "start_date": "2026-01-01",
}


def test_an_obligation_to_delete_on_request_needs_a_place_for_the_delete_lists():
    from pydantic import ValidationError

    from pipelines.lib.spec_blocks import SourceSpec

    source = PARTNER_SOURCE | {"terms": {"licence": "MIT", "deletion_on_request": "required"}}
    with pytest.raises(ValidationError, match="declare `deletions:`"):
        SourceSpec.model_validate(source)
    assert SourceSpec.model_validate(source | {"deletions": "data/partners/acme/deletions"}).deletions


def test_a_draft_awaiting_its_signature_is_no_error_before_a_run_but_a_stray_record_is(tmp_path):
    from conftest import small_spec

    from pipelines.lib.partners.decisions import check_decision_records, is_unsigned_draft
    from pipelines.lib.spec import DatasetSpec

    base = small_spec().model_dump(mode="json")
    partner = PARTNER_SOURCE | {"terms": OPEN}
    spec = DatasetSpec.model_validate(base | {"sources": [*base["sources"], partner]})
    verdict = allows_training(PartnerTerms.model_validate(OPEN), AS_OF)
    draft = decision_path(tmp_path, spec.name, "acme")
    draft.parent.mkdir(parents=True)
    draft.write_text(draft_record(spec.name, "acme", verdict))
    assert is_unsigned_draft(tmp_path, spec.name, "acme")
    check_decision_records(tmp_path, spec)  # a draft waits; it stops nothing
    (draft.parent / "Acme.yaml").write_text(draft.read_text())
    with pytest.raises(DecisionRecordError, match="Acme.yaml: names no partner source of ticket_triage"):
        check_decision_records(tmp_path, spec)
    (draft.parent / "Acme.yaml").unlink()
    draft.write_text(
        SIGNED.format(decision="approve").replace("tickets", spec.name).replace("2026-01-05", "2026-11-31")
    )
    with pytest.raises(DecisionRecordError, match="acme.yaml: day is out of range for month; write dates as real"):
        check_decision_records(tmp_path, spec)
