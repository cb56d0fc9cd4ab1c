"""`trainset plan-labeling`: from the latest gate run to what to label next, in which batches, at
what cost, and the batches' tasks ready for Label Studio (or a CSV).

The plan follows the seed's labeling steps: fill each coverage shortfall with targeted items; a
pilot first (100-300 items), agreement measured before scaling ("pilot, measure agreement, refine
guidelines, then scale"); the rest in batches (30/40/30); gold items of the guideline mixed into
every batch; budget = items x labels per item x price x (1 + QA) x (1 + contingency)."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.ingest.language import detect_languages
from pipelines.lib.labeling.budget import Budget, budget, cents, split_items
from pipelines.lib.labeling.declaration import LabelingSpec
from pipelines.lib.labeling.selection import Cell, open_cells, select
from pipelines.lib.labeling.text_model import fit_text_model, uncertainty
from pipelines.lib.quality.splits import joined_text
from pipelines.lib.report_files import MissingReportError, read_gate_run, read_labeled
from pipelines.lib.reports import LabeledReport
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

PlanStatus = Literal["nothing_to_label", "pilot_first", "pilot_below_bar", "scale"]


class PlanError(ValueError):
    """A plan cannot be made: no labeling block, no gate run yet, or no pool to draw from."""

    exit_code = 2


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanCell(_Record):
    """One coverage shortfall and what the plan sends to close it."""

    gate: str
    cell: str = Field(description="`category=Account`, `language!=en`.")
    shortfall: str = Field(description="As the gate says it: `Account: 812 < 1000`.")
    missing: int = Field(ge=0, description="Examples missing, by the gate's rule.")
    candidates: int = Field(ge=0, description="Pool items likely to fill it.")
    items: int = Field(ge=0, description="Items sent for it.")
    expected: float = Field(ge=0, description="Examples the items sent are expected to add (model probabilities).")
    unfilled: int = Field(ge=0, description="Examples the pool cannot be expected to supply: collect more data.")


class PlanBatch(_Record):
    """One batch: items to label (gold included) and its cost."""

    name: str
    items: int = Field(ge=0, description="Pool items.")
    gold: int = Field(ge=0, description="Gold items of the guideline mixed in (paid like any item).")
    labels: int = Field(ge=0)
    base: Decimal
    with_qa: Decimal
    total: Decimal
    exported: bool = Field(description="Its tasks are written; later batches wait for the pilot to pass.")


class LabelingPlan(_Record):
    """What `plan-labeling` decided, as written to plan.json."""

    dataset: str
    plan: int = Field(ge=1, description="Plan number; its batches are named p<plan>-pilot, p<plan>-batch-<n>.")
    created_at: datetime
    gate_run_id: str | None
    status: PlanStatus
    advice: list[str]
    model: str = Field(description="What ranked the pool: the text model and what it was trained on, or weak rules.")
    pool: int = Field(ge=0, description="Unlabelled eligible items the plan could draw from.")
    cells: list[PlanCell]
    batches: list[PlanBatch]
    currency: str
    price_per_label: Decimal
    labels_per_item: int
    qa_overhead: float
    contingency: float
    items: int = Field(ge=0, description="Pool items in all batches.")
    gold: int = Field(ge=0, description="Gold items in all batches (paid like any item).")
    base: Decimal
    with_qa: Decimal
    total: Decimal


def make_plan(paths: DatasetPaths, spec: DatasetSpec, number: int, seed: int = 13) -> tuple[LabelingPlan, pd.DataFrame]:
    """The plan and its items (one row per pool item sent: id, batch, cell, predicted class,
    uncertainty, text, language, segments, suggestion). Raises PlanError without a labeling block,
    a gate run, or a labelled stage to read the pool from."""
    labeling = _labeling(spec)
    gate_run = read_gate_run(paths)
    if gate_run is None:
        raise PlanError(f"{spec.name}: no gate results yet: run `trainset run {spec.name}` first, then plan labeling")
    try:
        labeled = read_labeled(paths)
    except MissingReportError:
        raise PlanError(f"{spec.name}: the labeled stage has not run: run `trainset run {spec.name}` first") from None
    status, advice = _pilot_state(labeled, labeling)
    cells = open_cells(gate_run.gates)
    pool = pd.read_parquet(paths.unlabeled) if paths.unlabeled.is_file() else pd.DataFrame()
    if not cells:
        advice = ["every coverage gate passed in the latest run: nothing to label", *advice[:1]]
        status = "nothing_to_label"
    if labeled.queue:
        advice.append(f"{labeled.queue} annotated item(s) wait for a steward: `trainset adjudicate {spec.name}`")
    texts = joined_text(pool, spec.columns.text) if len(pool) else pd.Series(dtype="str")
    candidates = _features(pool, spec, texts)
    proba, model = _probabilities(paths, spec, candidates, texts, seed)
    # Items whose annotators disagree wait for a steward: send enough for the expected yield too.
    kept = adjudication_yield(labeled)
    wanted = [dataclasses.replace(c, missing=math.ceil(c.missing / kept)) for c in cells]
    picked = select(candidates, wanted, proba, uncertainty(proba), spec.labels.column, labeling.max_items)
    items = picked.items if status != "nothing_to_label" else picked.items.iloc[0:0]
    pilot = 0 if status == "scale" else labeling.pilot
    if status in ("pilot_first", "pilot_below_bar") and len(items) < pilot:
        # Agreement measured on one class only says little (kappa's prevalence paradox): the pilot
        # is filled up to its size with items the model spreads over every class.
        items = pd.concat([items, _pilot_sample(candidates, items, proba, pilot - len(items), spec, seed)])
        items = items.reset_index(drop=True)
    audit = _feedback_audit(paths, spec)
    if len(audit):
        # First, so that they are labelled in the first batch sent; blind: no suggestion on them.
        items = pd.concat([audit, items], ignore_index=True)
        advice.append(
            f"{len(audit)} feedback-labelled item(s) sent blind (no suggestion): their labels measure how far "
            "feedback labels can be trusted"
        )
    sizes = split_items(len(items), pilot, labeling.batches)
    names = [(f"p{number}-{name}", n) for name, n in sizes]
    items = items.assign(batch=np.repeat([name for name, _ in names], [n for _, n in names]).astype("str"))
    cost = budget(
        0,
        labeling.labels_per_item,
        labeling.price_per_label,
        str(labeling.qa_overhead),
        str(labeling.contingency),
        labeling.currency,
    )
    batches = [
        _batch(cost, name, n, labeling, exported=status == "scale" or name.endswith("-pilot")) for name, n in names
    ]
    whole = cost.part(sum(b.items + b.gold for b in batches))
    for cell in cells:
        if picked.unfilled.get(cell.name):
            advice.append(
                f"{cell.name}: the pool is expected to supply {picked.expected[cell.name]:g} of {cell.missing} "
                f"missing examples; collect about {picked.unfilled[cell.name]} more such tickets"
            )
    plan = LabelingPlan(
        dataset=spec.name,
        plan=number,
        created_at=datetime.now(UTC).replace(microsecond=0),
        gate_run_id=gate_run.run_id,
        status=status,
        advice=advice,
        model=model,
        pool=len(pool),
        cells=[_plan_cell(c, picked, items) for c in cells],
        batches=batches,
        currency=labeling.currency,
        price_per_label=labeling.price_per_label,
        labels_per_item=labeling.labels_per_item,
        qa_overhead=labeling.qa_overhead,
        contingency=labeling.contingency,
        items=len(items),
        gold=sum(b.gold for b in batches),
        base=cents(whole.base),
        with_qa=cents(whole.with_qa),
        total=cents(whole.total),
    )
    return plan, items


def _feedback_audit(paths: DatasetPaths, spec: DatasetSpec) -> pd.DataFrame:
    """The feedback labels drawn for a blind audit that no annotator has labelled yet (written by
    the labeled stage), shaped as plan items (cell `feedback_audit`, no prediction)."""
    source = paths.warehouse / "feedback_audit.parquet"
    if not source.is_file():
        return pd.DataFrame()
    drawn = pd.read_parquet(source)
    found = _features(drawn, spec, joined_text(drawn, spec.columns.text))
    return found.assign(cell="feedback_audit", predicted="", uncertainty=float("nan"))


def _pilot_sample(
    candidates: pd.DataFrame, items: pd.DataFrame, proba: pd.DataFrame, n: int, spec: DatasetSpec, seed: int
) -> pd.DataFrame:
    """`n` pool items not yet chosen, taken in turn from each predicted class (random within one)."""
    rest = candidates.reset_index(drop=True)
    predicted = proba.idxmax(axis=1).reset_index(drop=True) if len(proba.columns) else pd.Series("", index=rest.index)
    rest = rest.assign(predicted=predicted, uncertainty=uncertainty(proba).reset_index(drop=True).round(4))
    rest = rest[~rest[spec.id_column].isin(items[spec.id_column])].sample(frac=1.0, random_state=seed)
    turn = rest.groupby("predicted", sort=False).cumcount()
    return rest.assign(cell="pilot_sample").iloc[turn.argsort(kind="stable")].head(n)


def adjudication_yield(labeled: LabeledReport) -> float:
    """Share of annotated items that got a label (not queued) so far; 0.9 before any."""
    adjudicated = sum(labeled.by_how.values())
    done = adjudicated + labeled.queue
    return max(0.5, adjudicated / done) if done else 0.9


def _labeling(spec: DatasetSpec) -> LabelingSpec:
    if spec.labeling is None:
        raise PlanError(
            f"{spec.name}: no `labeling:` block in its defs.yaml: declare price_per_label (and the pilot, "
            "batches, annotators and guideline) to plan labeling"
        )
    return spec.labeling


def _pilot_state(labeled: LabeledReport, labeling: LabelingSpec) -> tuple[PlanStatus, list[str]]:
    """Scale only after a pilot reached the agreement bar; after a pilot below it, only a new pilot."""
    pilots = [b for b in labeled.batches if b.batch.endswith("-pilot") and b.agreed is not None]
    if any(b.agreed for b in pilots):
        return "scale", []
    held = ", ".join(labeled.held_back)
    if pilots:
        last = pilots[-1]
        return "pilot_below_bar", [
            f"pilot {last.batch}: agreement {last.kappa} is below the bar {labeling.min_agreement}, so its labels "
            f"are not used (held back: {held}): refine the guideline (rules and gold examples for the classes "
            "annotators confused), then label this new pilot before scaling"
        ]
    return "pilot_first", [
        "label the pilot first and import it: its agreement must reach "
        f"{labeling.min_agreement} before the other batches are exported"
    ]


def _features(pool: pd.DataFrame, spec: DatasetSpec, texts: pd.Series) -> pd.DataFrame:
    """The pool items as cells see them: id, detected language (as the gates measure it), segments."""
    keep = [spec.id_column, *spec.columns.segments]
    found = pool[keep].copy() if len(pool) else pd.DataFrame({name: pd.Series(dtype="str") for name in keep})
    found[spec.language_column] = detect_languages(texts, spec.languages) if len(pool) else pd.Series(dtype="str")
    found["text"] = texts
    for column in ("weak_label", "weak_score"):
        if column in pool.columns:
            found[column] = pool[column]
    return found


def _probabilities(
    paths: DatasetPaths, spec: DatasetSpec, pool: pd.DataFrame, texts: pd.Series, seed: int
) -> tuple[pd.DataFrame, str]:
    """Class probabilities of the pool items: a text model trained on the labelled rows (weak ones
    left out), or, with too few of them, the weak rules' votes. Returns them and a description."""
    classes = spec.labels.classes
    labelled = pd.read_parquet(paths.labeled) if paths.labeled.is_file() else pd.DataFrame()
    if len(labelled):
        labelled = labelled[labelled["label_source"] != "weak"]
    present = labelled[spec.labels.column].nunique() if len(labelled) else 0
    if present >= 2 and len(pool):
        model = fit_text_model(joined_text(labelled, spec.columns.text), labelled[spec.labels.column], classes, seed)
        described = f"text model trained on {len(labelled)} human or source labels ({present} classes)"
        return model.predict_proba(texts).reset_index(drop=True), described
    proba = pd.DataFrame(1 / len(classes), index=range(len(pool)), columns=classes)
    if "weak_label" in pool.columns and len(pool):
        label, score = pool["weak_label"].reset_index(drop=True), pool["weak_score"].reset_index(drop=True)
        hit = label.notna().to_numpy()
        rest = ((1 - score) / max(1, len(classes) - 1)).to_numpy()
        for name in classes:
            proba[name] = np.where(hit, np.where(label == name, score, rest), proba[name])
        return proba, "weak keyword rules (too few labelled examples for a text model)"
    return proba, "none: no labelled examples and no weak rules, so items are taken as they come"


def _batch(cost: Budget, name: str, n: int, labeling: LabelingSpec, exported: bool) -> PlanBatch:
    gold = labeling.gold_per_batch if n and labeling.guideline else 0
    part = cost.part(n + gold)
    return PlanBatch(
        name=name,
        items=n,
        gold=gold,
        labels=part.labels,
        base=cents(part.base),
        with_qa=cents(part.with_qa),
        total=cents(part.total),
        exported=exported,
    )


def _plan_cell(cell: Cell, picked, items: pd.DataFrame) -> PlanCell:
    return PlanCell(
        gate=cell.gate,
        cell=cell.name,
        shortfall=cell.text,
        missing=cell.missing,
        candidates=picked.candidates.get(cell.name, 0),
        items=int((items["cell"] == cell.name).sum()) if len(items) else 0,
        expected=picked.expected.get(cell.name, 0.0),
        unfilled=picked.unfilled.get(cell.name, 0),
    )
