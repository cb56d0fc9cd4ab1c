"""Labeling without Label Studio: a batch as a CSV sheet out, and annotations as a CSV sheet in, read
into the one annotations frame (`annotations.py`).

The sheet in has one row per label: `item, annotator, label`, optionally `batch` and `annotated_at`
(ISO 8601); other columns (the task sheet's text, suggestions) are ignored, so annotators may fill
the `annotator` and `label` columns of the task sheet itself and send it back. Sheets come back as
spreadsheets write them: a UTF-8 byte-order mark, CRLF line ends, `;` as the delimiter, spaces
around values, blank rows; all of these are read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipelines.lib.files import TableError, read_csv_table, write_text
from pipelines.lib.labeling.imported import (
    UNKNOWN_LABEL,
    ImportedAnnotations,
    LabelingInputError,
    checked,
    finish,
    problem,
    usable_row,
)

#: columns an annotations sheet must have (its header names them; case and spaces do not matter)
REQUIRED_COLUMNS = ("item", "annotator", "label")
#: delimiters a sheet may use, tried in order on its header line
_DELIMITERS = (",", ";", "\t")
#: columns of the items `write_tasks_csv` reads that are not segments
_ITEM_COLUMNS = ("item", "text", "batch", "weak_label", "weak_score")
_WHAT = "annotations CSV"
#: how a cell a spreadsheet would run as a formula starts (OWASP, "CSV Injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_tasks_csv(items: pd.DataFrame, path: Path) -> Path:
    """Write a batch as a task sheet (UTF-8 CSV, `,` delimited), one row per item, and return its path.

    Columns: `item, batch, text`, the segment columns of `items` (any column but item, text, batch,
    weak_label, weak_score), `suggested_label, suggested_score` (the weak label, blank where none),
    and `annotator, label`, blank, for the annotator to fill. `items` is shaped as for Label
    Studio's `tasks`: its text is already redacted (the caller guarantees it). A text or segment
    that a spreadsheet would run as a formula (it starts with `=`, `+`, `-` or `@`) is written
    with a leading `'`, which spreadsheets show as plain text (OWASP, "CSV Injection"); these
    columns are never read back. Raises LabelingInputError when item, text or batch is missing."""
    missing = [name for name in ("item", "text", "batch") if name not in items.columns]
    if missing:
        raise LabelingInputError(f"items for a task sheet lack column(s) {missing}; give item, text and batch")
    segments = [name for name in items.columns if name not in _ITEM_COLUMNS]
    sheet = items[["item", "batch", "text", *segments]].copy()
    for name in ["text", *segments]:
        sheet[name] = sheet[name].map(_inert)
    sheet["suggested_label"] = items["weak_label"] if "weak_label" in items.columns else None
    sheet["suggested_score"] = items["weak_score"] if "weak_score" in items.columns else None
    sheet["annotator"] = ""
    sheet["label"] = ""
    path = Path(path)
    write_text(sheet.to_csv(index=False, lineterminator="\n"), path)
    return path


def read_annotations_csv(path: Path, classes: Iterable[str], batch: str | None = None) -> ImportedAnnotations:
    """Annotations from a CSV sheet of `item, annotator, label` (+ optional `batch`, `annotated_at`).

    One frame row per (item, annotator), `tool` "csv", `task` "". The batch is `batch` if given,
    else the row's. A label matches a class exactly, or ignoring case when that is unambiguous. A
    blank row is no annotation and is skipped; so is a row that names an item but neither annotator
    nor label (a task not yet labelled). A pair labelled twice keeps its latest label
    (`duplicates` counts the others). A row without item, annotator (an e-mail address is not an
    id), label or batch, with an unknown label or a time that is not ISO 8601 goes to `problems`,
    its `task` being the spreadsheet row (`row 7`; the header is row 1).

    Raises LabelingInputError naming the file when it is missing, empty, not UTF-8, not CSV, or its
    header lacks item, annotator or label."""
    path = Path(path)
    delimiter = _delimiter(path)
    try:
        sheet = read_csv_table(
            path, _WHAT, sep=delimiter, dtype="str", keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=False
        )
    except TableError as error:
        raise LabelingInputError(str(error)) from None
    sheet.columns = [str(name).strip().lower() for name in sheet.columns]
    sheet = sheet.loc[:, ~sheet.columns.duplicated()].fillna("")
    to_class = _class_lookup(classes)
    rows: list[dict] = []
    problems: list[dict[str, str]] = []
    items: set[str] = set()
    for number, record in zip(range(2, len(sheet) + 2), sheet.to_dict("records"), strict=True):
        item, annotator, label = (str(record[name]).strip() for name in REQUIRED_COLUMNS)
        if not (item or annotator or label):
            continue  # a blank row
        if item:
            items.add(item)
            if not (annotator or label):
                continue  # a task not labelled yet
        annotator = "" if "@" in annotator else annotator
        sent_in = batch if batch is not None else str(record.get("batch", "")).strip()
        when = str(record.get("annotated_at", ""))
        reason, chosen, annotated_at = checked(item, annotator, sent_in, [label] if label else [], to_class, when)
        if reason or chosen is None:
            problems.append(problem(f"row {number}", item, annotator, reason or UNKNOWN_LABEL))
            continue
        rows.append(usable_row(item, annotator, chosen, sent_in, False, annotated_at, "csv", ""))
    return finish(rows, problems, tasks=len(items), cancelled=0)


def _inert(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def _delimiter(path: Path) -> str:
    """The delimiter whose split of the header line names every required column."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next((line for line in handle if line.strip()), "")
    except FileNotFoundError:
        raise LabelingInputError(f"{_WHAT} {path}: no such file; give the path of the filled sheet") from None
    except OSError as error:
        raise LabelingInputError(f"{_WHAT} {path}: cannot be read ({error.strerror or error})") from None
    if not header:
        raise LabelingInputError(f"{_WHAT} {path}: empty; a sheet starts with a header line item,annotator,label")
    found: dict[str, set[str]] = {}
    for delimiter in _DELIMITERS:
        found[delimiter] = {name.strip().strip('"').strip().lower() for name in header.split(delimiter)}
        if set(REQUIRED_COLUMNS) <= found[delimiter]:
            return delimiter
    best = max(_DELIMITERS, key=lambda delimiter: len(set(REQUIRED_COLUMNS) & found[delimiter]))
    missing = [name for name in REQUIRED_COLUMNS if name not in found[best]]
    raise LabelingInputError(
        f"{_WHAT} {path}: the header line lacks column(s) {missing} (read with , ; and tab as the delimiter); "
        f"name the columns item, annotator, label on the first line"
    )


def _class_lookup(classes: Iterable[str]):
    """label -> its class: the class itself, else the one class equal ignoring case; None if none."""
    exact = {str(name): str(name) for name in classes}
    folded: dict[str, list[str]] = {}
    for name in exact:
        folded.setdefault(name.casefold(), []).append(name)

    def to_class(label: str) -> str | None:
        if label in exact:
            return label
        matches = folded.get(label.casefold(), [])
        return matches[0] if len(matches) == 1 else None

    return to_class
