"""Gates as a registry keyed by their YAML name: one declaration, one implementation; parameters
validated when the spec loads; a new gate is a declaration and a registered measure."""

from __future__ import annotations

import pytest
from conftest import small_spec
from pydantic import Field, ValidationError
from test_splits_and_gates import AS_OF, tickets

from pipelines.lib.catalog import get_spec
from pipelines.lib.quality import gate_declarations, gate_registry
from pipelines.lib.quality.gate_declarations import DECLARED, GateDeclaration, GateParams
from pipelines.lib.quality.gate_registry import IMPLEMENTATIONS, Measured, implements
from pipelines.lib.quality.gates import evaluate_gates
from pipelines.lib.spec import DatasetSpec, GatesSpec


def test_every_declared_gate_has_one_implementation_and_is_measured_in_declaration_order():
    assert set(IMPLEMENTATIONS) == set(DECLARED) and gate_registry.missing_implementations() == []
    with pytest.raises(ValueError, match="not declared"):
        implements("min_examples_per_klass")
    with pytest.raises(ValueError, match="has an implementation already"):
        implements("min_examples_per_class")
    spec, _ = get_spec("ticket_triage")  # every gate declared (small_spec leaves the label issues out)
    results = evaluate_gates(tickets(), spec, AS_OF)
    assert [g.name for g in results] == list(DECLARED)
    assert all(g.explanation for g in results)


def test_a_wrong_parameter_fails_at_load_naming_the_dataset_the_gate_and_the_parameter():
    attributes = small_spec().model_dump(mode="json")
    attributes["gates"]["min_share_per_class"] = {"mni": 0.1, "severity": "warn"}
    with pytest.raises(ValidationError) as error:
        DatasetSpec.model_validate(attributes)
    message = str(error.value)
    assert "dataset 'ticket_triage': gates.min_share_per_class.min: Field required" in message
    assert "gates.min_share_per_class.mni: not a parameter of gate min_share_per_class (it takes: severity, min)" in (
        message
    )
    attributes["gates"] = {
        "max_split_leakge": {"max": 0.01},
        "required_values": {"column": "channel", "values": "web", "x": 1},
        "required_channels": {"values": ["web"]},
    }
    with pytest.raises(ValidationError) as error:
        DatasetSpec.model_validate(attributes)
    assert "gates.max_split_leakge: not a gate (did you mean max_split_leakage?" in str(error.value)
    assert "gates.required_values.values: Input should be a valid list" in str(error.value)
    assert "gates.required_values.x: not a parameter" in str(error.value)
    # A gate known by an earlier name says what it is declared as now.
    assert "gates.required_channels: renamed; declare it as required_values: {column:" in str(error.value)


def test_the_gates_schema_documents_every_declared_gate():
    properties = DatasetSpec.model_json_schema()["$defs"]["GatesSpec"]["properties"]
    assert list(properties) == list(DECLARED)
    assert properties["min_recent_share"]["description"] == DECLARED["min_recent_share"].measures
    assert GatesSpec.model_validate(small_spec().gates.model_dump()) == small_spec().gates


class MaxEmptySubjectShare(GateParams):
    max: float = Field(ge=0, le=1)


def test_a_new_gate_is_a_declaration_and_a_registered_measure(monkeypatch, request):
    name = "max_empty_subject_share"
    monkeypatch.setitem(
        gate_declarations.DECLARED, name, GateDeclaration(name, MaxEmptySubjectShare, "Share of empty subjects.")
    )
    request.addfinalizer(lambda: IMPLEMENTATIONS.pop(name, None))

    @implements(name)
    def _empty_subjects(bar: MaxEmptySubjectShare, data: gate_registry.GateInputs) -> Measured:
        share = float((data.frame["subject"].str.strip() == "").mean())
        words = f"{share:.0%} of the subjects are empty, {'within' if share <= bar.max else 'above'} the {bar.max:.0%}"
        return Measured(share <= bar.max, share, bar.max, words)

    declared = small_spec().model_copy(update={"gates": GatesSpec.model_validate({name: {"max": 0.2}})})
    frame = tickets(100).assign(subject=[""] * 30 + ["Question"] * 70)
    [result] = evaluate_gates(frame, declared, AS_OF)
    assert (result.name, result.passed, result.status, result.severity) == (name, False, "failed", "error")
    assert result.explanation == "30% of the subjects are empty, above the 20%"
