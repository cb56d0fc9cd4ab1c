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

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, NothingLeftError
from pipelines.lib.batches import BatchedContract, parquet_batches
from pipelines.lib.feedback.labels import feedback_labels
from pipelines.lib.files import StreamSchemaError, streamed_parquet, write_parquet
from pipelines.lib.labeling.adjudication import adjudicate, read_decisions
from pipelines.lib.labeling.agreement import batch_agreement, gold_scores
from pipelines.lib.labeling.annotations import GOLD_PREFIX
from pipelines.lib.labeling.guideline import Guideline, load_guideline
from pipelines.lib.labeling.row_labels import PROVENANCE, KnownLabels, LabelTally, label_batch
from pipelines.lib.labeling.store import decisions_file, load_annotations
from pipelines.lib.membership import is_in
from pipelines.lib.quality import schemas
from pipelines.lib.report_files import write_labeled
from pipelines.lib.reports import BatchQuality, GoldRecord, GuidelineRecord, LabeledReport
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


def build_labeled(paths: DatasetPaths, spec: DatasetSpec) -> LabeledReport:
    """Join the imported annotations and the steward's decisions to the eligible rows, measure
    agreement and gold per batch, and write `labeled.parquet` (labelled rows + `PROVENANCE`) and
    `unlabeled.parquet` (the pool, with weak labels when rules are declared). Writes the steward
    queue (`queue.csv` under the labeling work folder) when items wait for a decision.

    The eligible rows are read, labelled and written a batch at a time (`batches.parquet_batches`):
    a row's label depends on the row alone, and what is known of every row (annotations, decisions,
    feedback labels) is small, so memory is bounded by a batch.

    Raises GuidelineError for a guideline that fails its checks, NothingLeftError when no eligible
    row holds a label."""
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
    known = KnownLabels(
        decided=adjudication.labels.set_index("item"),
        batch_of=human.drop_duplicates("item", keep="last").set_index("item")["batch"],
        queue=adjudication.queue["item"],
        feedback=feedback_labels(paths, spec, _eligible_ids(paths, spec)),
    )
    try:
        tally, contract = _label_in_batches(paths, spec, known, human)
    except StreamSchemaError:
        # A batch whose columns came out of other types than the batch before: one batch of all.
        tally, contract = _label_in_batches(paths, spec, known, human, pq.ParquetFile(paths.eligible).metadata.num_rows)
    if not tally.labeled:
        raise NothingLeftError(_nothing_labelled(spec, tally.accounting.rows_in, tally.pool))
    waiting = adjudication.queue[is_in(adjudication.queue["item"], tally.queued_ids())]
    _write_queue(paths, waiting.assign(text=waiting["item"].map(tally.queued_text())))
    audit = _write_audit(paths, spec, tally)
    report = LabeledReport(
        accounting=tally.accounting.close(tally.labeled),
        by_source=dict(sorted(tally.by_source.items())),
        by_how=_ranked(tally.by_how),
        changed_source_label=tally.changed,
        contract=contract.result(lambda column: (b[column] for b in parquet_batches(paths.labeled, columns=[column]))),
        batches=batches,
        flagged_annotators=sorted(flagged),
        held_back=held_back,
        queue=tally.queued,
        pool=tally.pool - tally.queued,
        weak_in_pool=tally.weak_in_pool,
        annotations_unmatched=int((~tally.matched).sum()),
        feedback=None if spec.feedback is None else tally.feedback_labels(paths, spec).model_copy(update=audit),
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


def _label_in_batches(
    paths: DatasetPaths, spec: DatasetSpec, known: KnownLabels, human: pd.DataFrame, rows: int | None = None
) -> tuple[LabelTally, BatchedContract]:
    """Label eligible.parquet `rows` at a time (default `batches.BATCH_ROWS`), writing
    unlabeled.parquet and, when a row holds a label, labeled.parquet as the batches go; returns
    their tally and contract. Raises StreamSchemaError when a batch's columns come out of other
    types than the batch before (nothing is written then)."""
    tally = LabelTally(accounting=Accounting(0), matched=np.zeros(len(human), dtype=bool))
    contract = BatchedContract(schemas.labeled_schema(spec))
    with streamed_parquet(paths.unlabeled) as pool_out, streamed_parquet(paths.labeled) as labeled_out:
        for eligible in parquet_batches(paths.eligible, rows=rows):
            frame, held = label_batch(eligible, spec, known, human, tally)
            pool_out.write(held)
            labeled_out.write(frame.astype(PROVENANCE).reset_index(drop=True))
            if not frame.empty:
                contract.add(frame)
        tally.labeled = labeled_out.rows
        if not tally.labeled:
            labeled_out.discard()  # the pool is written; labeled.parquet stays as it was
    return tally, contract


def _eligible_ids(paths: DatasetPaths, spec: DatasetSpec) -> pd.Series:
    """Every eligible row's id (one column), for the feedback labels; none read without feedback."""
    if spec.feedback is None:
        return pd.Series([], dtype="str")
    return pq.read_table(paths.eligible, columns=[spec.id_column]).column(0).to_pandas().astype("str")


def _write_audit(paths: DatasetPaths, spec: DatasetSpec, tally: LabelTally) -> dict:
    """Write `feedback_audit.parquet` (the drawn items waiting for annotators; removed when none
    waits); returns the audit's counts for the feedback report."""
    target = paths.warehouse / "feedback_audit.parquet"
    if not tally.audit_rows:
        target.unlink(missing_ok=True)
    else:
        write_parquet(pd.concat(tally.audit_rows, ignore_index=True), target)
    n = tally.audit["annotated"]
    return {
        "audit_drawn": tally.audit["drawn"],
        "audit_annotated": n,
        "audit_agreement": round(tally.audit["agreed"] / n, 4) if n else None,
    }


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Counts most first, ties in the order they were first met (as `value_counts` ranks them)."""
    if not counts:
        return {}
    ranked = pd.Series(dict(counts), dtype="int64").sort_values(ascending=False)
    return {str(k): int(n) for k, n in ranked.items()}


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
