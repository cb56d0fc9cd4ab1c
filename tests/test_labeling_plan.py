"""Labeling's pieces on inputs built here: which cells a gate run opens, which pool items a plan
sends, when the pilot blocks scaling, weak labels and a cold start, a steward's decision, and the
coverage audit."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT

from pipelines.lib.accounting import RowAccounting
from pipelines.lib.catalog import get_spec
from pipelines.lib.files import write_parquet
from pipelines.lib.labeling.adjudication import record_decision
from pipelines.lib.labeling.audit import coverage_audit
from pipelines.lib.labeling.declaration import WeakLabelsSpec
from pipelines.lib.labeling.plan import _pilot_state
from pipelines.lib.labeling.selection import Cell, open_cells, select
from pipelines.lib.labeling.steps import build_labeled
from pipelines.lib.labeling.store import decisions_file, save_annotations
from pipelines.lib.labeling.weak import weak_labels
from pipelines.lib.quality.gate_results import GateResult, Shortfall
from pipelines.lib.reports import BatchQuality, LabeledReport
from pipelines.lib.workspace import DatasetPaths

CLASSES = ["Billing", "Technical", "Account", "Other"]


def _gate(name: str, passed: bool, *failing: Shortfall) -> GateResult:
    return GateResult(name=name, severity="error", passed=passed, measured=0, required=0, failing=list(failing))


def test_open_cells_are_the_coverage_shortfalls_of_gates_that_did_not_pass() -> None:
    gates = [
        _gate(
            "min_examples_per_class",
            False,
            Shortfall(segment="Account", text="Account: 812 < 1000", column="category", missing=188),
        ),
        _gate(
            "min_share_per_class",
            False,
            Shortfall(segment="Account", text="Account: 8% < 10%", column="category", missing=250),
        ),
        _gate(
            "min_share_outside_language",
            False,
            Shortfall(segment="en", text="other than en", column="language", other_than=True, missing=40),
        ),
        _gate("max_duplicate_share", False, Shortfall(text="12 examples repeat an earlier text")),
        _gate("min_examples_top_languages", True, Shortfall(segment="pt", text="pt", column="language", missing=9)),
    ]
    cells = open_cells(gates)
    # one cell per column and value, the larger shortfall; a passed gate and a non-coverage gate open none
    assert [(c.name, c.missing, c.gate) for c in cells] == [
        ("category=Account", 250, "min_share_per_class"),
        ("language!=en", 40, "min_share_outside_language"),
    ]


def test_selection_targets_the_cell_ranks_by_uncertainty_and_sends_enough_for_the_expected_gain() -> None:
    n = 60
    proba = pd.DataFrame(0.0, index=range(n), columns=CLASSES)
    # items 0-29: the model believes Account, more or less surely; 30-59: Billing
    sure = np.linspace(0.95, 0.55, 30)
    proba.loc[:29, "Account"], proba.loc[:29, "Billing"] = sure, 1 - sure
    proba.loc[30:, "Billing"] = 0.9
    proba.loc[30:, "Other"] = 0.1
    pool = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(n)], "language": ["pt"] * 10 + ["en"] * 50})
    unsure = 1 - proba.max(axis=1)
    cells = [
        Cell("min_examples_per_class", "category", "Account", False, 5, "Account: 95 < 100"),
        Cell("min_examples_top_languages", "language", "pt", False, 3, "pt: 27 < 30"),
    ]
    chosen = select(pool, cells, proba, unsure, "category", cap=None)
    account = chosen.items[chosen.items["cell"] == "category=Account"]
    assert set(account["predicted"]) == {"Account"}
    # Portuguese Account items fill both cells: taken first, then the most uncertain
    assert set(account["ticket_id"].head(3)) <= {f"T{i}" for i in range(10)}
    assert chosen.expected["category=Account"] >= 5 and chosen.unfilled["category=Account"] == 0
    assert chosen.expected["language=pt"] >= 3
    # The pool cannot supply what it does not hold: said as unfilled
    more = [Cell("min_examples_per_class", "category", "Account", False, 500, "Account: 0 < 500")]
    short = select(pool, more, proba, unsure, "category", cap=None)
    assert len(short.items) == 30 and short.unfilled["category=Account"] > 400
    assert len(select(pool, more, proba, unsure, "category", cap=7).items) == 7


def _report(*batches: BatchQuality) -> LabeledReport:
    return LabeledReport(accounting=RowAccounting(rows_in=0, rows_out=0), batches=list(batches))


def test_a_pilot_below_the_agreement_bar_blocks_scaling() -> None:
    spec, _ = get_spec("ticket_triage")
    labeling = spec.labeling
    assert _pilot_state(_report(), labeling)[0] == "pilot_first"
    low = BatchQuality(batch="p1-pilot", items=200, annotations=400, annotators=2, kappa=0.62, agreed=False)
    status, advice = _pilot_state(_report(low), labeling)
    assert status == "pilot_below_bar" and "refine the guideline" in advice[0]
    good = BatchQuality(batch="p2-pilot", items=200, annotations=400, annotators=2, kappa=0.86, agreed=True)
    assert _pilot_state(_report(low, good), labeling)[0] == "scale"


def test_weak_labels_match_whole_keywords_per_language_and_leave_ties_unlabelled() -> None:
    weak = WeakLabelsSpec(rules={"Billing": {"*": ["invoice"], "de": ["rechnung"]}, "Technical": {"en": ["error"]}})
    texts = pd.Series(
        ["Invoice is wrong", "Rechnung falsch", "Rechnung falsch", "error on my invoice", "invoices", None]
    )
    found = weak_labels(texts, pd.Series(["en", "de", "fr", "en", "en", "en"]), weak, CLASSES)
    assert found["weak_label"].iloc[0] == "Billing" and found["weak_label"].iloc[1] == "Billing"
    assert found["weak_label"].iloc[2:].isna().all()  # German rule on French text; a tie; no whole word; empty
    assert found["weak_score"].tolist() == [1.0, 1.0, 0.0, 0.5, 0.0, 0.0]


def _eligible(paths: DatasetPaths, labels: list[str | None]) -> None:
    n = len(labels)
    texts = [
        "I was charged twice, refund the invoice",
        "The app shows an error and crashes",
        "I cannot login, reset my password",
        "Do you have an office in Lisbon",
    ]
    frame = pd.DataFrame(
        {
            "ticket_id": [f"T{i:04d}" for i in range(n)],
            "user_id": ["0123456789abcdef0123"] * n,
            "created_at": pd.Timestamp("2026-10-01", tz="UTC"),
            "language": "en",
            "channel": "email",
            "subject": [texts[i % 4] for i in range(n)],
            "body": "",
            "category": pd.Series(labels, dtype="str"),
        }
    )
    write_parquet(frame, paths.eligible)


@pytest.fixture
def backlog(tmp_path):
    spec, _ = get_spec("ticket_triage")
    root = tmp_path / "workspace"
    guideline = root / "pipelines/defs/ticket_triage/guideline.md"
    guideline.parent.mkdir(parents=True)
    shutil.copyfile(PROJECT / "pipelines/defs/ticket_triage/guideline.md", guideline)
    return spec, DatasetPaths(root, spec.name)


def test_a_cold_start_trains_on_weak_labels_marked_weak_when_declared(backlog) -> None:
    spec, paths = backlog
    _eligible(paths, [None] * 40)
    weak = spec.labeling.weak.model_copy(update={"train": True})
    cold = spec.model_copy(update={"labeling": spec.labeling.model_copy(update={"weak": weak})})
    report = build_labeled(paths, cold)
    assert report.by_source == {"weak": 30}  # the fourth text matches no rule: it stays in the pool
    labelled = pd.read_parquet(paths.labeled)
    assert set(labelled["label_how"]) == {"rule"} and (labelled["label_annotators"] == 0).all()
    pool = pd.read_parquet(paths.unlabeled)
    assert len(pool) == report.pool == 10 and pool["weak_label"].isna().all()
    # Without train: true, weak labels only suggest: nothing is labelled, all 40 wait in the pool.
    _eligible(paths, [None] * 39 + ["Other"])
    report = build_labeled(paths, spec)
    assert report.by_source == {"source": 1} and report.pool == 39 and report.weak_in_pool == 30


def test_a_tie_waits_for_the_steward_whose_decision_the_next_build_applies(backlog) -> None:
    spec, paths = backlog
    _eligible(paths, [None, None, "Billing", "Technical"])
    annotations = pd.DataFrame(
        {
            "item": ["T0000", "T0000", "T0001", "T0001", "T0003", "T0003", "gold:G1", "gold:G1"],
            "annotator": ["11", "12"] * 4,
            "label": ["Billing", "Billing", "Technical", "Account", "Account", "Account", "Billing", "Billing"],
            "batch": "p1-pilot",
            "gold": [False] * 6 + [True, True],
            "ground_truth": False,
            "annotated_at": pd.Timestamp("2026-11-01", tz="UTC"),
            "tool": "label_studio",
            "task": "1",
        }
    )
    source = paths.root / "export.json"
    source.write_text("[]")
    save_annotations(paths, annotations, "p1-pilot", source)
    # Three items cannot reach a kappa of 0.8: the batch's labels are held back, its items stay in the pool.
    held = build_labeled(paths, spec)
    assert held.held_back == ["p1-pilot"] and held.by_source == {"source": 2} and held.pool == 2
    assert held.batches[0].agreed is False
    spec = spec.model_copy(update={"labeling": spec.labeling.model_copy(update={"min_agreement": 0.0})})
    first = build_labeled(paths, spec)
    assert first.queue == 1 and first.accounting.removed["awaiting_adjudication"] == 1
    assert first.changed_source_label == 1  # T0003: Technical in the source, Account by both annotators
    queue = pd.read_csv(paths.labeling_work / "queue.csv", dtype="str")
    # the steward sees the redacted text beside the conflicting labels
    assert queue.to_dict("records") == [
        {
            "item": "T0001",
            "batch": "p1-pilot",
            "labels": "Account|Technical",
            "reason": "tie",
            "text": "The app shows an error and crashes | ",
        }
    ]
    record_decision(
        decisions_file(paths), "T0001", "Technical", "data-governance", "error message: technical", spec.labels.classes
    )
    second = build_labeled(paths, spec)
    assert second.queue == 0 and not (paths.labeling_work / "queue.csv").exists()
    labelled = pd.read_parquet(paths.labeled).set_index("ticket_id")
    assert labelled.loc["T0001", ["category", "label_source", "label_how"]].tolist() == [
        "Technical",
        "adjudicated",
        "steward",
    ]
    assert labelled.loc["T0003", "category"] == "Account" and labelled.loc["T0002", "label_source"] == "source"
    assert second.batches[0].gold[0].accuracy == 1.0


def test_the_coverage_audit_proposes_what_production_has_and_training_lacks(backlog) -> None:
    spec, paths = backlog
    production = pd.DataFrame(
        {
            "category": ["Billing"] * 60 + ["Account"] * 40,
            "language": ["en"] * 70 + ["pt"] * 30,
            "channel": ["email"] * 50 + ["chat"] * 50,
            "subject": "x",
            "body": "",
        }
    )
    training = production.iloc[list(range(0, 60)) + list(range(60, 70))]  # Account and pt under-represented
    write_parquet(production, paths.eligible)
    write_parquet(training, paths.training_set)
    audit = coverage_audit(paths, spec)
    assert any(
        p.startswith("category=Account: 40.0% of production, 14.3% of the training set") for p in audit.proposals
    )
    row = next(r for r in audit.rows if r.column == "language" and r.value == "pt")
    assert row.training == 0 and row.to_add == 30  # (0.3 x 70 - 0) / (1 - 0.3)
