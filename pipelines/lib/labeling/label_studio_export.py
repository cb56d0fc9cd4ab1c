"""One annotation of Label Studio's JSON export as one row of the annotations frame, or as a problem
with a reason. The shape read is Label Studio's (labelstud.io/guide/export, "Label Studio JSON format
of annotated tasks"); `completed_by` is a user id in the documented example and a `{"id", "email",
"first_name", "last_name"}` object in exports of releases whose serializer nests the user."""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.lib.labeling.imported import (
    UNKNOWN_LABEL,
    checked,
    problem,
    usable_row,
)


def annotation_row(
    task: Mapping, annotation: Mapping, known: set[str], batch: str | None, from_name: str
) -> tuple[dict, dict[str, str] | None]:
    """(row, None) for a usable annotation of `task`, else ({}, problem). A row has every
    `ANNOTATION_COLUMNS` key; a problem names the task, item and annotator ids and the first reason
    found: no item id, no annotator, no batch, no choice, several choices, an unknown label, a time
    that is not ISO 8601."""
    data = task["data"]
    task_id, item = id_text(task.get("id")), id_text(data.get("item"))
    annotator = annotator_id(annotation.get("completed_by"))
    sent_in = batch if batch is not None else id_text(data.get("batch"))
    chosen = _choices(annotation.get("result"), from_name)
    when = annotation.get("updated_at") or annotation.get("created_at")
    reason, label, annotated_at = checked(item, annotator, sent_in, chosen, lambda c: c if c in known else None, when)
    if reason or label is None:
        return {}, problem(task_id, item, annotator, reason or UNKNOWN_LABEL)
    ground_truth = annotation.get("ground_truth") is True
    return usable_row(item, annotator, label, sent_in, ground_truth, annotated_at, "label_studio", task_id), None


def id_text(value: object) -> str:
    """An id as text: a string stripped, an integer (or an integral float, as a JSON reader may give
    `1001.0`) in digits; "" for None, a boolean or anything else."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else ""
    return value.strip() if isinstance(value, str) else ""


def annotator_id(completed_by: object) -> str:
    """The annotator's id from `completed_by`: the user id itself, or the `id` of a user object.
    An e-mail address is not an id and is never returned ("" then: the row has no annotator)."""
    if isinstance(completed_by, Mapping):
        completed_by = completed_by.get("id")
    text = id_text(completed_by)
    return "" if "@" in text else text


def _choices(result: object, from_name: str) -> list[str]:
    """The distinct classes chosen in `result` by the `from_name` choices control, in order."""
    chosen: list[str] = []
    for region in result if isinstance(result, list) else []:
        if not isinstance(region, Mapping) or region.get("type") != "choices" or region.get("from_name") != from_name:
            continue
        value = region.get("value")
        choices = value.get("choices") if isinstance(value, Mapping) else None
        chosen += [choice for choice in choices if isinstance(choice, str)] if isinstance(choices, list) else []
    return list(dict.fromkeys(chosen))
