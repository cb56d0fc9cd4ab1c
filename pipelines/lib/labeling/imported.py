"""What reading a tool's annotations hands back, whichever tool it was: the typed annotations frame,
the counts a reader reports, and the rows it could not use, each with a reason.

Both readers (Label Studio's JSON export, a CSV sheet) build rows as plain dicts and finish here, so
the duplicate rule and the problems frame are one rule, not two."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipelines.lib.errors import BAD_DATA
from pipelines.lib.labeling.annotations import ANNOTATION_COLUMNS, GOLD_PREFIX, typed

#: columns of `ImportedAnnotations.problems`: where a row was (task, item), whose it was, and why
#: it was set aside. No label text, no e-mail address: ids and a reason only.
PROBLEM_COLUMNS = ("task", "item", "annotator", "reason")

#: why a row was set aside (the `reason` column of problems)
NO_CHOICE = "no_choice"  # an annotation that picked no class
SEVERAL_CHOICES = "several_choices"  # more than one class on a single-label task
UNKNOWN_LABEL = "unknown_label"  # a class that is not one of labels.classes
NO_ITEM_ID = "no_item_id"  # the task or row does not say which item it labels
NO_ANNOTATOR = "no_annotator"  # no annotator id (an e-mail address alone does not count)
NO_BATCH = "no_batch"  # neither the task nor the caller says which batch it was sent in
BAD_TIMESTAMP = "bad_timestamp"  # an annotated_at that is not an ISO 8601 time


class LabelingInputError(ValueError):
    """An annotations file that cannot be read at all (missing, not JSON or CSV, the wrong shape).

    The message says what is wrong, where (the file, a task's index and id) and what to do; it never
    quotes the file's text, which may hold ticket text or an annotator's e-mail address."""

    exit_code = BAD_DATA


@dataclass(frozen=True, eq=False)
class ImportedAnnotations:
    """One annotations file, read."""

    #: the annotations frame (`annotations.ANNOTATION_COLUMNS`), one row per (item, annotator)
    frame: pd.DataFrame
    #: tasks in a Label Studio export (with or without annotations); distinct items in a CSV
    tasks: int
    #: annotations the annotator skipped (Label Studio's `was_cancelled`); always 0 for a CSV
    cancelled: int
    #: labels of an (item, annotator) pair that a later label of the same pair replaced
    duplicates: int
    #: rows set aside, `PROBLEM_COLUMNS`, one per annotation or CSV row
    problems: pd.DataFrame


def problem(task: str, item: str, annotator: str, reason: str) -> dict[str, str]:
    """One row of a problems frame."""
    return {"task": task, "item": item, "annotator": annotator, "reason": reason}


def checked(
    item: str,
    annotator: str,
    batch: str,
    choices: list[str],
    to_class: Callable[[str], str | None],
    when: object,
) -> tuple[str | None, str | None, pd.Timestamp | None]:
    """(first reason the annotation cannot be used or None, its class, its UTC time), checked in
    order: no item id, no annotator, no batch, no choice, several choices, an unknown label
    (`to_class` gives None), a time that is not ISO 8601."""
    try:
        annotated_at, bad_time = parse_time(when), False
    except ValueError:
        annotated_at, bad_time = None, True
    label = to_class(choices[0]) if len(choices) == 1 else None
    reason = (
        (not item and NO_ITEM_ID)
        or (not annotator and NO_ANNOTATOR)
        or (not batch and NO_BATCH)
        or (not choices and NO_CHOICE)
        or (len(choices) > 1 and SEVERAL_CHOICES)
        or (label is None and UNKNOWN_LABEL)
        or (bad_time and BAD_TIMESTAMP)
    )
    return reason or None, label, annotated_at


def usable_row(
    item: str, annotator: str, label: str, batch: str, ground_truth: bool, when: object, tool: str, task: str
) -> dict:
    """One usable annotation, every `ANNOTATION_COLUMNS` key; gold when the item is `gold:<id>`."""
    return {
        "item": item,
        "annotator": annotator,
        "label": label,
        "batch": batch,
        "gold": item.startswith(GOLD_PREFIX),
        "ground_truth": ground_truth,
        "annotated_at": when,
        "tool": tool,
        "task": task,
    }


def finish(rows: list[dict], problems: list[dict[str, str]], tasks: int, cancelled: int) -> ImportedAnnotations:
    """`rows` (dicts with every `ANNOTATION_COLUMNS` key) as the typed frame, an (item, annotator)
    pair labelled more than once kept at its latest label (by `annotated_at`; on a tie or no time,
    the one later in the file) and the others counted as duplicates."""
    frame = pd.DataFrame(rows, columns=list(ANNOTATION_COLUMNS))
    # Typed from the timestamps themselves: a column of only None would otherwise read as naive.
    frame["annotated_at"] = pd.Series([row["annotated_at"] for row in rows], dtype=ANNOTATION_COLUMNS["annotated_at"])
    frame = typed(frame)
    # A stable sort keeps file order among equal times; NaT sorts first, so a timed label wins.
    order = frame.sort_values("annotated_at", kind="stable", na_position="first")
    latest = order.drop_duplicates(["item", "annotator"], keep="last").sort_index()
    return ImportedAnnotations(
        frame=latest.reset_index(drop=True),
        tasks=tasks,
        cancelled=cancelled,
        duplicates=len(frame) - len(latest),
        problems=pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS)).astype("str"),
    )


def parse_time(value: object) -> pd.Timestamp | None:
    """An ISO 8601 time (with an offset, or read as UTC without one) as a UTC timestamp; None when
    `value` is empty; raises ValueError when it is not ISO 8601 (`31/10/2026` is refused, not
    guessed: day and month would be a guess)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return pd.to_datetime(value.strip(), format="ISO8601", utc=True)
