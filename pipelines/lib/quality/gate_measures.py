"""How each gate measures the training set, in words as well as numbers; each function is the
one implementation of the gate `gate_declarations` declares under that name."""

from __future__ import annotations

import math

import pandas as pd

from pipelines.lib.durations import cutoff
from pipelines.lib.labeling.agreement import cohen_kappa, one_vs_rest_cohen
from pipelines.lib.membership import is_in
from pipelines.lib.quality.gate_declarations import (
    Kappa,
    MaxRate,
    MinCount,
    MinShare,
    RecentShare,
    ReferenceShare,
    RequiredValues,
    TopLanguages,
)
from pipelines.lib.quality.gate_registry import GateInputs, Measured, implements
from pipelines.lib.quality.gate_results import Shortfall
from pipelines.lib.quality.splits import fold_numbers


def _pct(value: float, bar: float | None = None) -> str:
    """A share as a percentage: one decimal, two where one would read as the bar itself."""
    text = f"{value:.1%}"
    return f"{value:.2%}" if bar is not None and value != bar and text == f"{bar:.1%}" else text


def _bar(bar: float) -> str:
    """A bar as declared: 0.1 -> 10%, 0.125 -> 12.5%."""
    return f"{bar * 100:g}%"


def _at_least(ok: bool, required: str) -> str:
    return f"{'at least' if ok else 'below'} the {required} required"


def _at_most(ok: bool, allowed: str) -> str:
    return f"{'within' if ok else 'above'} the {allowed} allowed"


@implements("min_examples_per_class")
def _min_per_class(bar: MinCount, data: GateInputs) -> Measured:
    counts = data.labels.value_counts().reindex(data.spec.labels.classes, fill_value=0)
    short = counts[counts < bar.min]
    label = data.spec.labels.column
    failing = [
        Shortfall(segment=str(name), text=f"{name}: {n} < {bar.min}", column=label, missing=bar.min - int(n))
        for name, n in short.items()
    ]
    words = [f"class {name!r} has {n} examples, below the {bar.min} required" for name, n in short.items()]
    fewest = f"fewest: {counts.idxmin()!r} with {counts.min()}"
    explanation = "; ".join(words) or f"every class has at least {bar.min} examples ({fewest})"
    return Measured(short.empty, int(counts.min()), bar.min, explanation, failing)


@implements("min_share_per_class")
def _min_share_per_class(bar: MinShare, data: GateInputs) -> Measured:
    total = len(data.frame)
    counts = data.labels.value_counts().reindex(data.spec.labels.classes, fill_value=0)
    shares = counts / total if total else counts.astype(float)
    failing, words = [], []
    for name, n in counts[shares < bar.min].items():
        # n + add >= min * (total + add)  <=>  add >= (min * total - n) / (1 - min)
        add = math.ceil((bar.min * total - n) / (1 - bar.min)) if bar.min < 1 else "∞"
        text = f"{name}: {_pct(shares[name], bar.min)} < {_bar(bar.min)} (add {add} examples, or sample others down)"
        missing = add if isinstance(add, int) else None
        failing.append(Shortfall(segment=str(name), text=text, column=data.spec.labels.column, missing=missing))
        words.append(
            f"class {name!r} is {_pct(shares[name], bar.min)} of the examples, below the {_bar(bar.min)} required"
        )
    smallest = f"smallest: {shares.idxmin()!r} at {shares.min():.1%}"
    explanation = "; ".join(words) or f"every class is at least {_bar(bar.min)} of the examples ({smallest})"
    return Measured(not failing, round(float(shares.min()), 4), bar.min, explanation, failing)


@implements("min_examples_per_split")
def _min_per_split(bar: MinCount, data: GateInputs) -> Measured:
    if "split" not in data.frame.columns:
        return Measured(True, "not split", bar.min, "the examples are not split")
    shares = data.spec.split
    splits = [name for name in ("train", "validation", "test") if getattr(shares, name) > 0]
    table = pd.crosstab(data.labels, data.frame["split"]).reindex(
        index=data.spec.labels.classes, columns=splits, fill_value=0
    )
    failing, words = [], []
    for name, row in table.iterrows():  # classes x splits: a handful of cells, not rows of data
        for where, n in row.items():
            if n < bar.min:
                # The split assigns each stratum's examples by share: add enough for this split's part.
                add = math.ceil((bar.min - n) / getattr(shares, str(where)))
                text = f"{name}/{where}: {n} < {bar.min}"
                failing.append(Shortfall(segment=str(name), text=text, column=data.spec.labels.column, missing=add))
                words.append(f"class {name!r} has {n} examples in {where}, below the {bar.min} required")
    fewest = int(table.to_numpy().min()) if table.size else 0
    explanation = "; ".join(words) or f"every class has at least {bar.min} examples in each of {', '.join(splits)}"
    return Measured(not failing, fewest, bar.min, explanation, failing)


@implements("min_share_outside_language")
def _share_outside_language(bar: ReferenceShare, data: GateInputs) -> Measured:
    share = float((data.languages != bar.reference).mean()) if len(data.frame) else 0.0
    ok = share >= bar.min
    explanation = (
        f"{_pct(share, bar.min)} of the examples are in a language other than {bar.reference!r}, "
        f"{_at_least(ok, _bar(bar.min))}"
    )
    failing = []
    if not ok:
        total, outside = len(data.frame), int((data.languages != bar.reference).sum())
        add = math.ceil((bar.min * total - outside) / (1 - bar.min)) if bar.min < 1 else None
        text = f"other than {bar.reference}: {_pct(share, bar.min)} < {_bar(bar.min)}"
        column = data.spec.language_column
        failing.append(Shortfall(segment=bar.reference, text=text, column=column, other_than=True, missing=add))
    return Measured(ok, round(share, 4), bar.min, explanation, failing)


@implements("min_examples_top_languages")
def _top_languages(bar: TopLanguages, data: GateInputs) -> Measured:
    top = data.languages.value_counts().head(bar.top)
    short = top[top < bar.min]
    column = data.spec.language_column
    failing = [
        Shortfall(segment=str(name), text=f"{name}: {n} < {bar.min}", column=column, missing=bar.min - int(n))
        for name, n in short.items()
    ]
    words = [f"language {name!r} has {n} examples, below the {bar.min} required" for name, n in short.items()]
    if len(top) < bar.top:
        failing.append(Shortfall(text=f"only {len(top)} language(s) present"))
        words.append(f"only {len(top)} language(s) are present, {bar.top} are checked")
    lowest = int(top.min()) if len(top) else 0
    listed = ", ".join(str(name) for name in top.index)
    explanation = "; ".join(words) or f"each of the top {bar.top} languages ({listed}) has at least {bar.min} examples"
    return Measured(not failing, lowest, bar.min, explanation, failing)


@implements("required_values")
def _required_values(bar: RequiredValues, data: GateInputs) -> Measured:
    shares = data.frame[bar.column].value_counts(normalize=True).reindex(bar.values, fill_value=0.0)
    total = len(data.frame)
    failing, words = [], []
    for value, share in shares.items():
        # n + add >= min_share * (total + add), at least one example of a required value
        least = max(bar.min_share, 1 / (total + 1))
        add = max(1, math.ceil((least * total - share * total) / (1 - least))) if least < 1 else None
        if share == 0:
            failing.append(Shortfall(segment=str(value), text=f"{value}: absent", column=bar.column, missing=add))
            words.append(f"{bar.column} {value!r} is absent")
        elif share < bar.min_share:
            text = f"{value}: {_pct(share, bar.min_share)} < {_bar(bar.min_share)}"
            failing.append(Shortfall(segment=str(value), text=text, column=bar.column, missing=add))
            words.append(
                f"{bar.column} {value!r} is {_pct(share, bar.min_share)} of the examples, "
                f"below the {_bar(bar.min_share)} required"
            )
    required = f"{len(bar.values)} present" + (f", each >= {bar.min_share}" if bar.min_share else "")
    each = f", each at least {_bar(bar.min_share)}" if bar.min_share else ""
    explanation = "; ".join(words) or f"{bar.column} values {', '.join(bar.values)} are all present{each}"
    return Measured(not failing, round(float(shares.min()), 4), required, explanation, failing)


@implements("min_recent_share")
def _recent_share(bar: RecentShare, data: GateInputs) -> Measured:
    since = pd.Timestamp(cutoff(data.as_of, bar.within))
    stamps = data.frame[data.spec.columns.timestamp]
    share = float((stamps >= since).mean()) if len(data.frame) else 0.0
    ok = share >= bar.min
    explanation = (
        f"{_pct(share, bar.min)} of the examples are from the last {bar.within} (since {since.date()}), "
        f"{_at_least(ok, _bar(bar.min))}"
    )
    return Measured(ok, round(share, 4), bar.min, explanation)


@implements("min_label_agreement")
def _agreement(bar: Kappa, data: GateInputs) -> Measured:
    wide = _doubly_labelled(data.annotations, data.frame[data.spec.id_column])  # once for both measures
    kappa, items = _kappa(wide)
    unmeasured = "undefined" if items else "no doubly-labelled items"
    measured: float | str = unmeasured if kappa is None else round(kappa, 4)
    failing, words = [], []
    if kappa is None:
        failing.append(Shortfall(text=f"overall: {measured} over {items} items"))
        words.append(
            f"every label of the {items} doubly-labelled items is the same class, so kappa is undefined"
            if items
            else "no item in the training set was labelled by two annotators, so agreement is not measured"
        )
    else:
        words.append(
            f"Cohen's kappa of the first two annotators is {kappa:.3f} over {items} doubly-labelled items, "
            f"{_at_least(kappa >= bar.min, str(bar.min))}"
        )
        if kappa < bar.min:
            failing.append(Shortfall(text=f"overall: {measured} over {items} items"))
    for name, value in _per_class_kappa(wide, data.spec.labels.classes).items():
        if value < bar.min:
            failing.append(Shortfall(segment=name, text=f"{name}: one-vs-rest kappa {value:.3f} < {bar.min}"))
            words.append(f"class {name!r} agrees less (one-vs-rest kappa {value:.3f})")
    return Measured(not failing, measured, bar.min, "; ".join(words), failing)


@implements("max_quarantine_rate")
def _quarantine_rate(bar: MaxRate, data: GateInputs) -> Measured:
    rows, quarantined = data.landed
    rate = quarantined / rows if rows else 0.0
    ok = rate <= bar.max
    failing = [] if ok else [Shortfall(text=f"{quarantined} of {rows} landed rows quarantined")]
    explanation = f"{quarantined} of {rows} landed rows ({rate:.1%}) were quarantined, {_at_most(ok, _bar(bar.max))}"
    return Measured(ok, round(rate, 4), bar.max, explanation, failing)


@implements("max_share_drop")
def _share_drop(bar: MaxRate, data: GateInputs) -> Measured:
    """In the spirit of TFDV/Deequ anomaly checks: has a class or a segment value lost share?"""
    if not data.previous or not len(data.frame):
        return Measured(True, "no earlier version", bar.max, "no earlier version to compare with")
    failing, words, worst = [], [], 0.0
    label = data.spec.labels.column
    for column in [label, *data.spec.segment_columns]:
        # A column the earlier version did not count by (the spec changed since) has no share to lose.
        before = pd.DataFrame(
            [(c.label if column == label else c.segments.get(column), c.n) for c in data.previous], columns=["v", "n"]
        ).dropna()
        if before.empty:
            continue
        old = before.groupby("v")["n"].sum() / before["n"].sum()
        new = data.frame[column].value_counts(normalize=True).reindex(old.index, fill_value=0.0)
        for value, drop in (old - new).items():
            worst = max(worst, float(drop))
            if drop > bar.max:
                failing.append(Shortfall(text=f"{column}={value}: {old[value]:.1%} -> {new[value]:.1%}"))
                words.append(f"{column}={value} fell from {old[value]:.1%} to {new[value]:.1%} of the examples")
    points = f"{bar.max * 100:g} points"
    explanation = (
        "; ".join(words) + f" since the latest release, more than the {points} allowed"
        if words
        else f"no class or segment value lost more than {points} of share since the latest release "
        f"(largest drop: {worst * 100:.1f} points)"
    )
    return Measured(not failing, round(worst, 4), bar.max, explanation, failing)


@implements("max_language_mismatch")
def _language_mismatch(bar: MaxRate, data: GateInputs) -> Measured:
    rate = data.language_mismatch
    if rate is None:
        return Measured(True, "not measured", bar.max, "languages were not detected, so nothing was compared")
    ok = rate <= bar.max
    failing = [] if ok else [Shortfall(text=f"{rate:.1%} of examples are not in their claimed language")]
    explanation = f"{rate:.1%} of examples are not in their claimed language, {_at_most(ok, _bar(bar.max))}"
    return Measured(ok, round(rate, 4), bar.max, explanation, failing)


@implements("max_duplicate_share")
def _duplicates(bar: MaxRate, data: GateInputs) -> Measured:
    return _repeats(data.text_key, bar, "repeat")


@implements("max_near_duplicate_share")
def _near_duplicates(bar: MaxRate, data: GateInputs) -> Measured:
    # A key folds on its own: each distinct key is folded once (174,646 of 298,648 at 1M tickets),
    # and its rows take the code of its folded key.
    codes, distinct = pd.factorize(data.text_key, use_na_sentinel=False)
    folded = fold_numbers(pd.Series(distinct, dtype="str"))
    return _repeats(pd.Series(pd.factorize(folded, use_na_sentinel=False)[0][codes]), bar, "nearly repeat")


def _repeats(key: pd.Series, bar: MaxRate, verb: str) -> Measured:
    repeated = int(key.duplicated().sum())
    share = repeated / len(key) if len(key) else 0.0
    ok = share <= bar.max
    failing = [] if ok else [Shortfall(text=f"{repeated} examples {verb} an earlier text")]
    explanation = (
        f"{repeated} of {len(key)} examples ({share:.1%}) {verb} an earlier text, {_at_most(ok, _bar(bar.max))}"
    )
    return Measured(ok, round(share, 4), bar.max, explanation, failing)


@implements("max_split_leakage")
def _leakage(bar: MaxRate, data: GateInputs) -> Measured:
    frame, key = data.frame, data.text_key
    if "split" not in frame.columns or not len(frame):
        return Measured(True, "not split", bar.max, "the examples are not split")
    in_train = is_in(key, key[frame["split"] == "train"])
    held_out = frame["split"] != "train"
    leaked = in_train & held_out
    share = float(leaked.sum() / held_out.sum()) if held_out.any() else 0.0
    ok = share <= bar.max
    per_split = {split: int(leaked[frame["split"] == split].sum()) for split in ("validation", "test")}
    failing = [Shortfall(text=f"{s}: {n} examples also in train") for s, n in per_split.items() if n and not ok]
    explanation = (
        f"{int(leaked.sum())} held-out examples ({share:.2%}; validation {per_split['validation']}, "
        f"test {per_split['test']}) have a text also in train, {_at_most(ok, _bar(bar.max))}"
    )
    return Measured(ok, round(share, 4), bar.max, explanation, failing)


def per_class_agreement(annotations: pd.DataFrame | None, ids: pd.Series, classes: list[str]) -> dict[str, float]:
    """One-vs-rest Cohen's kappa of each class (does the pair agree on "is it this class?"): class
    name -> kappa in [-1, 1], for the classes where it is defined (either annotator used the class,
    not every label is it); {} without doubly-labelled items."""
    return _per_class_kappa(_doubly_labelled(annotations, ids), classes)


def _per_class_kappa(wide: pd.DataFrame | None, classes: list[str]) -> dict[str, float]:
    if wide is None:
        return {}
    first, second = wide.columns[:2]
    per_class = one_vs_rest_cohen(wide[first], wide[second], classes)
    return {name: kappa for name, kappa in per_class.items() if kappa is not None}


def _doubly_labelled(annotations: pd.DataFrame | None, ids: pd.Series) -> pd.DataFrame | None:
    if annotations is None or annotations.empty:
        return None
    in_set = annotations[is_in(annotations["id"], ids)]
    wide = in_set.pivot_table(index="id", columns="annotator", values="label", aggfunc="first").dropna()
    return None if wide.shape[1] < 2 or wide.empty else wide


def label_agreement(annotations: pd.DataFrame | None, ids: pd.Series) -> tuple[float | None, int]:
    """Cohen's kappa (in [-1, 1]) between the first two annotators on items in the training set,
    and how many items both labelled; (None, 0) without doubly-labelled items, (None, items) when
    every label is the same class (kappa is undefined)."""
    return _kappa(_doubly_labelled(annotations, ids))


def _kappa(wide: pd.DataFrame | None) -> tuple[float | None, int]:
    if wide is None:
        return None, 0
    first, second = wide.columns[:2]
    return cohen_kappa(wide[first], wide[second]), len(wide)


#: label issues named in a gate's result (all of them are in the run's label_issues.csv)
ISSUES_SHOWN = 20


@implements("max_label_issue_share")
def _label_issues(bar: MaxRate, data: GateInputs) -> Measured:
    # scikit-learn loads only where this gate is declared.
    from pipelines.lib.labeling.label_issues import find_label_issues
    from pipelines.lib.quality.feature_cache import FeatureCache
    from pipelines.lib.quality.splits import joined_text

    frame, spec = data.frame, data.spec
    if len(frame) < 10 or data.labels.nunique() < 2:
        return Measured(True, "too few examples", bar.max, "fewer than 10 examples or one class: nothing to compare")
    ids = frame[spec.id_column].astype("str")
    features = None if data.cache is None else FeatureCache(data.cache)
    texts = joined_text(frame, spec.columns.text)
    issues = find_label_issues(ids, texts, data.labels, spec.labels.classes, seed=13, features=features)
    if features is not None:
        features.write()
    data.found["label_issues"] = issues
    share = len(issues) / len(frame)
    ok = share <= bar.max
    failing = [
        Shortfall(segment=str(row.given), text=f"{row.id}: {row.given} -> {row.suggested} ({row.self_confidence:.2f})")
        for row in issues.head(ISSUES_SHOWN).itertuples(index=False)
    ]
    listed = f"; the {min(len(issues), ISSUES_SHOWN)} least self-confident are listed" if len(issues) else ""
    explanation = (
        f"{len(issues)} of {len(frame)} examples ({share:.1%}) look mislabelled by confident learning, "
        f"{_at_most(ok, _bar(bar.max))}{listed}"
    )
    return Measured(ok, round(share, 4), bar.max, explanation, failing)
