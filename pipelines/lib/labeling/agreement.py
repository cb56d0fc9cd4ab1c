"""How far annotators agree, batch by batch, and how well each one answers the guideline's gold
items.

Agreement is chance-corrected: Cohen's kappa for two labels per item (Cohen 1960, "A coefficient
of agreement for nominal scales"), Fleiss' kappa for three or more (Fleiss 1971, "Measuring
nominal scale agreement among many raters"). Both lie in [-1, 1]: 1 is perfect agreement, 0 what
chance alone gives. Gold accuracy carries a Wilson score interval (Wilson 1927), which stays
inside [0, 1] and is honest for the 10-30 gold items an annotator sees per batch.

Gold items (`gold` true, ids `gold:<id>`) are scored against their answer and never counted in
agreement. scikit-learn and statsmodels take seconds to import: they load only when a kappa or an
interval is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.labeling.annotations import GOLD_PREFIX

Method = Literal["cohen", "fleiss"]


class Agreement(BaseModel):
    """Agreement within one batch, over its non-gold items labelled by two or more annotators."""

    model_config = ConfigDict(frozen=True)

    batch: str
    method: Method | None = Field(description="cohen (2 labels per item), fleiss (3+), None if nothing to measure.")
    items: int = Field(description="Items measured: non-gold items with `labels_per_item` labels.")
    labels_per_item: int | None = Field(description="Labels each measured item carries.")
    left_out: int = Field(description="Items with 2+ labels but another count than `labels_per_item`: not measured.")
    annotators: int = Field(description="Distinct annotators over the measured items.")
    kappa: float | None = Field(description="Kappa in [-1, 1]; None when not measurable (see `reason`).")
    reason: str | None = Field(default=None, description="Why `kappa` is None, in words.")
    per_class: dict[str, float | None] = Field(
        description="Class -> one-vs-rest kappa (do they agree on 'is it this class?'); None where undefined."
    )


class GoldScore(BaseModel):
    """One annotator's answers on the guideline's gold items."""

    model_config = ConfigDict(frozen=True)

    annotator: str
    items: int = Field(description="Gold items the annotator labelled.")
    correct: int = Field(description="Of those, labelled with the gold answer.")
    accuracy: float = Field(description="correct / items, in [0, 1].")
    low: float = Field(description="Lower end of the Wilson 95% interval of the accuracy.")
    high: float = Field(description="Upper end of the Wilson 95% interval of the accuracy.")
    flagged: bool = Field(description="accuracy < the spec's min_gold_accuracy: leave this annotator's labels out.")


def batch_agreement(annotations: pd.DataFrame, classes: Sequence[str]) -> dict[str, Agreement]:
    """Batch -> its agreement, for every batch with a non-gold annotation (in order of appearance).

    `annotations` is an annotations frame (`annotations.ANNOTATION_COLUMNS`). Within a batch, the
    items measured are those carrying the most common number m >= 2 of labels (ties: the larger m);
    items with another count >= 2 are `left_out`, items with one label are not agreement data.
    m = 2: Cohen's kappa between each item's first and second label, ordered by annotator id
    (scikit-learn's `cohen_kappa_score`); when pairs rotate, "first" and "second" are positions, not
    people. m >= 3: Fleiss' kappa (statsmodels' `aggregate_raters` + `fleiss_kappa`). A batch whose
    labels are all one class has chance agreement 1, so kappa is undefined: None with the reason,
    never NaN. Raises ValueError naming labels that are not in `classes`.
    """
    labelled = _non_gold(annotations)
    unknown = sorted(set(labelled["label"]) - set(classes))
    if unknown:
        raise ValueError(
            f"annotations carry label(s) {unknown} that are not in the classes {list(classes)}: "
            "map them when importing, or add the class to labels.classes"
        )
    return {
        str(batch): _measure(str(batch), rows, list(classes)) for batch, rows in labelled.groupby("batch", sort=False)
    }


def cohen_kappa(first: pd.Series, second: pd.Series) -> float | None:
    """Cohen's kappa in [-1, 1] of two aligned label series (scikit-learn's `cohen_kappa_score`);
    None when undefined: every label of both is the same value, so chance agreement is 1."""
    if pd.concat([first, second]).nunique() < 2:
        return None
    from sklearn.metrics import cohen_kappa_score  # loads in seconds: only when a kappa is computed

    return float(cohen_kappa_score(first.to_numpy(), second.to_numpy()))


def one_vs_rest_cohen(first: pd.Series, second: pd.Series, classes: Sequence[str]) -> dict[str, float | None]:
    """Class -> Cohen's kappa of "is it this class?" between two aligned label series; None for a
    class neither used (or that every label is)."""
    return {name: cohen_kappa(first == name, second == name) for name in classes}


def gold_scores(annotations: pd.DataFrame, gold: Mapping[str, str], min_accuracy: float) -> list[GoldScore]:
    """Each annotator's accuracy on gold items, sorted by annotator id.

    `gold` maps an item id to its answer: `gold:G3` (a bare guideline id `G3` is read as `gold:G3`;
    `Guideline.answers()` gives the map). Only annotations of those items count, one per (item,
    annotator); an annotator who labelled none has no score. The interval is statsmodels'
    `proportion_confint(method="wilson")` at alpha 0.05; `flagged` compares the accuracy itself
    (not the interval) with `min_accuracy`.
    Raises ValueError if `min_accuracy` is outside [0, 1].
    """
    if not 0 <= min_accuracy <= 1:
        raise ValueError(f"min_accuracy {min_accuracy}: a share, between 0 and 1")
    answers = {(item if item.startswith(GOLD_PREFIX) else GOLD_PREFIX + item): label for item, label in gold.items()}
    scored = annotations[annotations["item"].isin(answers)].drop_duplicates(["item", "annotator"], keep="last")
    correct = scored["label"] == scored["item"].map(answers)
    table = correct.groupby(scored["annotator"]).agg(["size", "sum"]).sort_index()
    if table.empty:
        return []
    from statsmodels.stats.proportion import proportion_confint  # loads in seconds: only when scoring

    items, right = table["size"].to_numpy(), table["sum"].to_numpy()
    low, high = proportion_confint(right, items, alpha=0.05, method="wilson")
    return [
        GoldScore(
            annotator=str(annotator),
            items=int(items[at]),
            correct=int(right[at]),
            accuracy=float(right[at] / items[at]),
            low=float(low[at]),
            high=float(high[at]),
            flagged=bool(right[at] / items[at] < min_accuracy),
        )
        for at, annotator in enumerate(table.index)
    ]


def _non_gold(annotations: pd.DataFrame) -> pd.DataFrame:
    """The annotations of non-gold items, one per (item, annotator): a pair imported twice keeps its
    last row."""
    gold = annotations["gold"].astype(bool) | annotations["item"].astype(str).str.startswith(GOLD_PREFIX)
    return annotations[~gold].drop_duplicates(["item", "annotator"], keep="last")


def _measure(batch: str, rows: pd.DataFrame, classes: list[str]) -> Agreement:
    counts = rows.groupby("item").size()
    multi = counts[counts >= 2]
    if multi.empty:
        return Agreement(
            batch=batch,
            method=None,
            items=0,
            labels_per_item=None,
            left_out=0,
            annotators=0,
            kappa=None,
            reason=f"no item of batch {batch!r} carries two or more labels",
            per_class=dict.fromkeys(classes),
        )
    tally = multi.value_counts()
    m = int(max(tally.index[tally == tally.max()]))
    measured = rows[rows["item"].isin(multi.index[multi == m])].sort_values(["item", "annotator"])
    # items x m labels, in annotator-id order within each item
    grid = measured["label"].to_numpy().reshape(-1, m)
    kappa, per_class = _cohen(grid, classes) if m == 2 else _fleiss(grid, classes)
    pooled = pd.unique(grid.ravel())
    return Agreement(
        batch=batch,
        method="cohen" if m == 2 else "fleiss",
        items=len(grid),
        labels_per_item=m,
        left_out=int((multi != m).sum()),
        annotators=int(measured["annotator"].nunique()),
        kappa=kappa,
        reason=None
        if kappa is not None
        else f"every label of the {len(grid)} measured items is {pooled[0]!r}: chance agreement is 1, "
        "so kappa is undefined",
        per_class=per_class,
    )


def _cohen(grid: np.ndarray, classes: list[str]) -> tuple[float | None, dict[str, float | None]]:
    first, second = pd.Series(grid[:, 0]), pd.Series(grid[:, 1])
    return cohen_kappa(first, second), one_vs_rest_cohen(first, second, classes)


def _fleiss(grid: np.ndarray, classes: list[str]) -> tuple[float | None, dict[str, float | None]]:
    """Fleiss' kappa of an items x raters grid of labels, and one-vs-rest per class."""
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa  # loads in seconds

    codes = np.vectorize({name: code for code, name in enumerate(classes)}.__getitem__)(grid)
    table, _ = aggregate_raters(codes, n_cat=len(classes))  # items x classes: raters per class
    per_class = {}
    for code, name in enumerate(classes):
        yes = table[:, code]
        per_class[name] = _fleiss_or_none(np.column_stack([yes, grid.shape[1] - yes]), fleiss_kappa)
    return _fleiss_or_none(table, fleiss_kappa), per_class


def _fleiss_or_none(table: np.ndarray, fleiss_kappa) -> float | None:
    # Chance agreement is 1 when a single column holds every rating: kappa is 0/0.
    return None if (table.sum(axis=0) > 0).sum() < 2 else float(fleiss_kappa(table, method="fleiss"))
