"""Access, classification and escalation in a spec: a source or dataset without whom to call is
refused, with the place named; placeholders are listed as such."""

from __future__ import annotations

import pytest
from conftest import small_spec
from pydantic import ValidationError

from pipelines.lib.errors import describe_validation
from pipelines.lib.spec import DatasetSpec


def document() -> dict:
    return small_spec().model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("key", ["owner", "steward", "escalation"])
def test_a_source_without_an_owner_steward_or_escalation_contact_is_refused(key):
    spec = document()
    del spec["sources"][0][key]
    with pytest.raises(ValidationError) as error:
        DatasetSpec.model_validate(spec)
    assert describe_validation(error.value) == f"sources[0].{key}: Field required"


def test_an_escalation_path_names_a_contact_for_each_event():
    spec = document()
    spec["sources"][0]["escalation"] = {"gate_failure": "support-ops", "pii_found": ""}
    with pytest.raises(ValidationError) as error:
        DatasetSpec.model_validate(spec)
    assert describe_validation(error.value) == (
        "sources[0].escalation.pii_found: String should have at least 1 character; "
        "sources[0].escalation.deletion_request: Field required"
    )


def test_access_names_groups_and_classification_is_one_of_four():
    spec = document() | {"access": {"raw": ["ana lopez"]}, "classification": "secret"}
    with pytest.raises(ValidationError) as error:
        DatasetSpec.model_validate(spec)
    message = describe_validation(error.value)
    assert "classification: Input should be 'public', 'internal', 'confidential' or 'restricted'" in message
    assert "access.raw: ['ana lopez']: a group name is letters, digits, `_`, `.` or `-`" in message


def test_placeholders_in_access_and_escalation_are_listed():
    spec = document()
    spec["access"] = {"raw": ["TODO-raw-readers"], "releases": ["ml-platform"]}
    spec["sources"][0]["escalation"]["pii_found"] = "TODO-privacy-contact"
    assert DatasetSpec.model_validate(spec).placeholders() == ["access.raw", "sources[0].escalation.pii_found"]


def test_the_committed_spec_declares_who_to_call():
    spec = small_spec()
    assert spec.classification == "confidential" and not spec.placeholders()
    assert spec.escalation.pii_found == "privacy-office" and spec.sources[0].escalation.gate_failure == "support-ops"
    assert spec.privacy.keep_raw is False and spec.privacy.group is None
