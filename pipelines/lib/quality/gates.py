"""Aggregate quality gates on the training set: every gate a dataset declares under `gates:`,
measured by its registered implementation (`gate_registry`, `gate_measures`), and the stewards'
waivers attached.

Each gate reads like a pandera check in a failure report: what was measured, what was
required, which segments fell short (`Account: 812 < 1000`) and the result in words
("class 'Account' has 812 examples, below the 1000 required").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.lib.quality.gate_declarations import GateParams, Severity

# Importing the measures registers every gate's implementation.
from pipelines.lib.quality.gate_measures import label_agreement as label_agreement
from pipelines.lib.quality.gate_measures import per_class_agreement as per_class_agreement
from pipelines.lib.quality.gate_registry import IMPLEMENTATIONS, GateInputs, missing_implementations
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.quality.waivers import Waiver, waiver_for
from pipelines.lib.reports import CoverageCount
from pipelines.lib.spec import DatasetSpec

if missing_implementations():  # a declared gate without one would fail only when a dataset declares it
    raise ImportError(f"declared gates without an implementation: {missing_implementations()}")


def evaluate_gates(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    as_of: date,
    annotations: pd.DataFrame | None = None,
    landed: tuple[int, int] = (0, 0),
    previous: list[CoverageCount] | None = None,
    language_mismatch: float | None = None,
    found: dict[str, pd.DataFrame] | None = None,
    text_key: pd.Series | None = None,
    cache: Path | None = None,
) -> list[GateResult]:
    """Measure every gate the spec declares on the training set (all splits together), in
    declaration order.

    `landed` is (rows landed, rows quarantined) for the quarantine-rate gate; `previous` the
    coverage counts of the latest released version for the share-drop gate. Language gates count
    the spec's language column as given: pass detected languages in it to count by those.

    Returns one GateResult per declared gate; shares are fractions in [0, 1], counts are rows.
    What a gate found beyond its result (the label issues) is put in `found`, when given.
    `text_key`: the rows' `splits.normalised_text`, when the caller computed it already. `cache`:
    a folder where the label-issue gate keeps its text features between runs (`feature_cache`).
    Raises KeyError if a column a gate reads is missing from `frame`."""
    inputs = GateInputs(
        frame, spec, as_of, annotations, landed, previous, language_mismatch, known_text_key=text_key, cache=cache
    )
    if found is not None:
        inputs.found = found
    return [measure_gate(name, params.severity, params, inputs) for name, params in spec.gates.declared()]


def measure_gate(name: str, severity: Severity, params: GateParams, inputs: GateInputs) -> GateResult:
    """One gate measured by its registered implementation (`gate_registry.IMPLEMENTATIONS`)."""
    m = IMPLEMENTATIONS[name](params, inputs)
    return GateResult(
        name=name,
        severity=severity,
        passed=m.passed,
        measured=m.measured,
        required=m.required,
        explanation=m.explanation,
        failing=m.failing,
    )


def apply_waivers(results: list[GateResult], waivers: list[Waiver], today: date) -> list[GateResult]:
    """The results, in the same order, with the waiver active on `today` (and an expired one when
    none is active) attached to each failed gate; passed gates are returned as they are."""
    out = []
    for result in results:
        active, expired = waiver_for(waivers, result.name, today)
        if result.passed:
            out.append(result)
            continue
        out.append(result.model_copy(update={"waiver": active, "expired_waiver": expired if not active else None}))
    return out
