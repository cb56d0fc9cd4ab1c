"""Importing a labelled batch: read (Label Studio's JSON export or a CSV), check against the
declared classes and the guideline's gold items, store, and quarantine what cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.lib.labeling.annotation_csv import read_annotations_csv
from pipelines.lib.labeling.annotations import GOLD_PREFIX
from pipelines.lib.labeling.guideline import load_guideline
from pipelines.lib.labeling.label_studio import LabelingInputError, read_export
from pipelines.lib.labeling.store import save_annotations
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


@dataclass(frozen=True)
class ImportResult:
    """What one import stored and left out."""

    stored: Path
    created: bool
    annotations: int
    items: int
    annotators: int
    gold: int
    cancelled: int
    duplicates: int
    problems: int
    problems_file: Path | None


def import_annotations(
    paths: DatasetPaths, spec: DatasetSpec, file: Path, batch: str | None = None, kind: str = "auto"
) -> ImportResult:
    """Import `file` (kind `label-studio`, `csv`, or `auto` by suffix) into the dataset's labeling
    store. Annotations of gold items the guideline does not hold are unusable (`unknown_gold_item`).
    Unusable annotations go to `data/labeling/<dataset>/import_problems/<stored name>` with their
    reason. Raises LabelingInputError for a file that cannot be read as the kind."""
    if kind == "auto":
        suffix = file.suffix.lower()
        if suffix not in (".json", ".csv"):
            raise LabelingInputError(
                f"{file}: cannot tell the format from the suffix {suffix or '(none)'}: pass --format label-studio "
                "(Label Studio's JSON export) or --format csv (item, annotator, label)"
            )
        kind = "label-studio" if suffix == ".json" else "csv"
    reader = read_export if kind == "label-studio" else read_annotations_csv
    imported = reader(file, spec.labels.classes, batch=batch)
    frame, problems = imported.frame, imported.problems
    gold_ids = _gold_ids(paths, spec)
    unknown_gold = frame["gold"] & ~frame["item"].isin(gold_ids)
    if unknown_gold.any():
        extra = frame.loc[unknown_gold, ["task", "item", "annotator"]].assign(reason="unknown_gold_item")
        problems = pd.concat([problems, extra], ignore_index=True)
        frame = frame[~unknown_gold]
    batches = sorted(frame["batch"].dropna().unique())
    name = batches[0] if len(batches) == 1 else (batch or "mixed")
    stored, created = save_annotations(paths, frame, name, file)
    problems_file = None
    if len(problems):
        problems_file = paths.labeling_work / "import_problems" / stored.name
        problems_file.parent.mkdir(parents=True, exist_ok=True)
        problems.to_csv(problems_file, index=False)
    return ImportResult(
        stored=stored,
        created=created,
        annotations=len(frame),
        items=int(frame["item"].nunique()),
        annotators=int(frame["annotator"].nunique()),
        gold=int(frame["gold"].sum()),
        cancelled=imported.cancelled,
        duplicates=imported.duplicates,
        problems=len(problems),
        problems_file=problems_file,
    )


def _gold_ids(paths: DatasetPaths, spec: DatasetSpec) -> set[str]:
    if spec.labeling is None or spec.labeling.guideline is None:
        return set()
    guideline = load_guideline(paths.landing(spec.labeling.guideline), spec.labels.classes)
    return {f"{GOLD_PREFIX}{g.id}" for g in guideline.gold}
