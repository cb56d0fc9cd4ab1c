"""The labeling loop end to end, as `make demo-labeling` runs it: a backlog a third uncategorised
fails its Account coverage bar -> `plan-labeling` plans and budgets the pilot and exports its tasks
-> two annotators' Label Studio export (gold items among the tasks, one annotation cancelled) ->
`import-labels` -> `trainset run` adjudicates and releases a version whose gate passes, its
manifest and card carrying label provenance and agreement per batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from conftest import ENVIRONMENT, PROJECT

from pipelines.lib.labeling.label_studio import IMPORT_SCHEMA

TRAINSET = str(Path(sys.executable).parent / "trainset")


def _call(root: Path, *command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TRAINSET_PSEUDONYM_KEY_FILE"} | ENVIRONMENT
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)


def trainset(root: Path, *args: str) -> subprocess.CompletedProcess:
    return _call(root, TRAINSET, *args, "--workspace", str(root))


def demo(root: Path, step: str, *args: str) -> subprocess.CompletedProcess:
    return _call(root, sys.executable, "-m", "pipelines.synthetic.labeling_demo", step, "--workspace", str(root), *args)


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    root = tmp_path_factory.mktemp("labeling") / "workspace"
    root.mkdir()
    subprocess.run(["cp", "-r", str(PROJECT / "expectations"), str(root / "expectations")], check=True)
    (root / ".gitignore").write_text("data/\n.dagster_home/\n")
    prepared = demo(root, "prepare", "--rows", "2500")
    assert prepared.returncode == 0, prepared.stderr
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    _call(root, "git", "commit", "-q", "-m", "backlog declared")
    steps = {
        "first_run": trainset(root, "run", "triage_backlog"),
        "plan": trainset(root, "plan-labeling", "triage_backlog"),
    }
    steps["annotate"] = demo(root, "annotate")
    exports = sorted((root / "data/labeling/triage_backlog/exports").glob("*.json"))
    steps["imports"] = [trainset(root, "import-labels", "triage_backlog", str(f)) for f in exports]
    steps["again"] = trainset(root, "import-labels", "triage_backlog", str(exports[0]))
    steps["second_run"] = trainset(root, "run", "triage_backlog")
    return root, steps


def test_a_failing_coverage_gate_is_planned_budgeted_and_exported(loop):
    root, steps = loop
    first = steps["first_run"]
    assert first.returncode == 1 and "min_examples_per_class" in first.stdout + first.stderr
    plan = steps["plan"]
    assert plan.returncode == 0, plan.stdout + plan.stderr
    folder = root / "data/labeling/triage_backlog/plans/001"
    written = json.loads((folder / "plan.json").read_text())
    assert written["status"] == "pilot_first"
    (cell,) = written["cells"]
    assert cell["cell"] == "category=Account" and cell["missing"] > 0
    assert cell["expected"] >= cell["missing"]  # enough items for the shortfall, by the model's probabilities
    pilot, *later = written["batches"]
    assert pilot["name"] == "p1-pilot" and pilot["exported"] and pilot["gold"] == 10
    assert all(not b["exported"] for b in later)  # scaling waits for the pilot's agreement
    # The budget is the seed's rule over the items and gold sent: items x 2 labels x $0.09 x 1.2 x 1.1.
    items = sum(b["items"] + b["gold"] for b in written["batches"])
    expected = Decimal(items) * 2 * Decimal("0.09") * Decimal("1.2") * Decimal("1.1")
    assert Decimal(written["total"]) == expected.quantize(Decimal("0.01"), ROUND_HALF_UP) and written["gold"] == 10
    assert "## Batches and budget" in (folder / "plan.md").read_text()
    assert len(pd.read_csv(folder / "plan.csv")) == written["items"]


def test_exported_tasks_are_valid_label_studio_imports_of_redacted_text(loop):
    root, _ = loop
    batch = root / "data/labeling/triage_backlog/plans/001/batches/p1-pilot"
    tasks = json.loads((batch / "tasks.json").read_text())
    jsonschema.validate(tasks, IMPORT_SCHEMA)
    gold = [t for t in tasks if t["data"]["item"].startswith("gold:")]
    assert len(gold) == 10 and all("predictions" not in t or not t["predictions"] for t in gold)
    predicted = [t for t in tasks if t.get("predictions")]
    assert predicted and all(p["model_version"] and 0 <= p["score"] <= 1 for t in predicted for p in t["predictions"])
    # Never raw: the backlog's planted e-mail addresses are redacted in every task.
    export = pd.read_csv(root / "data/exports/triage_backlog.csv", dtype="str")
    emails = set(export["customer_email"])
    text = (batch / "tasks.json").read_text()
    assert not [e for e in emails if e in text]
    assert "<EMAIL>" in text or "<PHONE>" in text
    assert "<Choices" in (batch / "config.xml").read_text()


def test_imported_labels_are_adjudicated_into_a_version_whose_gate_passes(loop):
    root, steps = loop
    assert all(r.returncode == 0 for r in steps["imports"]), [r.stdout + r.stderr for r in steps["imports"]]
    assert "1 cancelled" in steps["imports"][0].stdout
    assert "already imported" in steps["again"].stdout
    second = steps["second_run"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert "released v1" in second.stdout
    manifest = json.loads((root / "datasets/triage_backlog/v1/manifest.json").read_text())
    gate = next(g for g in manifest["gates"] if g["name"] == "min_examples_per_class")
    assert gate["status"] == "passed"
    labels = manifest["labels"]
    assert labels["by_source"]["adjudicated"] > 0 and labels["by_source"]["source"] > 0
    (batch,) = labels["batches"]
    assert batch["batch"] == "p1-pilot" and batch["method"] == "cohen" and batch["kappa"] >= 0.8
    assert {g["annotator"] for g in batch["gold"]} == {"11", "12"}
    assert labels["guideline"]["gold"] >= 8
    accounting = manifest["accounting"]["labeled"]
    assert accounting["rows_in"] == accounting["rows_out"] + sum(accounting["removed"].values())
    # Every example's label carries its provenance into the released splits.
    rows = pd.concat(
        pd.read_parquet(root / f"datasets/triage_backlog/v1/{s}.parquet") for s in ("train", "validation", "test")
    )
    assert set(rows["label_source"]) == {"source", "adjudicated"}
    assert (rows.loc[rows["label_source"] == "adjudicated", "label_batch"] == "p1-pilot").all()
    card = (root / "datasets/triage_backlog/v1/DATASET_CARD.md").read_text()
    assert "## Labels" in card and "p1-pilot" in card
    # What built the labels is committed with the release.
    committed = _call(root, "git", "show", "--name-only", "--format=", "HEAD").stdout
    assert "labeling/triage_backlog/annotations/" in committed
    tracked = _call(root, "git", "ls-files").stdout.split()
    assert "pipelines/defs/triage_backlog/guideline.md" in tracked
