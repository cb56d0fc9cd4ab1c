"""Where imported annotations are kept: one CSV per imported file under
`labeling/<dataset>/annotations/`, committed with the release that used them, so a version's
labels can be traced to the file, batch and annotator they came from. Ids and labels only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.lib.hashing import file_sha256
from pipelines.lib.labeling.annotations import ANNOTATION_COLUMNS, empty_annotations, typed
from pipelines.lib.reports import AnnotationFile
from pipelines.lib.workspace import DatasetPaths


def annotations_folder(paths: DatasetPaths) -> Path:
    """labeling/<dataset>/annotations/: one CSV per imported file."""
    return paths.labels_store / "annotations"


def decisions_file(paths: DatasetPaths) -> Path:
    """labeling/<dataset>/adjudications.csv: the steward's decisions, one row each."""
    return paths.labels_store / "adjudications.csv"


def stored_name(batch: str, source_sha256: str) -> str:
    """The stored file of an import: its batch and the first 12 hex digits of the imported file's
    sha256, so importing the same file twice finds it already there."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in batch) or "batch"
    return f"{safe}-{source_sha256[:12]}.csv"


def save_annotations(paths: DatasetPaths, frame: pd.DataFrame, batch: str, source: Path) -> tuple[Path, bool]:
    """Store `frame` (an annotations frame) imported from `source`; returns (stored path, created).
    Re-importing the same file (same bytes) stores nothing new."""
    folder = annotations_folder(paths)
    sha = file_sha256(source)
    target = folder / stored_name(batch, sha)
    if any(p.name.endswith(f"-{sha[:12]}.csv") for p in folder.glob("*.csv")):
        return next(p for p in folder.glob(f"*-{sha[:12]}.csv")), False
    folder.mkdir(parents=True, exist_ok=True)
    out = typed(frame).copy()
    out["annotated_at"] = out["annotated_at"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    partial = target.with_name(f".{target.name}.partial")
    out.to_csv(partial, index=False, encoding="utf-8")
    partial.replace(target)
    return target, True


def load_annotations(paths: DatasetPaths) -> tuple[pd.DataFrame, list[AnnotationFile]]:
    """Every stored annotation of the dataset (typed as `ANNOTATION_COLUMNS`), and the files read."""
    frames, files = [], []
    for path in sorted(annotations_folder(paths).glob("*.csv")):
        table = pd.read_csv(path, dtype="str", keep_default_na=False)
        table["gold"] = table["gold"].str.lower() == "true"
        table["ground_truth"] = table["ground_truth"].str.lower() == "true"
        table["annotated_at"] = pd.to_datetime(table["annotated_at"].replace("", None), utc=True, format="ISO8601")
        frames.append(typed(table))
        files.append(AnnotationFile(path=str(path.relative_to(paths.root)), sha256=file_sha256(path), rows=len(table)))
    if not frames:
        return empty_annotations(), files
    return pd.concat(frames, ignore_index=True).astype(ANNOTATION_COLUMNS), files
