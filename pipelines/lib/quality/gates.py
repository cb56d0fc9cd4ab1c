"""Aggregate quality gates on the training set, measured against the bars in `gates:`.

Each gate reads like a pandera check in a failure report: its name, what was measured, what was
required, and which segments fell short (`Account: 812 < 1000`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date

import pandas as pd

from pipelines.lib.durations import cutoff
from pipelines.lib.quality.splits import fold_numbers, normalised_text
from pipelines.lib.quality.waivers import Waiver, waiver_for
from pipelines.lib.spec import (
    DatasetSpec,
    KappaGate,
    MaxRateGate,
    MinCountGate,
    MinShareGate,
    RecentShareGate,
    RequiredValuesGate,
    TopLanguagesGate,
)


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate; `failing` lists the segments below the bar."""

    name: str
    severity: str
    passed: bool
    measured: float | int | str
    required: float | int | str
    failing: list[str] = field(default_factory=list)
    #: the active waiver that lets a failed gate through, and an expired one if any
    waiver: dict | None = None
    expired_waiver: dict | None = None

    @property
    def blocking(self) -> bool:
        """A failed ERROR gate stops the release, unless a steward waived it."""
        return not self.passed and self.severity == "error" and self.waiver is None

    def message(self) -> str:
        """One line for logs and check descriptions: verdict, measured and required, the segments
        below the bar, and the waiver (active or expired) if the gate failed."""
        verdict = "passed" if self.passed else f"FAILED ({self.severity})"
        segments = f"; below the bar: {', '.join(self.failing)}" if self.failing else ""
        text = f"gate {self.name} {verdict}: measured {self.measured}, required {self.required}{segments}"
        if not self.passed and self.waiver:
            w = self.waiver
            text += f" — WAIVED by {w['approver']} until {w['expires']}: {w['reason']}"
        elif not self.passed and self.expired_waiver:
            text += f" — waiver by {self.expired_waiver['approver']} expired on {self.expired_waiver['expires']}"
        return text

    def as_dict(self) -> dict:
        """The result as stored in gates.json and the manifest: every field, and `blocking`."""
        return asdict(self) | {"blocking": self.blocking}


def gate_status(gate: dict) -> str:
    """The gate's status, one of pass, WARN, FAIL or WAIVED, for a gate as stored
    (`GateResult.as_dict`). Raises KeyError if it lacks `passed`, or `severity` when failed unwaived."""
    if gate["passed"]:
        return "pass"
    if gate.get("waiver"):
        return "WAIVED"
    return "FAIL" if gate["severity"] == "error" else "WARN"


def apply_waivers(results: list[GateResult], waivers: list[Waiver], today: date) -> list[GateResult]:
    """The results, in the same order, with the waiver active on `today` (and an expired one when
    none is active) attached to each failed gate, as a dict; passed gates are returned as they are."""
    out = []
    for result in results:
        active, expired = waiver_for(waivers, result.name, today)
        if result.passed:
            out.append(result)
            continue
        out.append(
            replace(
                result,
                waiver=active.as_dict() if active else None,
                expired_waiver=expired.as_dict() if expired and not active else None,
            )
        )
    return out


def evaluate_gates(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    as_of: date,
    annotations: pd.DataFrame | None = None,
    landed: tuple[int, int] = (0, 0),
    previous: list[dict] | None = None,
    language_mismatch: float | None = None,
) -> list[GateResult]:
    """Measure every gate the spec declares on the training set (all splits together).

    `landed` is (rows landed, rows quarantined) for the quarantine-rate gate; `previous` the
    coverage counts of the latest released version for the share-drop gate. Language gates count
    the `language` column as given: pass detected languages to count by those.

    Returns one GateResult per declared gate, in the order of the report; shares are fractions in
    [0, 1], counts are rows. Raises KeyError if a column a gate reads is missing from `frame`."""
    gates = spec.gates

    @functools.cache
    def text_key() -> pd.Series:  # shared by the duplicate and leakage gates, computed once
        return normalised_text(frame, spec.columns.text)

    measured = [
        gates.min_examples_per_class and _min_per_class(frame, spec, gates.min_examples_per_class),
        gates.min_share_per_class and _min_share_per_class(frame, spec, gates.min_share_per_class),
        gates.min_non_english_share and _non_english_share(frame, gates.min_non_english_share),
        gates.min_examples_top_languages and _top_languages(frame, gates.min_examples_top_languages),
        gates.required_channels and _required_channels(frame, gates.required_channels),
        gates.min_recent_share and _recent_share(frame, spec, as_of, gates.min_recent_share),
        gates.min_label_agreement and _agreement(frame, spec, annotations, gates.min_label_agreement),
        gates.max_quarantine_rate and _quarantine_rate(landed, gates.max_quarantine_rate),
        gates.max_share_drop and _share_drop(frame, spec, previous, gates.max_share_drop),
        gates.max_language_mismatch and _language_mismatch(language_mismatch, gates.max_language_mismatch),
        gates.max_duplicate_share and _duplicates(text_key(), gates.max_duplicate_share),
        gates.max_near_duplicate_share
        and _duplicates(fold_numbers(text_key()), gates.max_near_duplicate_share, near=True),
        gates.max_split_leakage and _leakage(frame, text_key(), gates.max_split_leakage),
    ]
    return [result for result in measured if result]


def _min_per_class(frame: pd.DataFrame, spec: DatasetSpec, bar: MinCountGate) -> GateResult:
    counts = frame[spec.labels.column].value_counts().reindex(spec.labels.classes, fill_value=0)
    short = counts[counts < bar.min]
    failing = [f"{name}: {n} < {bar.min}" for name, n in short.items()]
    return GateResult("min_examples_per_class", bar.severity, short.empty, int(counts.min()), bar.min, failing)


def _min_share_per_class(frame: pd.DataFrame, spec: DatasetSpec, bar: MinShareGate) -> GateResult:
    total = len(frame)
    counts = frame[spec.labels.column].value_counts().reindex(spec.labels.classes, fill_value=0)
    shares = counts / total if total else counts.astype(float)
    failing = []
    for name, n in counts[shares < bar.min].items():
        # n + add >= min * (total + add)  <=>  add >= (min * total - n) / (1 - min)
        add = math.ceil((bar.min * total - n) / (1 - bar.min)) if bar.min < 1 else "∞"
        failing.append(f"{name}: {shares[name]:.1%} < {bar.min:.0%} (add {add} examples, or sample others down)")
    return GateResult("min_share_per_class", bar.severity, not failing, round(float(shares.min()), 4), bar.min, failing)


def _share_drop(frame: pd.DataFrame, spec: DatasetSpec, previous: list[dict] | None, bar: MaxRateGate) -> GateResult:
    """In the spirit of TFDV/Deequ anomaly checks: has a class or language lost share?"""
    if not previous or not len(frame):
        return GateResult("max_share_drop", bar.severity, True, "no earlier version", bar.max)
    before = pd.DataFrame(previous)
    failing, worst = [], 0.0
    for column in (spec.labels.column, "language"):
        old = before.groupby(column)["n"].sum() / before["n"].sum()
        new = frame[column].value_counts(normalize=True).reindex(old.index, fill_value=0.0)
        for value, drop in (old - new).items():
            worst = max(worst, float(drop))
            if drop > bar.max:
                failing.append(f"{column}={value}: {old[value]:.1%} -> {new[value]:.1%}")
    return GateResult("max_share_drop", bar.severity, not failing, round(worst, 4), bar.max, failing)


def _duplicates(key: pd.Series, bar: MaxRateGate, near: bool = False) -> GateResult:
    share = float(key.duplicated().mean()) if len(key) else 0.0
    kind = "nearly repeat" if near else "repeat"
    failing = [] if share <= bar.max else [f"{int(key.duplicated().sum())} examples {kind} an earlier text"]
    name = "max_near_duplicate_share" if near else "max_duplicate_share"
    return GateResult(name, bar.severity, share <= bar.max, round(share, 4), bar.max, failing)


def _leakage(frame: pd.DataFrame, key: pd.Series, bar: MaxRateGate) -> GateResult:
    if "split" not in frame.columns or not len(frame):
        return GateResult("max_split_leakage", bar.severity, True, "not split", bar.max)
    in_train = key.isin(key[frame["split"] == "train"])
    held_out = frame["split"] != "train"
    leaked = in_train & held_out
    share = float(leaked.sum() / held_out.sum()) if held_out.any() else 0.0
    failing = [
        f"{split}: {int(leaked[frame['split'] == split].sum())} examples also in train"
        for split in ("validation", "test")
        if leaked[frame["split"] == split].any() and share > bar.max
    ]
    return GateResult("max_split_leakage", bar.severity, share <= bar.max, round(share, 4), bar.max, failing)


def _language_mismatch(rate: float | None, bar: MaxRateGate) -> GateResult:
    if rate is None:
        return GateResult("max_language_mismatch", bar.severity, True, "not measured", bar.max)
    failing = [] if rate <= bar.max else [f"{rate:.1%} of examples are not in their claimed language"]
    return GateResult("max_language_mismatch", bar.severity, rate <= bar.max, round(rate, 4), bar.max, failing)


def _quarantine_rate(landed: tuple[int, int], bar: MaxRateGate) -> GateResult:
    rows, quarantined = landed
    rate = quarantined / rows if rows else 0.0
    failing = [] if rate <= bar.max else [f"{quarantined} of {rows} landed rows quarantined"]
    return GateResult("max_quarantine_rate", bar.severity, rate <= bar.max, round(rate, 4), bar.max, failing)


def _non_english_share(frame: pd.DataFrame, bar: MinShareGate) -> GateResult:
    share = float((frame["language"] != "en").mean()) if len(frame) else 0.0
    return GateResult("min_non_english_share", bar.severity, share >= bar.min, round(share, 4), bar.min)


def _top_languages(frame: pd.DataFrame, bar: TopLanguagesGate) -> GateResult:
    top = frame["language"].value_counts().head(bar.top)
    short = top[top < bar.min]
    failing = [f"{name}: {n} < {bar.min}" for name, n in short.items()]
    if len(top) < bar.top:
        failing.append(f"only {len(top)} language(s) present")
    lowest = int(top.min()) if len(top) else 0
    return GateResult("min_examples_top_languages", bar.severity, not failing, lowest, bar.min, failing)


def _required_channels(frame: pd.DataFrame, bar: RequiredValuesGate) -> GateResult:
    shares = frame["channel"].value_counts(normalize=True).reindex(bar.values, fill_value=0.0)
    failing = [
        f"{c}: absent" if share == 0 else f"{c}: {share:.1%} < {bar.min_share:.0%}"
        for c, share in shares.items()
        if share == 0 or share < bar.min_share
    ]
    required = f"{len(bar.values)} present" + (f", each >= {bar.min_share}" if bar.min_share else "")
    return GateResult("required_channels", bar.severity, not failing, round(float(shares.min()), 4), required, failing)


def _recent_share(frame: pd.DataFrame, spec: DatasetSpec, as_of: date, bar: RecentShareGate) -> GateResult:
    since = pd.Timestamp(cutoff(as_of, bar.within))
    share = float((frame[spec.columns.timestamp] >= since).mean()) if len(frame) else 0.0
    return GateResult("min_recent_share", bar.severity, share >= bar.min, round(share, 4), bar.min)


def _agreement(frame: pd.DataFrame, spec: DatasetSpec, annotations: pd.DataFrame | None, bar: KappaGate) -> GateResult:
    kappa, items = label_agreement(annotations, frame[spec.columns.id])
    measured: float | str = "no doubly-labelled items" if kappa is None else round(kappa, 4)
    failing = [] if kappa is not None and kappa >= bar.min else [f"overall: {measured} over {items} items"]
    for name, value in per_class_agreement(annotations, frame[spec.columns.id], spec.labels.classes).items():
        if value < bar.min:
            failing.append(f"{name}: one-vs-rest kappa {value:.3f} < {bar.min}")
    return GateResult("min_label_agreement", bar.severity, not failing, measured, bar.min, failing)


def per_class_agreement(annotations: pd.DataFrame | None, ids: pd.Series, classes: list[str]) -> dict[str, float]:
    """One-vs-rest Cohen's kappa of each class (does the pair agree on "is it this class?"): class
    name -> kappa in [-1, 1], for the classes either annotator used; {} without doubly-labelled items."""
    from sklearn.metrics import cohen_kappa_score  # scikit-learn loads in ~2 s: only when the gates run

    wide = _doubly_labelled(annotations, ids)
    if wide is None:
        return {}
    first, second = wide.columns[:2]
    return {
        name: float(cohen_kappa_score(wide[first] == name, wide[second] == name))
        for name in classes
        if (wide[first] == name).any() or (wide[second] == name).any()
    }


def _doubly_labelled(annotations: pd.DataFrame | None, ids: pd.Series) -> pd.DataFrame | None:
    if annotations is None or annotations.empty:
        return None
    in_set = annotations[annotations["ticket_id"].isin(ids)]
    wide = in_set.pivot_table(index="ticket_id", columns="annotator", values="label", aggfunc="first").dropna()
    return None if wide.shape[1] < 2 or wide.empty else wide


def label_agreement(annotations: pd.DataFrame | None, ids: pd.Series) -> tuple[float | None, int]:
    """Cohen's kappa (in [-1, 1]) between the first two annotators on items in the training set,
    and how many items both labelled; (None, 0) without doubly-labelled items."""
    from sklearn.metrics import cohen_kappa_score  # scikit-learn loads in ~2 s: only when the gates run

    wide = _doubly_labelled(annotations, ids)
    if wide is None:
        return None, 0
    first, second = wide.columns[:2]
    return float(cohen_kappa_score(wide[first], wide[second])), len(wide)
