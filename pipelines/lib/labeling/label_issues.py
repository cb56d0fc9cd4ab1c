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

Out-of-sample probabilities on many examples. The paper obtains P by K-fold cross-validation
over every example, which costs K fits over the whole set, and a new day moves every fold. Above
`MAX_CROSS_VALIDATED` examples, only a sample of that many is cross-validated, and every other
example gets P from one model fitted on the whole sample: a model that never saw it, so its P is
out of sample as the rule requires (only the model differs: fitted on the whole sample rather
than on K-1 folds of it). The sample is stratified by given label (each class keeps its share)
and picked by a seeded hash of the id: the same frame always gives the same sample, whatever the
order of its rows, and as the data grows an example's hash stays, so the sample changes only at
the margin. The thresholds t_j are still means over every example, and every example is judged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.lib.labeling.text_model import Features, out_of_sample_proba

#: columns of the issues frame
ISSUE_COLUMNS = ["id", "given", "suggested", "self_confidence"]
#: examples cross-validated at most; above it, a sample of this many (see the module's docstring).
#: Measured on the 298,648 generated tickets of a 1M-ticket history with 5% of labels flipped:
#: cross-validating all of them took 35 CPU s and found 94.4% of the flips; a sample of 50,000,
#: 9.2 CPU s (3.6 s of it vectorising every text) and 92.6% (40,000: 91.4%, 60,000: 91.3%,
#: 100,000: 93.0% in 16.5 s; 20,000: 89.0%). Precision was 100% at every size. Past the cap the
#: fits cost the same however long the history; vectorising and predicting every text still grow.
MAX_CROSS_VALIDATED = 50_000


def find_label_issues(
    ids: pd.Series,
    texts: pd.Series,
    labels: pd.Series,
    classes: Sequence[str],
    seed: int = 0,
    folds: int = 5,
    max_cross_validated: int = MAX_CROSS_VALIDATED,
    features: Features | None = None,
) -> pd.DataFrame:
    """Examples whose label looks wrong: DataFrame[id, given, suggested, self_confidence in [0, 1]],
    least self-confident first (ties by id); empty (typed) when there is none.

    `ids`, `texts` and `labels` are aligned, n each. Probabilities come from
    `text_model.out_of_sample_proba` (`folds` folds, seeded); above `max_cross_validated`
    examples, from a sample of that many (`cross_validated_sample`) and a model fitted on it;
    `features` vectorises their distinct texts there (a cache gives the same rows).
    Deterministic: the same frame gives the same issues. 18,000 short tickets take a few seconds
    on two cores. Raises ValueError if ids repeat, and as `out_of_sample_proba` (misaligned
    inputs, unknown or missing labels, too few examples)."""
    labels = labels.reset_index(drop=True)
    sample = None
    if len(ids) > max_cross_validated:
        sample = cross_validated_sample(ids.reset_index(drop=True), labels, max_cross_validated, seed)
    texts = texts.reset_index(drop=True)
    proba = out_of_sample_proba(texts, labels, classes, folds=folds, seed=seed, sample=sample, features=features)
    return issues_from_proba(ids, labels, proba)


def cross_validated_sample(ids: pd.Series, labels: pd.Series, size: int, seed: int = 0) -> np.ndarray:
    """Which examples (n booleans, by position) to cross-validate: about `size` of them (a few
    more, one per class at most, from rounding up), each class keeping its share of the n, the
    ones with the smallest seeded hash of their id inside each class. Same ids, labels and seed:
    same sample, whatever order the rows come in."""
    if len(ids) <= size:
        return np.ones(len(ids), dtype=bool)
    order = pd.util.hash_pandas_object(ids.astype("str"), index=False, hash_key=f"{seed:016d}"[-16:]).to_numpy()
    given = labels.astype("str").to_numpy()
    by_class = pd.DataFrame({"hash": order, "label": given})
    rank = by_class.groupby("label", sort=False)["hash"].rank(method="first").to_numpy()
    quota = np.ceil(by_class.groupby("label", sort=False)["hash"].transform("size").to_numpy() * size / len(ids))
    return rank <= quota


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
