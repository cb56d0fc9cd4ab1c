"""The gates a dataset may declare under `gates:`, by their YAML name: each with its parameter
model and what it measures. Declarations only, as pandera declares its checks apart from the
engine that runs them: the spec validates the YAML against these when it loads, and
`gate_measures.py` registers exactly one implementation per name (`gate_registry.implements`).

Adding a gate: declare it here (a name, a parameter model, what it measures, the column its
failing segments name), write its measure in `gate_measures.py` under `@implements("<name>")`
(returning `Measured`: passed, measured, required, the result in words, the shortfalls), and
declare it in a dataset's `gates:`. Importing `gates` fails while a declared gate has no
implementation.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.lib.durations import IsoDuration

Severity = Literal["error", "warn"]
#: the column a gate's failing segments name: the dataset's label column, its language column
#: (declared or detected), or the column the gate's own `column` parameter names
SegmentColumn = Literal["label", "language_column", "column"]
#: a column role a gate cannot be measured without: the timestamp, or a declared (claimed) language
Role = Literal["timestamp", "claimed_language"]


class GateParams(BaseModel):
    """Parameters every gate takes; unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Severity = Field(default="error", description="`error` blocks the release; `warn` is reported only.")


class MinCount(GateParams):
    min: int = Field(ge=0, description="Required minimum count.")


class MinShare(GateParams):
    min: float = Field(ge=0, le=1, description="Required minimum share, 0..1.")


class TopLanguages(GateParams):
    top: int = Field(default=3, ge=1, description="How many of the most frequent languages are checked.")
    min: int = Field(ge=0, description="Required minimum examples for each of them.")


class ReferenceShare(GateParams):
    reference: str = Field(description="The reference language (ISO 639-1), e.g. `en`.")
    min: float = Field(ge=0, le=1, description="Required minimum share of examples in other languages, 0..1.")


class RequiredValues(GateParams):
    column: str = Field(description="The segment column (one of `columns.segments`, or the language column).")
    values: list[str] = Field(description="Values that must each be present.")
    min_share: float = Field(default=0.0, ge=0, le=1, description="Share each value must reach (0: present at all).")


class MaxRate(GateParams):
    max: float = Field(ge=0, le=1, description="Highest acceptable rate, 0..1.")


class RecentShare(GateParams):
    within: IsoDuration = Field(description="ISO-8601 duration counted back from the as-of date (e.g. P30D).")
    min: float = Field(ge=0, le=1, description="Required minimum share of examples that recent.")


class Kappa(GateParams):
    min: float = Field(ge=-1, le=1, description="Required minimum Cohen's kappa on doubly-labelled items.")


@dataclass(frozen=True)
class GateDeclaration:
    """One gate: its YAML name, its parameters, what it measures, the column its segments name,
    and the column roles it cannot be measured without."""

    name: str
    params: type[GateParams]
    measures: str
    segment: SegmentColumn | None = None
    needs: tuple[Role, ...] = ()


#: every gate, in the order they are measured and listed
DECLARED: dict[str, GateDeclaration] = {
    d.name: d
    for d in (
        GateDeclaration("min_examples_per_class", MinCount, "Minimum examples of every class.", "label"),
        GateDeclaration(
            "min_share_per_class",
            MinShare,
            "Minimum share of every class; a shortfall names how many examples to add.",
            "label",
        ),
        GateDeclaration(
            "min_examples_per_split",
            MinCount,
            "Minimum examples of every class in every split the spec gives a share (a class absent from "
            "validation or test cannot be evaluated).",
            "label",
        ),
        GateDeclaration(
            "min_share_outside_language",
            ReferenceShare,
            "Minimum share of examples in languages other than the `reference` one.",
        ),
        GateDeclaration(
            "min_examples_top_languages",
            TopLanguages,
            "Minimum examples for each of the top-N languages.",
            "language_column",
        ),
        GateDeclaration(
            "required_values",
            RequiredValues,
            "Values of a segment column that must all be present, each above `min_share`.",
            "column",
        ),
        GateDeclaration(
            "min_recent_share", RecentShare, "Minimum share of examples newer than `within`.", needs=("timestamp",)
        ),
        GateDeclaration(
            "min_label_agreement",
            Kappa,
            "Minimum Cohen's kappa overall; classes whose one-vs-rest kappa is below it are named.",
            "label",
        ),
        GateDeclaration("max_quarantine_rate", MaxRate, "Highest share of landed rows that may be quarantined."),
        GateDeclaration(
            "max_share_drop",
            MaxRate,
            "Largest drop of a class's or a segment value's share since the latest release (0.05 = 5 points).",
        ),
        GateDeclaration(
            "max_language_mismatch",
            MaxRate,
            "Highest share of examples whose detected language differs from the claimed one.",
            needs=("claimed_language",),
        ),
        GateDeclaration(
            "max_duplicate_share", MaxRate, "Highest share of examples whose normalised text repeats another's."
        ),
        GateDeclaration(
            "max_near_duplicate_share",
            MaxRate,
            "Highest share of examples that repeat another's text up to numbers and punctuation.",
        ),
        GateDeclaration(
            "max_split_leakage", MaxRate, "Highest share of validation and test examples whose text is also in train."
        ),
        GateDeclaration(
            "max_label_issue_share",
            MaxRate,
            "Highest share of examples whose label confident learning finds probably wrong (out-of-sample "
            "probabilities of a small text model, 5-fold).",
        ),
    )
}


#: gates known under an earlier name, and what they are declared as now
RENAMED = {
    "min_non_english_share": "min_share_outside_language: {reference: en, min: ...}",
    "required_channels": "required_values: {column: <the segment column>, values: [...], min_share: ...}",
}


def gate_fits(name: str, params: GateParams, segments: list[str], *, timestamp: bool, language: bool) -> list[str]:
    """What keeps a declared gate from being measured on a dataset with these segment columns and
    roles (`timestamp`, `language`: declared or not), as `gates.<gate>...: why` lines; [] if it fits."""
    declaration, problems = DECLARED[name], []
    for role in declaration.needs:
        if role == "timestamp" and not timestamp:
            problems.append(f"gates.{name} needs columns.timestamp, which is declared absent (null)")
        if role == "claimed_language" and not language:
            problems.append(f"gates.{name} needs a declared columns.language (a claimed language to compare with)")
    column = getattr(params, "column", None)
    if declaration.segment == "column" and column not in segments:
        problems.append(f"gates.{name}.column: {column!r} is not a segment column (declared: {', '.join(segments)})")
    return problems


def segment_column(name: str, params: GateParams, label: str, language: str) -> str | None:
    """The column a gate's failing segments name (`label` and `language`: the dataset's columns of
    those roles); None for a gate whose shortfalls name no segment."""
    segment = DECLARED[name].segment
    if segment == "label":
        return label
    if segment == "language_column":
        return language
    return getattr(params, "column", None) if segment == "column" else None


class GateDeclarationError(ValueError):
    """A dataset's `gates:` names an unknown gate or parameter; the message names dataset, gate and parameter."""


def parse_gates(raw: Any, dataset: str | None = None) -> dict[str, GateParams]:
    """Validate a `gates:` mapping against the declarations, in declaration order.

    Returns gate name -> its validated parameters (a gate set to null is left out). Raises
    GateDeclarationError naming the dataset (when known) and each wrong place as
    `gates.<gate>.<parameter>`."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise GateDeclarationError(f"{_where(dataset)}`gates:` must map gate names to their parameters")
    problems: list[str] = []
    parsed: dict[str, GateParams] = {}
    for name, value in raw.items():
        declaration = DECLARED.get(str(name))
        if declaration is None and str(name) in RENAMED:
            problems.append(f"gates.{name}: renamed; declare it as {RENAMED[str(name)]}")
        elif declaration is None:
            near = difflib.get_close_matches(str(name), DECLARED, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            problems.append(f"gates.{name}: not a gate ({hint}gates: {', '.join(DECLARED)})")
        elif isinstance(value, GateParams):
            parsed[declaration.name] = declaration.params.model_validate(value.model_dump())
        elif value is not None:
            try:
                parsed[declaration.name] = declaration.params.model_validate(value)
            except ValidationError as error:
                problems += [_problem(e, declaration) for e in error.errors()]
    if problems:
        raise GateDeclarationError(_where(dataset) + "; ".join(problems))
    return {name: parsed[name] for name in DECLARED if name in parsed}


def _where(dataset: str | None) -> str:
    return f"dataset {dataset!r}: " if dataset else ""


def _problem(error: Mapping[str, Any], declaration: GateDeclaration) -> str:
    """`gates.<gate>.<parameter>: what is wrong`, as the YAML spells the place."""
    where = ".".join(["gates", declaration.name, *(str(p) for p in error["loc"])])
    takes = ", ".join(declaration.params.model_fields)
    if error["type"] == "extra_forbidden":
        return f"{where}: not a parameter of gate {declaration.name} (it takes: {takes})"
    if error["type"] == "model_type":
        return f"{where}: expected the gate's parameters as a mapping (it takes: {takes})"
    return f"{where}: {error['msg']}"


def gates_json_schema(schema: dict[str, Any]) -> None:
    """JSON Schema of `gates:` (for `dg check defs` and editors): each declared gate's parameters."""
    schema.clear()
    schema.update(
        type="object",
        additionalProperties=False,
        properties={d.name: d.params.model_json_schema() | {"description": d.measures} for d in DECLARED.values()},
    )
