"""The label of each eligible row and its provenance, a batch of rows at a time: from what is
known of every row before any is read (adjudicated annotations, the steward queue, consented
feedback labels: small frames by item id) and the row itself (its source label, weak rules on its
text). What the batches add up to (counts, the queue's text, the feedback audit's rows) is kept in
a `LabelTally`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.lib.accounting import Accounting
from pipelines.lib.feedback.labels import store_description
from pipelines.lib.hashing import combined_sha256
from pipelines.lib.labeling.weak import weak_labels
from pipelines.lib.membership import is_in
from pipelines.lib.quality.splits import joined_text
from pipelines.lib.reports import FeedbackLabels
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: provenance columns the labeled rows (and so the training set and its splits) carry
PROVENANCE = {
    "label_source": "str",  # source, adjudicated or weak
    "label_how": "str",  # unanimous, majority, single, steward (adjudicated); rule (weak); "" (source)
    "label_annotators": "int64",  # human annotators whose labels were counted
    "label_batch": "str",  # the labeling batch the item was annotated in; "" for none
    "label_ref": "str",  # feedback:<event_id> for a label from feedback; "" otherwise
    "label_model_version": "str",  # the model version whose prediction the feedback was about; ""
}


@dataclass(frozen=True)
class KnownLabels:
    """What is known of the eligible rows before they are read, by item id: small frames."""

    decided: pd.DataFrame  #: adjudicated label, how and annotators per item
    batch_of: pd.Series  #: the labeling batch each annotated item was in
    queue: pd.Series  #: items waiting for a steward's decision
    feedback: pd.DataFrame  #: consented feedback labels (`feedback_labels`)


@dataclass
class LabelTally:
    """What the batches add up to: counts, and the few rows kept for the queue and the audit."""

    accounting: Accounting
    matched: np.ndarray  #: per human annotation: its item is an eligible row
    labeled: int = 0
    changed: int = 0
    queued: int = 0
    pool: int = 0
    weak_in_pool: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_how: Counter[str] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)
    used: list[tuple[str, str]] = field(default_factory=list)
    queue_text: list[pd.Series] = field(default_factory=list)
    audit: Counter[str] = field(default_factory=Counter)
    audit_rows: list[pd.DataFrame] = field(default_factory=list)

    def queued_text(self) -> pd.Series:
        """The redacted text of the rows held for a steward's decision, by id."""
        return pd.concat(self.queue_text) if self.queue_text else pd.Series([], dtype="str")

    def queued_ids(self) -> pd.Series:
        """Ids of the rows held for a steward's decision."""
        return pd.Series(self.queued_text().index, dtype="str")

    def feedback_labels(self, paths: DatasetPaths, spec: DatasetSpec) -> FeedbackLabels:
        """The feedback labels' counts, and the hash of the (event, label) pairs used."""
        used = sorted(self.used)
        return FeedbackLabels(
            events_sha256=combined_sha256([f"{ref}\t{value}" for ref, value in used]) if used else "",
            store=store_description(spec, paths.root),
            **{name: self.feedback[name] for name in ("changed", "accepted", "accepted_not_used", "replaced_source")},
        )


def label_batch(
    eligible: pd.DataFrame, spec: DatasetSpec, known: KnownLabels, human: pd.DataFrame, tally: LabelTally
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One batch of eligible rows labelled: the rows that hold a label (with `PROVENANCE`) and the
    pool rows to write (those not waiting for a steward); counted into `tally`."""
    label, labeling = spec.labels.column, spec.labeling
    ids = eligible[spec.id_column].astype("str")
    tally.accounting.rows_in += len(eligible)
    tally.matched |= is_in(human["item"], ids).to_numpy(dtype=bool)
    decided = known.decided
    frame = eligible.copy()
    source = frame[label].astype("str")
    found = _looked_up(ids, decided)
    adjudicated = found["label"].astype("str")
    human_label = adjudicated.notna()
    tally.changed += int((human_label & source.notna() & (source != adjudicated)).sum())
    frame[label] = adjudicated.where(human_label, source)
    frame["label_source"] = pd.Series(np.where(human_label, "adjudicated", "source"), index=frame.index, dtype="str")
    frame["label_how"] = found["how"].fillna("").astype("str")
    frame["label_annotators"] = found["annotators"].fillna(0).astype("int64")
    frame["label_batch"] = _looked_up(ids, known.batch_of).fillna("").astype("str")
    _apply_feedback(frame, ids, known.feedback, human_label, spec, tally)

    pool = frame[label].isna()
    weak = None
    if labeling and labeling.weak:
        language = frame[spec.columns.language] if spec.columns.language else None
        weak = weak_labels(
            joined_text(frame[pool], spec.columns.text),
            language[pool] if language is not None else None,
            labeling.weak,
            spec.labels.classes,
        )
        if labeling.weak.train:
            taken = weak["weak_label"].notna()
            rows = weak.index[taken]
            frame.loc[rows, label] = weak.loc[rows, "weak_label"]
            frame.loc[rows, "label_source"] = "weak"
            frame.loc[rows, "label_how"] = "rule"
            pool = frame[label].isna()
    queued = pool & is_in(ids, known.queue)
    held = frame[pool].copy()
    if weak is not None:
        held = held.join(weak)
        tally.weak_in_pool += int(weak["weak_label"].reindex(held.index).notna().sum())
    held = held.drop(columns=list(PROVENANCE) + [label])
    tally.queued += int(queued.sum())
    tally.pool += int(pool.sum())
    if queued.any():
        tally.queue_text.append(joined_text(eligible[queued], spec.columns.text).set_axis(ids[queued]))
    _audit_batch(eligible, spec, ids, known.feedback, adjudicated, tally)
    frame = tally.accounting.remove(frame, queued, "awaiting_adjudication")
    frame = tally.accounting.remove(frame, frame[label].isna(), "unlabeled")
    kept = frame["label_source"]
    tally.by_source.update(kept.value_counts().to_dict())
    tally.by_how.update(frame.loc[kept == "adjudicated", "label_how"].value_counts().to_dict())
    return frame, held[~queued[pool].to_numpy()].reset_index(drop=True)


def _looked_up(ids: pd.Series, table: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """`table`'s row (or value) for each id, missing where it has none, aligned with `ids`; its
    index holds each id once. One lookup for every column: `ids.map` per column looks each id up
    again and rebuilds a text column value by value."""
    return table.reindex(pd.Index(ids)).set_axis(ids.index)


def _apply_feedback(
    frame: pd.DataFrame,
    ids: pd.Series,
    feedback: pd.DataFrame,
    human: pd.Series,
    spec: DatasetSpec,
    tally: LabelTally,
) -> None:
    """Put consented feedback labels on `frame` (in place): a correction wherever no human label
    is; a kept suggestion (weak) only on a row with no label at all, and only when
    `feedback.labels.train_accepted`. Counts them, and the (event, label) pairs used, in `tally`."""
    label = spec.labels.column
    found = _looked_up(ids, feedback)
    how, value = found["how"], found["label"]
    correction = how.eq("changed").fillna(False) & ~human
    replaced = int((correction & frame[label].notna() & frame[label].ne(value)).sum())
    kept_suggestion = how.eq("accepted").fillna(False) & ~human & frame[label].isna()
    train = bool(spec.feedback and spec.feedback.labels.train_accepted)
    taken = correction | (kept_suggestion & train)
    frame.loc[taken, label] = value[taken]
    frame.loc[correction, "label_source"] = "feedback"
    frame.loc[kept_suggestion & train, "label_source"] = "weak"
    frame.loc[taken, "label_how"] = how[taken]
    frame["label_ref"] = found["ref"].where(taken, "").astype("str")
    frame["label_model_version"] = found["model_version"].where(taken, "").astype("str")
    tally.used += zip(frame.loc[taken, "label_ref"], frame.loc[taken, label].astype("str"), strict=True)
    tally.feedback.update(
        {
            "changed": int(correction.sum()),
            "accepted": int((kept_suggestion & train).sum()),
            "accepted_not_used": int((kept_suggestion & ~train).sum()),
            "replaced_source": replaced,
        }
    )


def _audit_batch(
    eligible: pd.DataFrame,
    spec: DatasetSpec,
    ids: pd.Series,
    feedback: pd.DataFrame,
    adjudicated: pd.Series,
    tally: LabelTally,
) -> None:
    """The audit of feedback labels in one batch: the drawn items no annotator has labelled yet are
    kept for `feedback_audit.parquet` (redacted text, for the next labeling plan); on those
    annotators have labelled, agreement with the feedback label is counted. Only labels that would
    be used are drawn: corrections, and kept suggestions with `train_accepted`."""
    train = bool(spec.feedback and spec.feedback.labels.train_accepted)
    usable = feedback["how"].eq("changed") | (feedback["how"].eq("accepted") & train)
    drawn = is_in(ids, feedback.index[feedback["audit"] & usable])
    annotated = drawn & adjudicated.notna()
    tally.audit.update(
        {
            "drawn": int(drawn.sum()),
            "annotated": int(annotated.sum()),
            "agreed": int((annotated & adjudicated.eq(_looked_up(ids, feedback["label"]))).sum()),
        }
    )
    pending = drawn & ~annotated
    if pending.any():
        # (The column from the rows kept: a Series assigned to an empty frame would become its index.)
        waiting = eligible.loc[pending].assign(label_ref=ids[pending].map(feedback["ref"]).to_numpy())
        tally.audit_rows.append(waiting.drop(columns=[spec.labels.column]))
