"""The files of a labeling plan: plan.md, plan.json and plan.csv under
`data/labeling/<dataset>/plans/<n>/`, and each exported batch's tasks (Label Studio import JSON
with its labeling config, and a CSV) under `batches/<batch>/`. Redacted text only: the pool is
read from the labeled stage, after redaction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.lib.files import write_text
from pipelines.lib.labeling.annotation_csv import write_tasks_csv
from pipelines.lib.labeling.annotations import GOLD_PREFIX
from pipelines.lib.labeling.budget import money
from pipelines.lib.labeling.guideline import Guideline
from pipelines.lib.labeling.label_studio import labeling_config, tasks, validate_tasks, write_batch
from pipelines.lib.labeling.plan import LabelingPlan
from pipelines.lib.labeling.text_model import TEXT_MODEL_VERSION
from pipelines.lib.labeling.weak import WEAK_MODEL_VERSION
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.templates import environment
from pipelines.lib.workspace import DatasetPaths


def plans_folder(paths: DatasetPaths) -> Path:
    """data/labeling/<dataset>/plans/: one numbered folder per plan."""
    return paths.labeling_work / "plans"


def next_plan_number(paths: DatasetPaths) -> int:
    """One more than the highest plan number so far (1 for the first)."""
    numbers = [int(p.name) for p in plans_folder(paths).glob("*") if p.name.isdigit()]
    return max(numbers, default=0) + 1


def write_plan(
    paths: DatasetPaths,
    spec: DatasetSpec,
    plan: LabelingPlan,
    items: pd.DataFrame,
    guideline: Guideline | None,
    seed: int = 13,
) -> Path:
    """Write the plan's files and the tasks of its exported batches; returns the plan's folder."""
    folder = plans_folder(paths) / f"{plan.plan:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    write_text(plan.model_dump_json(indent=2) + "\n", folder / "plan.json")
    template = environment(autoescape=False).get_template("labeling_plan.md.j2")
    write_text(template.render(plan=plan, money=lambda amount: money(amount, plan.currency)), folder / "plan.md")
    shown = [spec.id_column, "batch", "cell", "predicted", "uncertainty", spec.language_column, *spec.columns.segments]
    items[[c for c in shown if c in items.columns]].to_csv(folder / "plan.csv", index=False)
    config = labeling_config(spec.labels.classes)
    for batch in plan.batches:
        if not batch.exported:
            continue
        rows, version = _task_items(items[items["batch"] == batch.name], spec, guideline, batch.gold, seed)
        found = tasks(rows, model_version=version)
        validate_tasks(found)
        target = folder / "batches" / batch.name
        write_batch(target, found, config)
        write_tasks_csv(rows, target / "tasks.csv")
    return folder


def _task_items(
    items: pd.DataFrame, spec: DatasetSpec, guideline: Guideline | None, gold: int, seed: int
) -> tuple[pd.DataFrame, str]:
    """A batch's task rows (item, text, batch, language, segments, suggestion), gold items of the
    guideline mixed in at places the seed fixes (no suggestion on them: it would give the answer),
    and the model_version of the suggestions."""
    segments = [spec.language_column, *spec.columns.segments]
    rows = pd.DataFrame(
        {"item": items[spec.id_column].astype("str"), "text": items["text"], "batch": items["batch"]}
        | {name: items[name] for name in segments if name in items.columns}
    )
    if "weak_label" in items.columns and items["weak_label"].notna().any():
        rows["weak_label"], rows["weak_score"] = items["weak_label"], items["weak_score"]
        version = WEAK_MODEL_VERSION
    else:  # the text model's guess: a pre-annotation to confirm or correct
        rows["weak_label"], rows["weak_score"] = items["predicted"], (1 - items["uncertainty"]).round(4)
        version = TEXT_MODEL_VERSION
    if guideline is not None and gold and len(rows):
        examples = guideline.gold
        picked = [examples[i % len(examples)] for i in range(gold)]
        batch = str(rows["batch"].iloc[0])
        gold_rows = pd.DataFrame(
            {
                "item": [f"{GOLD_PREFIX}{g.id}" for g in picked],
                "text": [g.text for g in picked],
                "batch": batch,
            }
        )
        rows = pd.concat([rows, gold_rows], ignore_index=True)
    return rows.sample(frac=1.0, random_state=seed).reset_index(drop=True), version
