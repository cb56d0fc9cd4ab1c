"""Aggregate quality gates on the training set, measured against the bars in `gates:`.

Each gate reads like a pandera check in a failure report: its name, what was measured, what was
required, and which segments fell short (`Account: 812 < 1000`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from pipelines.lib.durations import cutoff
from pipelines.lib.spec import (
    DatasetSpec,
    KappaGate,
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

    @property
    def blocking(self) -> bool:
        """A failed ERROR gate stops the release."""
        return not self.passed and self.severity == "error"

    def message(self) -> str:
        verdict = "passed" if self.passed else f"FAILED ({self.severity})"
        segments = f"; below the bar: {', '.join(self.failing)}" if self.failing else ""
        return f"gate {self.name} {verdict}: measured {self.measured}, required {self.required}{segments}"

    def as_dict(self) -> dict:
        return asdict(self) | {"blocking": self.blocking}


def evaluate_gates(
    frame: pd.DataFrame, spec: DatasetSpec, as_of: date, annotations: pd.DataFrame | None = None
) -> list[GateResult]:
    """Measure every gate the spec declares on the training set (all splits together)."""
    gates = spec.gates
    measured = [
        gates.min_examples_per_class and _min_per_class(frame, spec, gates.min_examples_per_class),
        gates.min_non_english_share and _non_english_share(frame, gates.min_non_english_share),
        gates.min_examples_top_languages and _top_languages(frame, gates.min_examples_top_languages),
        gates.required_channels and _required_channels(frame, gates.required_channels),
        gates.min_recent_share and _recent_share(frame, spec, as_of, gates.min_recent_share),
        gates.min_label_agreement and _agreement(frame, spec, annotations, gates.min_label_agreement),
    ]
    return [result for result in measured if result]


def _min_per_class(frame: pd.DataFrame, spec: DatasetSpec, bar: MinCountGate) -> GateResult:
    counts = frame[spec.labels.column].value_counts().reindex(spec.labels.classes, fill_value=0)
    short = counts[counts < bar.min]
    failing = [f"{name}: {n} < {bar.min}" for name, n in short.items()]
    return GateResult("min_examples_per_class", bar.severity, short.empty, int(counts.min()), bar.min, failing)


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
    present = set(frame["channel"].unique())
    missing = [c for c in bar.values if c not in present]
    found = len(bar.values) - len(missing)
    failing = [f"{c}: absent" for c in missing]
    return GateResult("required_channels", bar.severity, not missing, found, len(bar.values), failing)


def _recent_share(frame: pd.DataFrame, spec: DatasetSpec, as_of: date, bar: RecentShareGate) -> GateResult:
    since = pd.Timestamp(cutoff(as_of, bar.within))
    share = float((frame[spec.columns.timestamp] >= since).mean()) if len(frame) else 0.0
    return GateResult("min_recent_share", bar.severity, share >= bar.min, round(share, 4), bar.min)


def _agreement(frame: pd.DataFrame, spec: DatasetSpec, annotations: pd.DataFrame | None, bar: KappaGate) -> GateResult:
    kappa, items = label_agreement(annotations, frame[spec.columns.id])
    passed = kappa is not None and kappa >= bar.min
    measured: float | str = "no doubly-labelled items" if kappa is None else round(kappa, 4)
    failing = [] if passed else [f"cohen_kappa over {items} doubly-labelled items"]
    return GateResult("min_label_agreement", bar.severity, passed, measured, bar.min, failing)


def label_agreement(annotations: pd.DataFrame | None, ids: pd.Series) -> tuple[float | None, int]:
    """Cohen's kappa between the first two annotators on items in the training set."""
    if annotations is None or annotations.empty:
        return None, 0
    in_set = annotations[annotations["ticket_id"].isin(ids)]
    wide = in_set.pivot_table(index="ticket_id", columns="annotator", values="label", aggfunc="first")
    wide = wide.dropna()
    if wide.shape[1] < 2 or wide.empty:
        return None, 0
    first, second = wide.columns[:2]
    return float(cohen_kappa_score(wide[first], wide[second])), len(wide)
