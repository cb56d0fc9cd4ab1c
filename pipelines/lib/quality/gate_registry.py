"""The gate registry: each declared gate's one implementation, under its YAML name.

`gate_declarations` declares a gate (name, parameters, what it measures); `@implements(name)`
registers the function that measures it (`gate_measures`); `gates.evaluate_gates` runs every
gate a dataset declares. A name has one declaration and one implementation, as a pandera check
has one declaration and one registered implementation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.lib.quality.gate_declarations import DECLARED
from pipelines.lib.quality.gate_results import Shortfall
from pipelines.lib.quality.splits import normalised_text
from pipelines.lib.reports import CoverageCount
from pipelines.lib.spec import DatasetSpec


@dataclass
class GateInputs:
    """What the gates measure: the training set (all splits together) and what it came from."""

    frame: pd.DataFrame
    spec: DatasetSpec
    as_of: date
    annotations: pd.DataFrame | None = None
    #: (rows landed, rows quarantined), for the quarantine rate
    landed: tuple[int, int] = (0, 0)
    #: coverage counts of the latest released version, for the share drop
    previous: list[CoverageCount] | None = None
    language_mismatch: float | None = None
    #: what a gate found beyond its result, for the run's reports (e.g. `label_issues`: a frame)
    found: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: `normalised_text` of the text columns, when the split computed it already (aligned with `frame`)
    known_text_key: pd.Series | None = None
    #: a folder where a gate may keep what later runs reuse (the label-issue gate's text features)
    cache: Path | None = None

    @functools.cached_property
    def text_key(self) -> pd.Series:
        """The duplicate key of every example; shared by the duplicate and leakage gates."""
        if self.known_text_key is not None:
            return self.known_text_key
        return normalised_text(self.frame, self.spec.columns.text)

    @property
    def languages(self) -> pd.Series:
        """The language of every example: as detected where detection found one (`evaluate_gates`)."""
        return self.frame[self.spec.language_column]

    @property
    def labels(self) -> pd.Series:
        """The label column of every example."""
        return self.frame[self.spec.labels.column]


@dataclass(frozen=True)
class Measured:
    """What one gate's implementation returns; `evaluate_gates` adds its name and severity."""

    passed: bool
    measured: float | int | str
    required: float | int | str
    explanation: str
    failing: list[Shortfall] = field(default_factory=list)


Implementation = Callable[[Any, GateInputs], Measured]
#: gate name -> its one implementation
IMPLEMENTATIONS: dict[str, Implementation] = {}


def implements(name: str) -> Callable[[Implementation], Implementation]:
    """Register the implementation of the declared gate `name`; raises ValueError for a name no
    declaration has, or a second implementation of one."""
    if name not in DECLARED:
        raise ValueError(f"gate {name!r} is not declared in gate_declarations.DECLARED")
    if name in IMPLEMENTATIONS:
        raise ValueError(f"gate {name!r} has an implementation already")

    def register(function: Implementation) -> Implementation:
        IMPLEMENTATIONS[name] = function
        return function

    return register


def missing_implementations() -> list[str]:
    """Declared gates that no implementation is registered for (none, once `gate_measures` is loaded)."""
    return sorted(DECLARED.keys() - IMPLEMENTATIONS.keys())
