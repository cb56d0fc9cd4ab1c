"""Dataset specs and GX suites: invalid input is refused with file and field named; no
expectation is ever silently skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import PROJECT

from pipelines.lib.catalog import SpecError, dataset_specs, load_spec_file
from pipelines.lib.durations import parse_duration
from pipelines.lib.quality.expectations import SuiteError, load_suite, run_suite


def write_spec(tmp_path: Path, edit) -> Path:
    import yaml

    document = yaml.safe_load((PROJECT / "pipelines/defs/ticket_triage/defs.yaml").read_text())
    edit(document["attributes"])
    path = tmp_path / "defs.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_declared_dataset_is_valid():
    spec, path = dataset_specs()["ticket_triage"]
    assert spec.labels.classes == ["Billing", "Technical", "Account", "Other"]
    assert spec.gates["min_examples_per_class"].model_dump() == {"severity": "error", "min": 1000}
    assert path.name == "defs.yaml"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a["privacy"]["retention"].update(default="12 months"), "privacy.retention.default"),
        (lambda a: a["split"].update(train=0.9), "split shares must sum to 1"),
        (lambda a: a["gates"].update(min_examples_per_klass={"min": 1}), "gates.min_examples_per_klass: not a gate"),
        (lambda a: a["gates"]["min_examples_per_class"].update(mn=1), "gates.min_examples_per_class.mn: not a param"),
        (lambda a: a["gates"]["min_share_outside_language"].update(min=1.5), "gates.min_share_outside_language.min"),
        (lambda a: a["columns"].update(id=None), "feedback needs columns.id"),
        (lambda a: a["feedback"].update(segments=["channel", "region"]), "feedback.segments names 'region'"),
        (lambda a: a["feedback"]["drift"].update(severity="fatal"), "feedback.drift.severity"),
        (lambda a: a["feedback"].update(store={"url": "mysql://root@db/x"}), "feedback.store.url"),
    ],
)
def test_invalid_specs_name_the_file_and_the_field(tmp_path, edit, message):
    path = write_spec(tmp_path, edit)
    with pytest.raises(SpecError) as error:
        load_spec_file(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_durations():
    assert parse_duration("P12M") == parse_duration("P1Y") and parse_duration("P30D").days == 30
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_duration("P")


@pytest.mark.parametrize("suite_file", sorted((PROJECT / "expectations").glob("*.json")), ids=lambda p: p.name)
def test_every_expectation_in_every_suite_is_loaded(suite_file):
    declared = json.loads(suite_file.read_text())["expectations"]
    assert len(load_suite(suite_file).expectations) == len(declared) > 0


def test_an_invalid_expectation_is_refused_not_skipped(tmp_path):
    bad = {"name": "x", "expectations": [{"type": "expect_column_values_to_be_in_sett", "kwargs": {"column": "a"}}]}
    (tmp_path / "x.json").write_text(json.dumps(bad))
    with pytest.raises(SuiteError, match="expectation #0"):
        load_suite(tmp_path / "x.json")


def test_the_suite_runs_with_parameters_from_the_spec():
    suite = load_suite(PROJECT / "expectations" / "ticket_triage.json")
    frame = pd.DataFrame(
        {
            "ticket_id": ["a", "b"],
            "body": ["x", "y"],
            "category": ["Billing", "Other"],
            "language": ["en", "de"],
            "channel": ["email", "web"],
            "created_at": pd.to_datetime(["2026-10-01", "2026-10-30"], utc=True),
        }
    )
    params = {
        "classes": ["Billing", "Other"],
        "languages": ["en", "de"],
        "newest_timestamp_min": pd.Timestamp("2026-10-15", tz="UTC"),
    }
    assert all(outcome.success for outcome in run_suite(suite, frame, params))
    params |= {
        "classes": ["Billing", "Other", "Account"],
        "newest_timestamp_min": pd.Timestamp("2026-11-15", tz="UTC"),
    }
    failed = {(o.type, o.column) for o in run_suite(suite, frame, params) if not o.success}
    assert failed == {
        ("expect_column_distinct_values_to_contain_set", "category"),
        ("expect_column_max_to_be_between", "created_at"),
    }


def test_the_data_docs_index_lists_the_newest_validations_only(tmp_path, monkeypatch):
    """GX loads every validation result its index lists on each rebuild: capped, a daily run does
    not pay for every run before it. Every result stays stored."""
    from pipelines.lib.quality import expectations

    monkeypatch.setattr(expectations, "DOCS_INDEX_RESULTS", 2)
    frame = pd.DataFrame(
        {
            "ticket_id": ["a"],
            "body": ["x"],
            "category": ["Billing"],
            "language": ["en"],
            "channel": ["email"],
            "created_at": pd.to_datetime(["2026-10-01"], utc=True),
        }
    )
    params = {"classes": ["Billing"], "languages": ["en"], "newest_timestamp_min": pd.Timestamp("2026-09-01", tz="UTC")}
    for _ in range(4):  # each run loads the committed suite, as the training_set step does
        run_suite(load_suite(PROJECT / "expectations" / "ticket_triage.json"), frame, params, docs_root=tmp_path)
    gx_root = tmp_path / "gx"
    assert "validation_results_limit: 2" in (gx_root / "great_expectations.yml").read_text()
    assert len(list((gx_root / "uncommitted" / "validations").rglob("*.json"))) == 4
    site = gx_root / "uncommitted" / "data_docs" / "local_site"
    assert len(list((site / "validations").rglob("*.html"))) == 4
    index = (site / "index.html").read_text()
    assert index.count("validations/ticket_triage/") == 2


def test_the_suite_is_given_only_the_columns_its_expectations_read():
    from pipelines.lib.quality.expectations import columns_read

    suite = load_suite(PROJECT / "expectations" / "ticket_triage.json")
    frame = pd.DataFrame({c: ["x"] for c in ["ticket_id", "subject", "body", "category", "language", "channel"]})
    assert list(columns_read(suite, frame).columns) == ["ticket_id", "body", "category", "language", "channel"]
    # A table-wide expectation, or a row condition (which may read any column), reads every column.
    raw = json.loads((PROJECT / "expectations" / "ticket_triage.json").read_text())
    for extra in (
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "body", "row_condition": 'subject=="x"'}},
    ):
        wider = load_suite_from(raw | {"expectations": [*raw["expectations"], extra]})
        assert columns_read(wider, frame) is frame


def load_suite_from(document: dict):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.json"
        path.write_text(json.dumps(document))
        return load_suite(path)
