"""The labeling loop's demo: a backlog of tickets of which a third were never categorised, too few
Account tickets for the coverage bar, and two simulated annotators who label what a plan sends.

    python -m pipelines.synthetic.labeling_demo prepare    # export, spec, guideline of triage_backlog
    python -m pipelines.synthetic.labeling_demo annotate   # Label Studio exports of the plan's batches

The annotators answer from the generator's categories (kept beside the export, never read by the
pipeline), each right with a fixed probability; the exports are shaped as Label Studio's JSON
export documents them (tasks with `annotations[]`: `completed_by`, `result[].value.choices`,
`was_cancelled`, `ground_truth`), one of them cancelled."""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.labeling.annotations import GOLD_PREFIX
from pipelines.lib.labeling.guideline import load_guideline
from pipelines.lib.workspace import DatasetPaths, last_complete_day
from pipelines.synthetic.generate import GeneratorConfig, generate

DATASET = "triage_backlog"
EXPORT = Path("data/exports/triage_backlog.csv")
#: the generator's categories of the backlog: what the simulated annotators know
TRUTH = Path("data/synthetic/triage_backlog_truth.csv")
CLASSES = ["Billing", "Technical", "Account", "Other"]
#: Label Studio user ids of the two simulated annotators, and how often each is right
ANNOTATORS = {11: 0.96, 12: 0.94}

SPEC = """\
# A ticket backlog of which a third was never categorised: labeling closes its coverage gap.
type: pipelines.components.TrainingDataset

requirements:
  env: [TRAINSET_PSEUDONYM_KEY]

attributes:
  name: triage_backlog
  description: >-
    Support tickets, partly uncategorised, labelled through trainset's labeling plan for the
    ticket-triage classifier.
  owner: support-ml
  steward: data-governance
  escalation:
    gate_failure: data-governance
    pii_found: privacy-office
    deletion_request: privacy-office

  sources:
    - name: tickets
      path: data/exports/triage_backlog.csv
      format: csv
      owner: support-platform
      steward: support-ops
      legal_basis: legitimate_interest
      licence: internal-use-only
      escalation:
        gate_failure: support-ops
        pii_found: privacy-office
        deletion_request: privacy-office
      start_date: "{start}"

  columns:
    id: ticket_id
    user: user_id
    timestamp: created_at
    text: [subject, body]
    language: language
    segments: [channel]

  privacy:
    redact: [email, phone, credit_card, iban, ip_address, us_ssn]
    key_env: TRAINSET_PSEUDONYM_KEY

  labels:
    column: category
    classes: [Billing, Technical, Account, Other]

  labeling:
    price_per_label: 0.09
    currency: USD
    labels_per_item: 2
    qa_overhead: 0.20
    contingency: 0.10
    pilot: {pilot}
    batches: [0.3, 0.4, 0.3]
    annotators: ["11", "12"]
    guideline: pipelines/defs/triage_backlog/guideline.md
    gold_per_batch: 10
    min_agreement: 0.8
    min_gold_accuracy: 0.8

  languages: [en, es, de, fr, pt]

  gates:
    min_examples_per_class: {{min: {bar}, severity: error}}
    min_examples_per_split: {{min: 5, severity: error}}
    max_quarantine_rate: {{max: 0.02, severity: error}}
    max_split_leakage: {{max: 0.01, severity: error}}
    max_label_issue_share: {{max: 0.05, severity: warn}}
"""


def prepare(root: Path, rows: int = 4000, seed: int = 41, as_of: date | None = None, pilot: int = 200) -> Path:
    """Write the backlog export (a third of its categories blank, Account scarce), the truth the
    annotators answer from, the dataset's spec and guideline under pipelines/defs/triage_backlog/,
    and its GX suite (ticket_triage's, renamed) under expectations/.
    Returns the spec file. The same arguments always write the same bytes."""
    end = as_of or last_complete_day()
    weights = {"Billing": 0.38, "Technical": 0.34, "Account": 0.10, "Other": 0.18}
    tickets = generate(GeneratorConfig(rows=rows, seed=seed, as_of=end, months=3, class_weights=weights)).tickets
    truth = tickets[["ticket_id", "category"]]
    rng = np.random.default_rng(seed)
    backlog = tickets.assign(category=tickets["category"].where(rng.random(len(tickets)) >= 1 / 3, ""))
    for path, frame in ((root / EXPORT, backlog), (root / TRUTH, truth)):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, lineterminator="\n")
    # The bar sits between the labelled Account tickets and what the backlog holds.
    labelled = int((backlog["category"] == "Account").sum())
    bar = labelled + max(20, int((truth["category"] == "Account").sum() - labelled) // 3)
    start = (pd.Timestamp(tickets["created_at"].min()).date() - timedelta(days=1)).isoformat()
    folder = root / "pipelines" / "defs" / DATASET
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "defs.yaml"
    spec.write_text(SPEC.format(start=start, pilot=pilot, bar=bar), encoding="utf-8")
    project = Path(__file__).resolve().parents[2]
    shutil.copyfile(project / "pipelines" / "defs" / "ticket_triage" / "guideline.md", folder / "guideline.md")
    # ticket_triage's columns, so its steward's suite, under this dataset's name
    suite = json.loads((project / "expectations" / "ticket_triage.json").read_text(encoding="utf-8"))
    suite["name"] = DATASET
    (root / "expectations").mkdir(exist_ok=True)
    (root / "expectations" / f"{DATASET}.json").write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    return spec


def annotate(root: Path, seed: int = 5) -> list[Path]:
    """Label every exported batch of the latest plan as the two annotators would, and write each
    batch's Label Studio JSON export under data/labeling/triage_backlog/exports/. Returns them."""
    paths = DatasetPaths(root, DATASET)
    plans = sorted(p for p in (paths.labeling_work / "plans").glob("*") if p.name.isdigit())
    if not plans:
        raise SystemExit(f"no labeling plan under {paths.labeling_work / 'plans'}: run trainset plan-labeling first")
    truth = pd.read_csv(root / TRUTH, dtype="str").set_index("ticket_id")["category"]
    guideline = load_guideline(root / "pipelines" / "defs" / DATASET / "guideline.md", CLASSES)
    gold = {f"{GOLD_PREFIX}{g.id}": g.label for g in guideline.gold}
    rng = np.random.default_rng(seed)
    written = []
    for tasks_file in sorted((plans[-1] / "batches").glob("*/tasks.json")):
        tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
        exported = [_labelled(i, task, truth, gold, rng) for i, task in enumerate(tasks, start=1)]
        if exported:  # one annotator gave up on one task: Label Studio keeps it, cancelled
            exported[0]["annotations"][0] |= {"was_cancelled": True, "result": []}
        target = paths.labeling_work / "exports" / f"{tasks_file.parent.name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(exported, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append(target)
    return written


def _labelled(task_id: int, task: dict, truth: pd.Series, gold: dict[str, str], rng) -> dict:
    item = task["data"]["item"]
    right = gold.get(item) or truth.get(item)
    stamp = datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(minutes=task_id)
    annotations = []
    for number, (user, accuracy) in enumerate(ANNOTATORS.items(), start=1):
        label = right if rng.random() < accuracy else str(rng.choice([c for c in CLASSES if c != right]))
        when = (stamp + timedelta(seconds=30 * number)).isoformat().replace("+00:00", "Z")
        annotations.append(
            {
                "id": task_id * 10 + number,
                "completed_by": user,
                "result": [
                    {
                        "id": f"r{task_id}-{number}",
                        "from_name": "label",
                        "to_name": "text",
                        "type": "choices",
                        "origin": "manual",
                        "value": {"choices": [label]},
                    }
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": when,
                "updated_at": when,
                "lead_time": round(float(rng.uniform(4, 40)), 3),
                "task": task_id,
            }
        )
    return {"id": task_id, "data": task["data"], "annotations": annotations, "predictions": task.get("predictions", [])}


def main(argv: list[str] | None = None) -> None:
    """`python -m pipelines.synthetic.labeling_demo prepare|annotate [--workspace DIR]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "annotate"])
    parser.add_argument("--workspace", type=Path, default=Path.cwd())
    parser.add_argument("--rows", type=int, default=4000, help="Tickets in the backlog (prepare).")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        print(f"wrote {prepare(args.workspace, rows=args.rows)} and the backlog export {args.workspace / EXPORT}")
    else:
        for path in annotate(args.workspace):
            print(f"annotated: {path}")


if __name__ == "__main__":
    main()
