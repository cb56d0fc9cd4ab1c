"""Step of the `labeled` asset: between `eligible` and `training_set`, each eligible row gets its
label and the label's provenance, or is held back (unlabelled: in the labeling pool; disputed: in
the steward's queue).

The label of a row, in order: a steward's decision or the adjudicated label of the imported
annotations (human labels win over the source's, and each replacement is counted); an agent's
correction logged as consented feedback (`changed`); the source's own label; a weak label (a
consented `accepted` suggestion, or a keyword rule), only where `feedback.labels.train_accepted`
or `labeling.weak.train` says so. Gold items score annotators and
never become examples; an annotator under the gold bar is left out of adjudication."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.lib.accounting import Accounting, NothingLeftError
from pipelines.lib.feedback.labels import feedback_labels, store_description
from pipelines.lib.files import write_parquet
from pipelines.lib.hashing import combined_sha256
from pipelines.lib.labeling.adjudication import adjudicate, read_decisions
from pipelines.lib.labeling.agreement import batch_agreement, gold_scores
from pipelines.lib.labeling.annotations import GOLD_PREFIX
from pipelines.lib.labeling.guideline import Guideline, load_guideline
from pipelines.lib.labeling.store import decisions_file, load_annotations
from pipelines.lib.labeling.weak import weak_labels
from pipelines.lib.membership import is_in
from pipelines.lib.quality import schemas
from pipelines.lib.quality.splits import joined_text
from pipelines.lib.report_files import write_labeled
from pipelines.lib.reports import BatchQuality, FeedbackLabels, GoldRecord, GuidelineRecord, LabeledReport
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


def build_labeled(paths: DatasetPaths, spec: DatasetSpec) -> LabeledReport:
    """Join the imported annotations and the steward's decisions to the eligible rows, measure
    agreement and gold per batch, and write `labeled.parquet` (labelled rows + `PROVENANCE`) and
    `unlabeled.parquet` (the pool, with weak labels when rules are declared). Writes the steward
    queue (`queue.csv` under the labeling work folder) when items wait for a decision.

    Raises GuidelineError for a guideline that fails its checks, NothingLeftError when no eligible
    row holds a label."""
    eligible = pd.read_parquet(paths.eligible)
    accounting = Accounting(len(eligible))
    label, ids = spec.labels.column, eligible[spec.id_column].astype("str")
    labeling = spec.labeling
    annotations, files = load_annotations(paths)
    guideline = _guideline(paths, spec)
    answers = {f"{GOLD_PREFIX}{g.id}": g.label for g in guideline.gold} if guideline else {}
    bar_gold = labeling.min_gold_accuracy if labeling else 0.8
    batches, flagged = _batch_quality(annotations, spec, answers, bar_gold)

    # A batch below the agreement bar taught us the guideline is not clear yet: its labels wait.
    held_back = sorted(b.batch for b in batches if b.agreed is False)
    human = annotations[~annotations["gold"] & ~annotations["batch"].isin(held_back)]
    decisions = read_decisions(decisions_file(paths))
    adjudication = adjudicate(human, decisions, exclude_annotators=sorted(flagged))
    decided = adjudication.labels.set_index("item")
    batch_of = human.drop_duplicates("item", keep="last").set_index("item")["batch"]

    frame = eligible.copy()
    source = frame[label].astype("str")
    adjudicated = ids.map(decided["label"]).astype("str")
    human_label = adjudicated.notna()
    changed = int((human_label & source.notna() & (source != adjudicated)).sum())
    frame[label] = adjudicated.where(human_label, source)
    frame["label_source"] = pd.Series(np.where(human_label, "adjudicated", "source"), index=frame.index, dtype="str")
    frame["label_how"] = ids.map(decided["how"]).fillna("").astype("str")
    frame["label_annotators"] = ids.map(decided["annotators"]).fillna(0).astype("int64")
    frame["label_batch"] = ids.map(batch_of).fillna("").astype("str")
    feedback = feedback_labels(paths, spec, ids)
    used = _apply_feedback(paths, frame, ids, feedback, human_label, spec)

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
    queued = pool & is_in(ids, adjudication.queue["item"])
    held = frame[pool].copy()
    if weak is not None:
        held = held.join(weak)
    held = held.drop(columns=list(PROVENANCE) + [label])
    write_parquet(held[~queued[pool].to_numpy()].reset_index(drop=True), paths.unlabeled)
    frame = accounting.remove(frame, queued, "awaiting_adjudication")
    frame = accounting.remove(frame, frame[label].isna(), "unlabeled")
    if frame.empty:
        raise NothingLeftError(_nothing_labelled(spec, len(eligible), int(pool.sum())))
    write_parquet(frame.astype(PROVENANCE).reset_index(drop=True), paths.labeled)
    contract = schemas.validate(schemas.labeled_schema(spec), frame)
    waiting = adjudication.queue[is_in(adjudication.queue["item"], ids[queued])]
    text = joined_text(eligible, spec.columns.text).set_axis(ids)  # redacted: eligible is past redaction
    _write_queue(paths, waiting.assign(text=waiting["item"].map(text)))
    kept = frame["label_source"]
    audit = _feedback_audit(paths, spec, eligible, ids, feedback, adjudicated)
    report = LabeledReport(
        accounting=accounting.close(len(frame)),
        by_source={str(k): int(n) for k, n in kept.value_counts().sort_index().items()},
        by_how={str(k): int(n) for k, n in frame.loc[kept == "adjudicated", "label_how"].value_counts().items()},
        changed_source_label=changed,
        contract=contract,
        batches=batches,
        flagged_annotators=sorted(flagged),
        held_back=held_back,
        queue=int(queued.sum()),
        pool=int(pool.sum() - queued.sum()),
        weak_in_pool=0 if weak is None else int(weak["weak_label"].reindex(held.index).notna().sum()),
        annotations_unmatched=int((~is_in(human["item"], ids)).sum()),
        feedback=None if spec.feedback is None else used.model_copy(update=audit),
        files=files,
        guideline=None
        if guideline is None
        else GuidelineRecord(
            path=str(spec.labeling.guideline),  # type: ignore[union-attr]
            sha256=guideline.sha256,
            rules=len(guideline.rules),
            gold=len(guideline.gold),
        ),
    )
    write_labeled(paths, report)
    return report


def _apply_feedback(
    paths: DatasetPaths,
    frame: pd.DataFrame,
    ids: pd.Series,
    feedback: pd.DataFrame,
    human: pd.Series,
    spec: DatasetSpec,
) -> FeedbackLabels:
    """Put consented feedback labels on `frame` (in place): a correction wherever no human label
    is; a kept suggestion (weak) only on a row with no label at all, and only when
    `feedback.labels.train_accepted`. Returns the counts."""
    label = spec.labels.column
    how = ids.map(feedback["how"])
    value = ids.map(feedback["label"])
    correction = how.eq("changed").fillna(False) & ~human
    replaced = int((correction & frame[label].notna() & frame[label].ne(value)).sum())
    kept_suggestion = how.eq("accepted").fillna(False) & ~human & frame[label].isna()
    train = bool(spec.feedback and spec.feedback.labels.train_accepted)
    taken = correction | (kept_suggestion & train)
    frame.loc[taken, label] = value[taken]
    frame.loc[correction, "label_source"] = "feedback"
    frame.loc[kept_suggestion & train, "label_source"] = "weak"
    frame.loc[taken, "label_how"] = how[taken]
    frame["label_ref"] = ids.map(feedback["ref"]).where(taken, "").astype("str")
    frame["label_model_version"] = ids.map(feedback["model_version"]).where(taken, "").astype("str")
    used = sorted(zip(frame.loc[taken, "label_ref"], frame.loc[taken, label].astype("str"), strict=True))
    return FeedbackLabels(
        events_sha256=combined_sha256([f"{ref}\t{value}" for ref, value in used]) if used else "",
        store=store_description(spec, paths.root),
        changed=int(correction.sum()),
        accepted=int((kept_suggestion & train).sum()),
        accepted_not_used=int((kept_suggestion & ~train).sum()),
        replaced_source=replaced,
    )


def _feedback_audit(
    paths: DatasetPaths,
    spec: DatasetSpec,
    eligible: pd.DataFrame,
    ids: pd.Series,
    feedback: pd.DataFrame,
    adjudicated: pd.Series,
) -> dict:
    """The audit of feedback labels: the drawn items no annotator has labelled yet go to
    `feedback_audit.parquet` (redacted text, for the next labeling plan); on those annotators have
    labelled, the share where the feedback label agrees measures the bias of feedback labels. Only
    labels that would be used are drawn: corrections, and kept suggestions with `train_accepted`."""
    train = bool(spec.feedback and spec.feedback.labels.train_accepted)
    usable = feedback["how"].eq("changed") | (feedback["how"].eq("accepted") & train)
    drawn = is_in(ids, feedback.index[feedback["audit"] & usable])
    annotated = drawn & adjudicated.notna()
    agreed = int((annotated & adjudicated.eq(ids.map(feedback["label"]))).sum())
    pending = drawn & ~annotated
    # (The column from the rows kept: a Series assigned to an empty frame would become its index.)
    waiting = eligible.loc[pending].assign(label_ref=ids[pending].map(feedback["ref"]).to_numpy())
    target = paths.warehouse / "feedback_audit.parquet"
    if waiting.empty:
        target.unlink(missing_ok=True)
    else:
        write_parquet(waiting.drop(columns=[spec.labels.column]).reset_index(drop=True), target)
    n = int(annotated.sum())
    return {
        "audit_drawn": int(drawn.sum()),
        "audit_annotated": n,
        "audit_agreement": round(agreed / n, 4) if n else None,
    }


def _guideline(paths: DatasetPaths, spec: DatasetSpec) -> Guideline | None:
    if spec.labeling is None or spec.labeling.guideline is None:
        return None
    return load_guideline(paths.landing(spec.labeling.guideline), spec.labels.classes)


def _batch_quality(
    annotations: pd.DataFrame, spec: DatasetSpec, answers: dict[str, str], bar_gold: float
) -> tuple[list[BatchQuality], set[str]]:
    """Agreement (gold items left out) and gold scores per batch; the annotators under the gold bar."""
    bar = spec.labeling.min_agreement if spec.labeling else None
    agreement = batch_agreement(annotations, spec.labels.classes)
    found, flagged = [], set()
    for batch, rows in annotations.groupby("batch", sort=True):
        measured = agreement.get(str(batch))
        scores = gold_scores(rows, answers, bar_gold) if answers else []
        flagged |= {s.annotator for s in scores if s.flagged}
        kappa = None if measured is None else measured.kappa
        found.append(
            BatchQuality(
                batch=str(batch),
                items=int(rows.loc[~rows["gold"], "item"].nunique()),
                annotations=len(rows),
                annotators=int(rows["annotator"].nunique()),
                method=None if measured is None else measured.method,
                kappa=None if kappa is None else round(float(kappa), 4),
                kappa_note="" if measured is None else (measured.reason or ""),
                per_class={} if measured is None else _per_class(measured.per_class),
                agreed=None if kappa is None or bar is None else bool(kappa >= bar),
                gold=[GoldRecord.model_validate(s.model_dump()) for s in scores],
            )
        )
    return found, flagged


def _write_queue(paths: DatasetPaths, queue: pd.DataFrame) -> None:
    target = paths.labeling_work / "queue.csv"
    if queue.empty:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    queue.to_csv(target, index=False)


def _nothing_labelled(spec: DatasetSpec, eligible: int, pool: int) -> str:
    return (
        f"{spec.name}: none of the {eligible} eligible rows holds a label ({pool} unlabelled): plan labeling with "
        f"`trainset plan-labeling {spec.name}`, import the annotations, or declare labeling.weak rules with "
        "train: true for a cold start"
    )


def _per_class(kappas: dict[str, float | None]) -> dict[str, float]:
    # A class no annotator used in the batch has no one-vs-rest kappa: left out, not a NaN.
    return {name: round(float(k), 4) for name, k in kappas.items() if k is not None}
