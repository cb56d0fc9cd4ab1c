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
    if not file.is_file():
        raise FileNotFoundError(2, "no such file", str(file))
    if kind == "auto":
        suffix = file.suffix.lower()
        if suffix not in (".json", ".csv"):
            raise ImportUsageError(
                f"{file}: cannot tell the format from the suffix {suffix or '(none)'}: pass --format label-studio "
                "(Label Studio's JSON export) or --format csv (item, annotator, label)"
            )
        kind = "label-studio" if suffix == ".json" else "csv"
    reader = read_export if kind == "label-studio" else read_annotations_csv
    imported = reader(file, spec.labels.classes, batch=batch)
    frame, problems = imported.frame, imported.problems
    if (problems["reason"] == "no_batch").any():
        raise ImportUsageError(
            f"{file}: {int((problems['reason'] == 'no_batch').sum())} annotation(s) say no batch: pass --batch "
            "with the plan's batch name (e.g. p1-pilot), or add a batch column"
        )
    for mask, reason in _unusable(paths, spec, frame):
        extra = frame.loc[mask, ["task", "item", "annotator"]].assign(reason=reason)
        problems = pd.concat([problems, extra], ignore_index=True)
        frame = frame[~mask]
    if frame.empty:
        raise LabelingInputError(
            f"{file}: no usable annotation ({imported.cancelled} cancelled, {len(problems)} unusable: "
            f"{_reasons(problems)}): nothing imported; correct the export and import it again"
        )
    batches = sorted(frame["batch"].dropna().unique())
    name = batches[0] if len(batches) == 1 else (batch or "mixed")
    stored, created = save_annotations(paths, frame, name, file)
    problems_file = None
    if len(problems) and created:
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


class ImportUsageError(ValueError):
    """The import was asked for wrongly (no batch, an unknown format): a usage error."""

    exit_code = 2


def _unusable(paths: DatasetPaths, spec: DatasetSpec, frame: pd.DataFrame) -> list[tuple[pd.Series, str]]:
    """(rows, reason) of annotations that cannot be used: a gold item the guideline does not hold,
    an item that is not an eligible example (checked once the labeled stage has run), an
    annotator outside the declared pool (when `labeling.annotators` names one)."""
    found = [(frame["gold"] & ~frame["item"].isin(_gold_ids(paths, spec)), "unknown_gold_item")]
    known = _known_items(paths, spec)
    if known is not None:
        found.append((~frame["gold"] & ~frame["item"].isin(known), "unknown_item"))
    pool = spec.labeling.annotators if spec.labeling else []
    if pool:
        found.append((~frame["annotator"].isin(pool), "unknown_annotator"))
    return found


def _known_items(paths: DatasetPaths, spec: DatasetSpec) -> pd.Series | None:
    """Ids of the eligible examples, labelled or in the pool; None before the labeled stage ran."""
    if not paths.eligible.is_file():
        return None
    return pd.read_parquet(paths.eligible, columns=[spec.id_column])[spec.id_column].astype("str")


def _reasons(problems: pd.DataFrame) -> str:
    counts = problems["reason"].value_counts() if len(problems) else pd.Series(dtype="int64")
    return ", ".join(f"{n} {reason}" for reason, n in counts.items()) or "none"


def _gold_ids(paths: DatasetPaths, spec: DatasetSpec) -> set[str]:
    if spec.labeling is None or spec.labeling.guideline is None:
        return set()
    guideline = load_guideline(paths.landing(spec.labeling.guideline), spec.labels.classes)
    return {f"{GOLD_PREFIX}{g.id}" for g in guideline.gold}
