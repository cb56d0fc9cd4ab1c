"""Examples whose given label is probably wrong, by confident learning (Northcutt, Jiang & Chuang
2021, "Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70: 1373-1411).

The rule, on out-of-sample probabilities P (n examples x k classes) and given labels g:

1. Per-class threshold t_j = the mean of P[i, j] over the examples given class j (the paper's
   eq. 2: the model's average self-confidence in class j). A class no example is given has no
   threshold and is never suggested.
2. An example's confident class s_i = the class j with the highest P[i, j] among those with
   P[i, j] >= t_j; an example with no such class is not counted (as in the paper's confident
   joint, eq. 1).
3. The example is an issue when s_i != g_i (it lies off the diagonal of the confident joint: the
   paper's method C_{y~,y*}, cleanlab's `find_label_issues(filter_by="confident_learning")`) and,
   in addition, P[i, s_i] > P[i, g_i]: the suggested class is also more probable than the given
   one. The extra condition drops examples whose given class clears a lower bar than the
   suggestion but is still the model's better guess (ambiguous tickets, not wrong labels).

Implemented here with scikit-learn (cleanlab is AGPL-3.0). `self_confidence` is P[i, g_i]: the
lower, the likelier the label is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.lib.labeling.text_model import out_of_sample_proba

#: columns of the issues frame
ISSUE_COLUMNS = ["id", "given", "suggested", "self_confidence"]


def find_label_issues(
    ids: pd.Series, texts: pd.Series, labels: pd.Series, classes: Sequence[str], seed: int = 0, folds: int = 5
) -> pd.DataFrame:
    """Examples whose label looks wrong: DataFrame[id, given, suggested, self_confidence in [0, 1]],
    least self-confident first (ties by id); empty (typed) when there is none.

    `ids`, `texts` and `labels` are aligned, n each. Probabilities come from
    `text_model.out_of_sample_proba` (`folds` folds, seeded), so the run is deterministic; 18,000
    short tickets take a few seconds on two cores. Raises ValueError if ids repeat, and as
    `out_of_sample_proba` (misaligned inputs, unknown or missing labels, too few examples)."""
    proba = out_of_sample_proba(
        texts.reset_index(drop=True), labels.reset_index(drop=True), classes, folds=folds, seed=seed
    )
    return issues_from_proba(ids, labels, proba)


def issues_from_proba(ids: pd.Series, labels: pd.Series, proba: pd.DataFrame) -> pd.DataFrame:
    """The rule of this module on given out-of-sample probabilities: `proba` is n x classes (its
    columns are the classes), row i for `ids[i]` and `labels[i]` by position. Returns
    DataFrame[id, given, suggested, self_confidence] as `find_label_issues`. Raises ValueError if
    the lengths differ, ids repeat, or a label is not a column of `proba`."""
    if not len(ids) == len(labels) == len(proba):
        raise ValueError(f"{len(ids)} ids, {len(labels)} labels, {len(proba)} probability rows: they must be aligned")
    if ids.duplicated().any():
        raise ValueError(f"ids repeat ({ids[ids.duplicated()].iloc[0]!r} first): each example needs its own id")
    classes = list(proba.columns)
    unknown = sorted(set(labels.astype(str)) - set(classes))
    if unknown:
        raise ValueError(f"label(s) {unknown} are not among the probability columns {classes}")

    p = proba.to_numpy(dtype=float)
    given = pd.Categorical(labels.astype(str), categories=classes).codes.astype(int)
    rows = np.arange(len(p))
    thresholds = np.array([p[given == j, j].mean() if (given == j).any() else np.inf for j in range(len(classes))])
    above = p >= thresholds
    suggested = np.where(above, p, -1.0).argmax(axis=1)  # ties: the first class in order
    self_confidence = p[rows, given]
    issue = above.any(axis=1) & (suggested != given) & (p[rows, suggested] > self_confidence)

    names = np.array(classes, dtype=object)
    found = pd.DataFrame(
        {
            "id": ids.to_numpy()[issue],
            "given": names[given[issue]],
            "suggested": names[suggested[issue]],
            "self_confidence": self_confidence[issue],
        },
        columns=ISSUE_COLUMNS,
    )
    return found.sort_values(["self_confidence", "id"], kind="stable").reset_index(drop=True)
