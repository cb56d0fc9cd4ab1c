"""Label Studio out and in: the labeling config and the task file a batch is sent as, and the JSON
export its annotations come back in, read into the one annotations frame (`annotations.py`).

Formats are Label Studio's own: the labeling config of a text classification project (its template
`core/examples/text_classification/config.xml`, labelstud.io/tags/choices), the task import format
(labelstud.io/guide/tasks, labelstud.io/guide/predictions; as a schema in `label_studio_schema`),
and the full JSON export (labelstud.io/guide/export, "Label Studio JSON format of annotated
tasks"). Only redacted text is ever put in a task; only ids come back out (an annotator is its user
id, never the e-mail address some exports carry beside it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from pipelines.lib.errors import describe_os_error
from pipelines.lib.files import write_text
from pipelines.lib.labeling.imported import ImportedAnnotations, LabelingInputError, finish
from pipelines.lib.labeling.label_studio_export import annotation_row
from pipelines.lib.labeling.label_studio_schema import IMPORT_SCHEMA, validate_tasks

__all__ = [
    "IMPORT_SCHEMA",
    "ImportedAnnotations",
    "LabelingInputError",
    "labeling_config",
    "read_export",
    "tasks",
    "validate_tasks",
    "write_batch",
]

#: columns of the items `tasks` reads that are not copied into a task's data as segments
_ITEM_COLUMNS = ("item", "text", "batch", "weak_label", "weak_score")
_EXPORT = "Label Studio export"
_EXPORT_AGAIN = "export the project again from Label Studio (Export -> JSON)"


def labeling_config(classes: Sequence[str], from_name: str = "label", to_name: str = "text") -> str:
    """The labeling config XML of a single-label text classification project: a `<Text>` showing
    the task's `$text` and a `<Choices choice="single" required="true">` with one `<Choice>` per
    class, in order (Label Studio's text classification template; `required` is the Choices tag's own
    check that a choice was made, labelstud.io/tags/choices).

    Classes are escaped by ElementTree, so `&`, `<` and quotes are safe. Raises ValueError for no
    class, a blank class or a class given twice."""
    names = [str(name) for name in classes]
    if not names or any(not name.strip() for name in names):
        raise ValueError(f"labeling config: classes {names!r} must be non-empty names; fix labels.classes")
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"labeling config: class(es) {twice} given twice; fix labels.classes")
    view = ElementTree.Element("View")
    ElementTree.SubElement(view, "Text", name=to_name, value="$text")
    choices = ElementTree.SubElement(view, "Choices", name=from_name, toName=to_name, choice="single", required="true")
    for name in names:
        ElementTree.SubElement(choices, "Choice", value=name)
    ElementTree.indent(view)
    return ElementTree.tostring(view, encoding="unicode") + "\n"


def tasks(
    items: pd.DataFrame, model_version: str | None = None, *, from_name: str = "label", to_name: str = "text"
) -> list[dict]:
    """Label Studio tasks for `items`, one per row, in order.

    `items` has columns `item` (example id, or `gold:<id>`), `text` (redacted text: the caller
    guarantees it), `batch`, optionally `weak_label` and `weak_score` (0..1), and any segment
    columns (`language`, `channel`, ...), which are copied into the task's data. Each task is
    `{"data": {"text", "item", "batch", <segments>}, "predictions": [...]}`, the predictions (Label
    Studio's pre-annotations, labelstud.io/guide/predictions) only where a weak label exists:
    `{"model_version", "score", "result": [{"from_name", "to_name", "type": "choices",
    "value": {"choices": [label]}}]}`. Raises LabelingInputError for a missing column, a missing or
    repeated item id, a missing text or a score outside 0..1."""
    missing = [name for name in ("item", "text", "batch") if name not in items.columns]
    if missing:
        raise LabelingInputError(f"items for Label Studio lack column(s) {missing}; give item, text and batch")
    ids = items["item"].astype("str").str.strip().where(items["item"].notna(), "")
    _refuse(ids == "", "have no item id")
    _refuse(ids.duplicated(keep=False), "repeat an item id (one task per item)")
    _refuse(items["text"].isna(), "have no text")
    segments = [name for name in items.columns if name not in _ITEM_COLUMNS]
    data = _json_records(items[segments]) if segments else [{} for _ in range(len(items))]
    texts = items["text"].astype("str").tolist()
    batches = items["batch"].astype("str").where(items["batch"].notna(), "").tolist()
    weak = _weak_labels(items)
    built = []
    for item, text, batch, extra, (label, score) in zip(ids.tolist(), texts, batches, data, weak, strict=True):
        task: dict = {"data": {"text": text, "item": item, "batch": batch, **extra}}
        if label is not None:
            prediction: dict = {} if model_version is None else {"model_version": model_version}
            if score is not None:
                prediction["score"] = score
            choice = {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [label]}}
            task["predictions"] = [{**prediction, "result": [choice]}]
        built.append(task)
    return built


def write_batch(folder: Path, tasks: list[dict], config_xml: str) -> tuple[Path, Path]:
    """Write a batch to send to Label Studio: `folder/tasks.json` (UTF-8, non-ASCII kept as is) and
    `folder/config.xml`; returns both paths. The tasks are checked first (`validate_tasks`), so a
    file Label Studio would refuse is never written; raises LabelingInputError, and ValueError when
    `config_xml` is not well-formed XML."""
    folder = Path(folder)
    validate_tasks(tasks, where=str(folder / "tasks.json"))
    try:
        ElementTree.fromstring(config_xml)
    except ElementTree.ParseError as error:
        raise ValueError(f"{folder / 'config.xml'}: the labeling config is not well-formed XML ({error})") from None
    tasks_path, config_path = folder / "tasks.json", folder / "config.xml"
    write_text(json.dumps(tasks, ensure_ascii=False, indent=2) + "\n", tasks_path)
    write_text(config_xml, config_path)
    return tasks_path, config_path


def read_export(
    path: Path, classes: Iterable[str], batch: str | None = None, *, from_name: str = "label"
) -> ImportedAnnotations:
    """Annotations from Label Studio's full JSON export (labelstud.io/guide/export: a list of tasks,
    each with `id`, `data` and `annotations[]` of `completed_by`, `result[]`, `was_cancelled`,
    `ground_truth`, `created_at`, `updated_at`, ...).

    One frame row per (item, annotator): the item is `data.item`, the annotator `completed_by` (a
    user id, or the `id` of a `{"id", "email", ...}` object; never the e-mail), the label the one
    `choices` value of the `from_name` control, the batch `batch` if given else `data.batch`, the
    time `updated_at` else `created_at`. Skipped annotations are counted (`cancelled`); a pair
    labelled twice keeps its latest label (`duplicates` counts the others); an annotation without a
    single known class, item id, annotator or batch goes to `problems` with a reason.

    Raises LabelingInputError naming the file (and task) when it is missing, not UTF-8 JSON, not a
    list of tasks, or a JSON_MIN/CSV export (they drop the annotator: the full JSON is needed)."""
    path = Path(path)
    exported = _load(path)
    known = set(classes)
    rows: list[dict] = []
    problems: list[dict[str, str]] = []
    cancelled = 0
    for index, task in enumerate(exported):
        where = f"{_EXPORT} {path}: task [{index}]"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise LabelingInputError(f"{where} has no `data` object; {_EXPORT_AGAIN}")
        where += f" (id {task.get('id')})"
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list) or not all(isinstance(one, dict) for one in annotations):
            raise LabelingInputError(f"{where}: `annotations` is not a list of objects; {_EXPORT_AGAIN}")
        for annotation in annotations:
            if annotation.get("was_cancelled") is True:
                cancelled += 1
                continue
            row, problem = annotation_row(task, annotation, known, batch, from_name)
            if problem is not None:
                problems.append(problem)
            else:
                rows.append(row)
    return finish(rows, problems, tasks=len(exported), cancelled=cancelled)


#: JSON's names for what json.loads returns, for errors
_JSON_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "true or false"}


def _load(path: Path) -> list:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabelingInputError(
            f"{_EXPORT} {path}: no such file; export the project from Label Studio (Export -> JSON) and give its path"
        ) from None
    except UnicodeDecodeError as error:
        raise LabelingInputError(f"{_EXPORT} {path}: not UTF-8 (byte {error.start}); {_EXPORT_AGAIN}") from None
    except OSError as error:
        raise LabelingInputError(f"{_EXPORT}: {describe_os_error(error)}") from None
    try:
        exported = json.loads(text)
    except json.JSONDecodeError as error:
        raise LabelingInputError(
            f"{_EXPORT} {path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            f"{_EXPORT_AGAIN}"
        ) from None
    if not isinstance(exported, list):
        raise LabelingInputError(
            f"{_EXPORT} {path}: the top level is {_JSON_KINDS.get(type(exported), 'a value')}, not a list of tasks; "
            f"give the whole project's JSON export (Export -> JSON), not one task's file"
        )
    first = exported[0] if exported else None
    if isinstance(first, dict) and "data" not in first and "annotations" not in first:
        raise LabelingInputError(
            f"{_EXPORT} {path}: task [0] has neither `data` nor `annotations`: this looks like the JSON_MIN "
            f"or CSV export, which drops the annotator and the times; export the project as JSON (the full "
            f"format, labelstud.io/guide/export)"
        )
    return exported


def _refuse(rows: pd.Series, what: str) -> None:
    """Raise naming the first positions (0-based) where `rows` is true; ids only, never a text."""
    positions = np.flatnonzero(rows.to_numpy(dtype=bool))
    if len(positions):
        raise LabelingInputError(f"items for Label Studio: row(s) {positions[:5].tolist()} {what}; fix the items")


def _json_records(frame: pd.DataFrame) -> list[dict]:
    """`frame`'s rows as JSON-ready dicts: missing values as None, times as ISO 8601 strings."""
    ready = frame.copy()
    for name in ready.columns:
        if pd.api.types.is_datetime64_any_dtype(ready[name]):
            ready[name] = ready[name].map(lambda stamp: stamp.isoformat(), na_action="ignore")
    return ready.astype(object).where(ready.notna(), None).to_dict("records")


def _weak_labels(items: pd.DataFrame) -> list[tuple[str | None, float | None]]:
    """(weak label, score) per row; (None, None) where no weak label is given."""
    if "weak_label" not in items.columns:
        return [(None, None)] * len(items)
    labels = items["weak_label"].astype("str").str.strip().where(items["weak_label"].notna(), "")
    given = labels != ""
    raw = items["weak_score"] if "weak_score" in items.columns else pd.Series(None, index=items.index, dtype=float)
    scores = pd.to_numeric(raw, errors="coerce")
    _refuse(given & raw.notna() & ~scores.between(0, 1), "have a weak_score not in 0..1")
    return [
        (label, None if pd.isna(score) else float(score)) if has else (None, None)
        for label, score, has in zip(labels.tolist(), scores.tolist(), given.tolist(), strict=True)
    ]
