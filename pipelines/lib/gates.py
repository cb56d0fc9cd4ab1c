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
from pipelines.lib.spec import DatasetSpec


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
    label, language = spec.labels.column, "language"
    results: list[GateResult] = []
    if gates.min_examples_per_class:
        bar = gates.min_examples_per_class
        counts = frame[label].value_counts().reindex(spec.labels.classes, fill_value=0)
        short = counts[counts < bar.min]
        results.append(
            GateResult(
                "min_examples_per_class", bar.severity, short.empty, int(counts.min()), bar.min,
                [f"{name}: {n} < {bar.min}" for name, n in short.items()],
            )
        )
    if gates.min_non_english_share:
        bar = gates.min_non_english_share
        share = float((frame[language] != "en").mean()) if len(frame) else 0.0
        results.append(GateResult("min_non_english_share", bar.severity, share >= bar.min, round(share, 4), bar.min))
    if gates.min_examples_top_languages:
        bar = gates.min_examples_top_languages
        top = frame[language].value_counts().head(bar.top)
        short = top[top < bar.min]
        results.append(
            GateResult(
                "min_examples_top_languages", bar.severity, short.empty and len(top) == bar.top,
                int(top.min()) if len(top) else 0, bar.min,
                [f"{name}: {n} < {bar.min}" for name, n in short.items()]
                + ([f"only {len(top)} language(s) present"] if len(top) < bar.top else []),
            )
        )
    if gates.required_channels:
        bar = gates.required_channels
        present = set(frame["channel"].unique())
        missing = [c for c in bar.values if c not in present]
        results.append(
            GateResult(
                "required_channels", bar.severity, not missing, len(bar.values) - len(missing), len(bar.values),
                [f"{c}: absent" for c in missing],
            )
        )
    if gates.min_recent_share:
        bar = gates.min_recent_share
        since = pd.Timestamp(cutoff(as_of, bar.within))
        share = float((frame[spec.columns.timestamp] >= since).mean()) if len(frame) else 0.0
        results.append(GateResult("min_recent_share", bar.severity, share >= bar.min, round(share, 4), bar.min))
    if gates.min_label_agreement:
        bar = gates.min_label_agreement
        kappa, items = label_agreement(annotations, frame[spec.columns.id])
        passed = kappa is not None and kappa >= bar.min
        results.append(
            GateResult(
                "min_label_agreement", bar.severity, passed,
                "no doubly-labelled items" if kappa is None else round(kappa, 4), bar.min,
                [] if passed else [f"cohen_kappa over {items} doubly-labelled items"],
            )
        )
    return results


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
