"""A small, fast, offline text classifier for short support tickets in several languages: the
probabilities that label-issue finding and uncertainty sampling are computed from.

Features: word unigrams and bigrams (Unicode words, lowercased), hashed into 2^18 columns, term
counts damped with log(1 + tf) and rows L2-normalised. Hashing is stateless, so texts are
vectorised once and no vocabulary is learnt from held-out texts; word n-grams rather than
character n-grams because they vectorise ~4x faster here (18,000 tickets: ~1 s against ~4.5 s for
char_wb 3-4 grams) and found as many flipped labels on multilingual tickets. Classifier: logistic
regression fitted by SGD (`SGDClassifier(loss="log_loss")`, one-vs-rest, probabilities
normalised over classes), a fixed 10 epochs from a seed: the same inputs always give the same
probabilities.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import normalize

#: hashed feature columns: few collisions for the vocabulary of a few hundred thousand tickets
N_FEATURES = 2**18
#: L2 penalty; smaller fits the rare keywords of small classes better on short tickets (measured)
ALPHA = 1e-5
#: passes over the data: fixed (no tolerance) so a fit takes the same time and gives the same model
EPOCHS = 10
#: model_version of this model's suggestions in exported tasks
TEXT_MODEL_VERSION = "trainset-text-model"


@dataclass(frozen=True)
class TextModel:
    """A fitted classifier: probabilities of `classes` for any texts."""

    classes: tuple[str, ...]
    classifier: SGDClassifier

    def predict_proba(self, texts: pd.Series) -> pd.DataFrame:
        """texts (n) -> probabilities (n x classes, rows aligned with `texts`' index, each row
        summing to 1); a class the model saw no example of has probability 0."""
        proba = self.classifier.predict_proba(vectorise(texts))
        return _frame(proba, list(self.classifier.classes_), self.classes, texts.index)


def vectorise(texts: pd.Series):  # -> scipy.sparse.csr_matrix
    """texts (n) -> sparse n x 2^18 features (hashed word 1-2 grams, log(1 + tf), rows L2-normed);
    a missing text is the empty text. Each distinct text is vectorised once (every step is per
    row), then its row is repeated for each copy."""
    rows, positions = _distinct_features(texts)
    return rows if rows.shape[0] == len(texts) else rows[positions]


def _distinct_features(texts: pd.Series):  # -> (scipy.sparse.csr_matrix, np.ndarray)
    """The features of each distinct text (as `vectorise`), and each text's row among them (n)."""
    positions, distinct = _distinct(texts)
    return _features(distinct), positions


def _distinct(texts: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each text's position among the distinct texts (n), and the distinct texts (a missing text is
    the empty text)."""
    return pd.factorize(texts.fillna("").astype(str), use_na_sentinel=False)


def _features(texts: pd.Index):  # -> scipy.sparse.csr_matrix
    """The features of `texts` (as `vectorise`), each row computed from its own text alone."""
    return features_from_counts(hashed_counts(texts))


#: what the hashed counts depend on besides the text (a cache of counts is named for it)
VECTORISER = f"word-1-2|{N_FEATURES}|no-sign|lower"


def hashed_counts(texts: pd.Index):  # -> scipy.sparse.csr_matrix
    """Counts of each text's hashed word 1-2 grams: n x 2^18, float64 whole numbers, each row's
    columns in increasing order (as scikit-learn's hasher leaves them)."""
    if not len(texts):  # the hasher cannot take none
        return csr_matrix((0, N_FEATURES), dtype=np.float64)
    hasher = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm=None
    )
    return hasher.transform(texts.tolist())


def features_from_counts(counts):  # (scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix
    """Features from `hashed_counts`: log(1 + tf), rows L2-normed (a row from its own counts alone)."""
    counts.data = np.log1p(counts.data)
    return normalize(counts)


#: distinct texts -> their features (n x 2^18, as `_features`); `quality.feature_cache.FeatureCache`
#: gives the same rows from counts kept between runs
Features = Callable[[pd.Index], Any]


#: distinct texts vectorised and predicted at a time past the cross-validated sample: their
#: features (and Python strings) are held for one chunk, not for every text of the set
PREDICTED_AT_ONCE = 20_000


def _predict_in_chunks(classifier: SGDClassifier, texts: pd.Index, features: Features = _features) -> np.ndarray:
    """`classifier.predict_proba` of the features of `texts`, vectorised a chunk at a time (a
    row's probabilities depend on its own features only, so the result is the same)."""
    chunks = range(0, len(texts), PREDICTED_AT_ONCE)
    return np.concatenate(
        [classifier.predict_proba(features(texts[i : i + PREDICTED_AT_ONCE])) for i in chunks]
        or [np.empty((0, len(classifier.classes_)))]
    )


def fit_text_model(texts: pd.Series, labels: pd.Series, classes: Sequence[str], seed: int) -> TextModel:
    """Fit the classifier on aligned `texts` and `labels` (n each).

    Raises ValueError if the lengths differ, a label is missing or not in `classes`, or fewer than
    two classes have an example (a classifier needs two)."""
    y = _checked(texts, labels, classes)
    if y.nunique() < 2:
        raise ValueError(f"only {sorted(y.unique())} among the labels: a classifier needs examples of two classes")
    return TextModel(tuple(classes), _classifier(seed).fit(vectorise(texts), y.to_numpy()))


def out_of_sample_proba(
    texts: pd.Series,
    labels: pd.Series,
    classes: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    sample: np.ndarray | None = None,
    features: Features | None = None,
) -> pd.DataFrame:
    """Each text's probabilities from a model that never saw it: n x classes, rows aligned with
    `texts`, from `cross_val_predict(method="predict_proba")` over stratified, shuffled folds.

    Folds: `folds`, fewer when the smallest class with at least two examples has fewer (never
    below 2). A class with a single example still gets a column: in the fold holding that example
    no model saw the class, so its probability there is 0 (as for a class with no example).

    With `sample` (n booleans), only the sampled rows are cross-validated, and every other row
    gets its probabilities from one model fitted on the whole sample: out of sample for it by
    construction, so each row's probabilities still come from a model that never saw it, at the
    cost of fitting on the sample rather than on every row. Without it, every row is
    cross-validated (the default). `features` vectorises the sampled and the predicted distinct
    texts (`_features` unless given: a cache of them gives the same rows; without a sample, every
    text is vectorised by `vectorise`).
    Raises ValueError as `fit_text_model`, and if fewer than two classes (of the sample) have two
    examples each.
    """
    y = _checked(texts, labels, classes)
    features = _features if features is None else features
    fitted = np.ones(len(y), dtype=bool) if sample is None else np.asarray(sample, dtype=bool)
    if len(fitted) != len(y):
        raise ValueError(f"{len(fitted)} sample flags for {len(y)} texts: they must be aligned")
    y_fitted = y[fitted]
    counts = y_fitted.value_counts()
    enough = counts[counts >= 2]
    if len(enough) < 2:
        raise ValueError(
            f"label counts {counts.to_dict()}: out-of-sample probabilities need at least two classes "
            "with two examples each"
        )
    if folds < 2:
        raise ValueError(f"folds {folds}: cross-validation needs at least 2")
    if fitted.all():
        x_fitted = vectorise(texts)
    else:
        # Only the sample's distinct texts are vectorised here; every other text is vectorised a
        # chunk at a time when it is predicted.
        positions, distinct = _distinct(texts)
        sampled, row = np.unique(positions[fitted], return_inverse=True)
        sample_features = features(distinct[sampled])  # one row per distinct text of the sample
        x_fitted = sample_features[row]
    splits = StratifiedKFold(n_splits=min(folds, int(enough.min())), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A class with fewer examples than folds is missing from some training folds: its column
        # is 0 there, which is what a model that never saw the class would say.
        warnings.filterwarnings("ignore", message=".*least populated class.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*classes in training fold.*", category=RuntimeWarning)
        proba = cross_val_predict(_classifier(seed), x_fitted, y_fitted.to_numpy(), cv=splits, method="predict_proba")
    seen = sorted(y_fitted.unique())
    if fitted.all():
        return _frame(proba, seen, tuple(classes), texts.index)
    # The model knows the classes of the sample, in the same order; it predicts each distinct text
    # an unsampled row holds, once. A text the sample holds too is predicted from the features it
    # was fitted on, not vectorised again (a row's probabilities depend on its own features only).
    model = _classifier(seed).fit(x_fitted, y_fitted.to_numpy())
    del x_fitted
    wanted = np.unique(positions[~fitted])
    in_sample = np.isin(wanted, sampled)
    predicted = np.empty((len(distinct), len(seen)))
    if in_sample.any():
        predicted[wanted[in_sample]] = model.predict_proba(sample_features[np.searchsorted(sampled, wanted[in_sample])])
    del sample_features
    predicted[wanted[~in_sample]] = _predict_in_chunks(model, distinct[wanted[~in_sample]], features)
    whole = np.empty((len(y), len(seen)))
    whole[~fitted] = predicted[positions[~fitted]]
    whole[fitted] = proba
    return _frame(whole, seen, tuple(classes), texts.index)


def uncertainty(proba: pd.DataFrame) -> pd.Series:
    """Least confidence: 1 - the highest class probability of each row, in [0, 1 - 1/k] for k
    classes (0: certain). Rows aligned with `proba`; the most uncertain are worth labelling first."""
    return (1.0 - proba.max(axis=1)).rename("uncertainty")


def _classifier(seed: int) -> SGDClassifier:
    # The one-vs-rest fits run in threads on every core (SGD's loop releases the GIL); each class
    # draws its seed before they start, so the model is the same whatever the number of threads.
    return SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=seed, n_jobs=-1)


def _checked(texts: pd.Series, labels: pd.Series, classes: Sequence[str]) -> pd.Series:
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels: they must be aligned")
    if labels.isna().any():
        raise ValueError(f"{int(labels.isna().sum())} label(s) missing: drop those examples first")
    y = labels.astype(str).reset_index(drop=True)
    unknown = sorted(set(y.unique()) - set(classes))
    if unknown:
        raise ValueError(f"label(s) {unknown} are not in the classes {list(classes)}")
    return y


def _frame(proba: np.ndarray, seen: list[str], classes: tuple[str, ...], index: pd.Index) -> pd.DataFrame:
    """Probabilities over the classes the model saw -> a frame over every class, in order."""
    return pd.DataFrame(proba, columns=seen, index=index).reindex(columns=list(classes), fill_value=0.0)
