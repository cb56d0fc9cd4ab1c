"""Weak labels for a cold start: keyword rules per class and language, vectorised over the
redacted text. A weak label is a suggestion with a score, marked `weak` wherever it goes; it is
never gold and never counted in agreement."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipelines.lib.labeling.declaration import WeakLabelsSpec

#: the language key of a rule that applies whatever the example's language
ANY_LANGUAGE = "*"
#: model_version the weak labeler's predictions carry in exported tasks
WEAK_MODEL_VERSION = "trainset-keyword-rules"


def weak_labels(
    texts: pd.Series, languages: pd.Series | None, weak: WeakLabelsSpec, classes: list[str]
) -> pd.DataFrame:
    """Per example, the class whose rules match most keywords, and its share of all matches.

    `texts` and `languages` aligned (languages None: only `*` rules apply). Returns a frame on the
    same index with `weak_label` (str, NA when no keyword matched or classes tie) and `weak_score`
    (float in [0, 1]: matches of the winning class / all matches; 0 without a match). A keyword
    matches as a whole word, case-insensitively (Unicode word boundaries)."""
    votes = pd.DataFrame(0, index=texts.index, columns=classes, dtype="int64")
    lowered = texts.fillna("").str.lower()
    for label in classes:
        for language, keywords in weak.rules.get(label, {}).items():
            words = sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True)
            pattern = r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)"
            counts = lowered.str.count(pattern)
            if language != ANY_LANGUAGE:
                if languages is None:
                    continue
                counts = counts.where(languages.fillna("").str.lower() == language.lower(), 0)
            votes[label] += counts.astype("int64")
    total = votes.sum(axis=1)
    top = votes.max(axis=1)
    ties = (votes.eq(top, axis=0) & (top > 0).to_numpy()[:, None]).sum(axis=1) > 1
    label = votes.idxmax(axis=1).astype("str").where((top > 0) & ~ties)
    score = np.where(total > 0, top / total.where(total > 0, 1), 0.0)
    return pd.DataFrame({"weak_label": label, "weak_score": pd.Series(score, index=texts.index).round(4)})
