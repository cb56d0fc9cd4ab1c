"""One label per item from its annotators' votes, and the steward queue for items the votes do
not settle; a steward's recorded decision settles an item for good.

The vote (a plurality with a share bar, as in majority-vote aggregation of crowd labels: Snow et
al. 2008, "Cheap and fast - but is it good?"): the label with the most votes wins when its share
of the item's votes is above `min_share` (0.5: a strict majority) and no other label has as many.
Steward decisions live in a CSV committed with the dataset's spec
(`labeling/<dataset>/adjudications.csv`), appended to, never rewritten: the latest decision of an
item wins, the earlier ones stay as its history.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib.labeling.annotations import GOLD_PREFIX

#: columns of the steward decisions file, in order
DECISION_COLUMNS = ["item", "label", "steward", "decided_at", "reason"]
#: column -> dtype of `Adjudication.labels` and of `Adjudication.queue`
LABEL_COLUMNS = {"item": "str", "label": "str", "how": "str", "annotators": "int64", "votes": "str"}
QUEUE_COLUMNS = {"item": "str", "batch": "str", "labels": "str", "reason": "str"}


class DecisionError(ValueError):
    """A steward decision cannot be recorded or read: the message says which field and what to do."""

    exit_code = 1  # bad data, as `pipelines.lib.errors` counts it


@dataclass(frozen=True)
class Adjudication:
    """The outcome of a vote over an annotations frame."""

    #: DataFrame[item, label, how (unanimous|majority|single|steward), annotators (int: votes
    #: counted), votes (str: "2/3", votes for the label / votes counted)], one row per settled item
    labels: pd.DataFrame
    #: DataFrame[item, batch, labels ("Account|Billing": the labels given, most votes first),
    #: reason (tie|low_agreement)], one row per item a steward must decide
    queue: pd.DataFrame
    #: annotations ignored because their annotator is excluded (flagged on gold items)
    excluded: int
    #: items every label of which came from excluded annotators: to send for labeling again
    unlabelled: tuple[str, ...]


def adjudicate(
    annotations: pd.DataFrame,
    decisions: pd.DataFrame,
    exclude_annotators: Iterable[str] = (),
    min_share: float = 0.5,
) -> Adjudication:
    """Settle each non-gold item of `annotations` (an annotations frame).

    Per item, over the votes of annotators not in `exclude_annotators` (one vote per annotator; a
    pair imported twice keeps its last row): a steward decision in `decisions` (as `read_decisions`
    gives; the latest per item) wins over everything -> `steward`; else one vote -> `single`; all
    votes alike -> `unanimous`; two labels sharing the most votes -> queued as `tie`; the top
    label's share > `min_share` -> `majority`; else queued as `low_agreement`. Decisions for items
    not in `annotations` are ignored. Both frames are sorted by item. Raises ValueError if
    `min_share` is outside [0, 1).
    """
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share {min_share}: a share in [0, 1); 0.5 asks for a strict majority")
    gold = annotations["gold"].astype(bool) | annotations["item"].astype(str).str.startswith(GOLD_PREFIX)
    votes = annotations[~gold].drop_duplicates(["item", "annotator"], keep="last")
    excluded_rows = votes["annotator"].isin(list(exclude_annotators))
    counted = votes[~excluded_rows]

    tally = counted.groupby(["item", "label"]).size().rename("n").reset_index()
    tally = tally.sort_values(["item", "n", "label"], ascending=[True, False, True], kind="stable")
    per_item = tally.groupby("item", sort=True).agg(
        top=("label", "first"), top_n=("n", "first"), total=("n", "sum"), labels=("label", "|".join)
    )
    at_top = tally["n"].eq(tally["item"].map(per_item["top_n"])).groupby(tally["item"]).sum()
    per_item["tied"] = at_top.reindex(per_item.index, fill_value=0) > 1
    per_item["how"] = "majority"
    per_item.loc[per_item["top_n"] / per_item["total"] <= min_share, "how"] = "low_agreement"
    per_item.loc[per_item["tied"], "how"] = "tie"
    per_item.loc[per_item["top_n"] == per_item["total"], "how"] = "unanimous"
    per_item.loc[per_item["total"] == 1, "how"] = "single"

    decided = _latest(decisions)
    decided = decided[decided["item"].isin(set(votes["item"]))]
    unlabelled = sorted(set(votes["item"]) - set(counted["item"]) - set(decided["item"]))
    labels = _settled(per_item[per_item["how"].isin(["unanimous", "majority", "single"])], decided)
    labels = pd.concat([labels, _stewarded(decided, tally, per_item)], ignore_index=True)
    queued = per_item[per_item["how"].isin(["tie", "low_agreement"]) & ~per_item.index.isin(decided["item"])]
    batch = votes.groupby("item", sort=False)["batch"].first()
    queue = pd.DataFrame(
        {
            "item": queued.index.astype(str),
            "batch": batch.reindex(queued.index).to_numpy(),
            "labels": queued["labels"].to_numpy(),
            "reason": queued["how"].to_numpy(),
        },
        columns=list(QUEUE_COLUMNS),
    )
    return Adjudication(
        labels=labels.sort_values("item", kind="stable").reset_index(drop=True).astype(LABEL_COLUMNS),
        queue=queue.reset_index(drop=True).astype(QUEUE_COLUMNS),
        excluded=int(excluded_rows.sum()),
        unlabelled=tuple(str(item) for item in unlabelled),
    )


def _settled(per_item: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    kept = per_item[~per_item.index.isin(decided["item"])]
    return pd.DataFrame(
        {
            "item": kept.index.astype(str),
            "label": kept["top"].to_numpy(),
            "how": kept["how"].to_numpy(),
            "annotators": kept["total"].to_numpy(),
            "votes": (kept["top_n"].astype(str) + "/" + kept["total"].astype(str)).to_numpy(),
        },
        columns=list(LABEL_COLUMNS),
    )


def _stewarded(decided: pd.DataFrame, tally: pd.DataFrame, per_item: pd.DataFrame) -> pd.DataFrame:
    """Rows for items a steward decided: votes counts the annotators who gave the steward's label."""
    agreeing = decided.merge(tally, on=["item", "label"], how="left")["n"].fillna(0).astype(int).to_numpy()
    total = per_item["total"].reindex(decided["item"]).fillna(0).astype(int).to_numpy()
    return pd.DataFrame(
        {
            "item": decided["item"].to_numpy(),
            "label": decided["label"].to_numpy(),
            "how": "steward",
            "annotators": total,
            "votes": [f"{n}/{of}" for n, of in zip(agreeing, total, strict=True)],
        },
        columns=list(LABEL_COLUMNS),
    )


def _latest(decisions: pd.DataFrame) -> pd.DataFrame:
    """The latest decision per item (by decided_at; the later row on a tie)."""
    ordered = decisions.reset_index(drop=True).sort_values("decided_at", kind="stable")
    return ordered.drop_duplicates("item", keep="last")[["item", "label"]].reset_index(drop=True)


def empty_decisions() -> pd.DataFrame:
    """A decisions frame with no rows, every column typed."""
    return pd.DataFrame(
        {
            "item": pd.Series(dtype="str"),
            "label": pd.Series(dtype="str"),
            "steward": pd.Series(dtype="str"),
            "decided_at": pd.Series(dtype="datetime64[us, UTC]"),
            "reason": pd.Series(dtype="str"),
        }
    )


def read_decisions(path: Path, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """Every decision in the steward decisions file, in file order: DataFrame[item, label, steward,
    decided_at (datetime64[us, UTC]), reason]; an empty frame when the file does not exist.

    Tolerates a byte-order mark and CRLF line ends (the file may be edited in a spreadsheet) and
    skips blank rows. Raises DecisionError naming the file and the line when a column is missing,
    a decided_at is not an ISO 8601 time with an offset, an item or steward is empty, or (given
    `classes`) a label is not one of them."""
    if not path.exists():
        return empty_decisions()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in DECISION_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise DecisionError(
                f"{path}:1: column(s) {missing} missing; the header must be {','.join(DECISION_COLUMNS)}"
            )
        rows = [
            (reader.line_num, {name: (row[name] or "").strip() for name in DECISION_COLUMNS})
            for row in reader
            if any((value or "").strip() for value in row.values() if isinstance(value, str))
        ]
    for line, row in rows:
        _check_row(path, line, row, classes)
    frame = pd.DataFrame({name: [row[name] for _, row in rows] for name in DECISION_COLUMNS})
    frame["decided_at"] = pd.to_datetime(frame["decided_at"], format="ISO8601", utc=True)
    return frame.astype(empty_decisions().dtypes.to_dict())


def _check_row(path: Path, line: int, row: dict[str, str], classes: Sequence[str] | None) -> None:
    where = f"{path}:{line}"
    for name in ("item", "label", "steward"):
        if not row[name]:
            raise DecisionError(f"{where}: {name} is empty; fill it in or delete the row")
    if classes is not None and row["label"] not in classes:
        raise DecisionError(f"{where}: label {row['label']!r} is not one of the classes {list(classes)}")
    try:
        stamp = pd.Timestamp(row["decided_at"])
    except ValueError:
        stamp = None
    if stamp is None or stamp is pd.NaT:
        raise DecisionError(
            f"{where}: decided_at {row['decided_at']!r} is not a time; write ISO 8601 with an offset, "
            "e.g. 2026-11-02T14:05:00+00:00"
        )
    if stamp.tzinfo is None:
        raise DecisionError(f"{where}: decided_at {row['decided_at']!r} has no UTC offset; add one, e.g. +00:00")


def record_decision(
    path: Path,
    item: str,
    label: str,
    steward: str,
    reason: str,
    classes: Sequence[str],
    now: datetime | None = None,
) -> None:
    """Append one decision to the decisions file at `path` (created, with its header and folder,
    if it does not exist); `now` (timezone-aware, default: the current time) is stored in UTC.

    Raises DecisionError, writing nothing, if the item is empty, the label is not one of
    `classes`, the steward or the reason is empty, or `now` has no timezone."""
    if not item.strip():
        raise DecisionError(f"{path}: no item given; name the item id the decision is for")
    if label not in classes:
        raise DecisionError(f"{path}: label {label!r} for item {item!r} is not one of the classes {list(classes)}")
    if not steward.strip():
        raise DecisionError(f"{path}: no steward given for item {item!r}; name who decides")
    if not reason.strip():
        raise DecisionError(f"{path}: no reason given for item {item!r}; say why {label!r} is right")
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        raise DecisionError(f"{path}: decision time {when.isoformat()} has no timezone; pass an aware datetime")
    new = not path.exists() or path.stat().st_size == 0
    unterminated = not new and not path.read_bytes().endswith(b"\n")  # the last row was edited by hand
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # LF: a committed file diffs cleanly
        if new:
            writer.writerow(DECISION_COLUMNS)
        if unterminated:
            handle.write("\n")
        decided_at = when.astimezone(UTC).isoformat(timespec="seconds")
        writer.writerow([item.strip(), label, steward.strip(), decided_at, reason.strip()])
