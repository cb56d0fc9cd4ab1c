"""pandera contracts at each boundary of the asset graph.

The schema after `redacted` is strict: it is also the column allow-list of minimisation, so a
column that should have been dropped fails the contract. Failure reports carry counts per check
and column, never the failing values (they may hold PII).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from pipelines.lib.quality.splits import SPLITS
from pipelines.lib.reports import ContractResult
from pipelines.lib.spec import DETECTED_LANGUAGE, DatasetSpec

PSEUDONYM = r"^[0-9a-f]{20}$"


def raw_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Typed rows of a raw source: required fields present, labels known, ids unique."""
    c = spec.columns
    columns = {spec.id_column: pa.Column(str, unique=True, nullable=False)}
    if c.user:
        columns[c.user] = pa.Column(str, nullable=False)
    if c.timestamp:
        columns[c.timestamp] = pa.Column("datetime64[us, UTC]", nullable=False)
    columns[spec.labels.column] = pa.Column(
        str, pa.Check.isin(spec.labels.classes, error="label is one of the declared classes")
    )
    columns |= {name: pa.Column(str, nullable=True) for name in c.text + _segments(spec)}
    return pa.DataFrameSchema(columns, strict=False, name=f"{spec.name}.raw")


def redacted_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Minimised, redacted rows: exactly the allowed columns, ids pseudonymised."""
    c = spec.columns
    columns = {spec.id_column: pa.Column(str, unique=True, nullable=False)}
    if c.user:
        columns[c.user] = pa.Column(str, nullable=False)
    if c.timestamp:
        columns[c.timestamp] = pa.Column("datetime64[us, UTC]", nullable=False)
    columns |= {name: pa.Column(str, nullable=True) for name in _segments(spec)}
    columns |= {name: pa.Column(str, nullable=False) for name in c.text}
    columns[spec.labels.column] = pa.Column(
        str, pa.Check.isin(spec.labels.classes, error="label is one of the declared classes")
    )
    for name in spec.pseudonymized_columns:
        columns[name] = pa.Column(
            str, pa.Check.str_matches(PSEUDONYM, error=f"{name} is a 20-hex-digit pseudonym"), nullable=name != c.user
        )
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=f"{spec.name}.redacted")


def _segments(spec: DatasetSpec) -> list[str]:
    """The declared language column (if any) and the segment columns, in minimisation's order."""
    return [*([spec.columns.language] if spec.columns.language else []), *spec.columns.segments]


def training_set_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """The released rows: the redacted contract plus the detected language (when no language
    column is declared) and the split column."""
    added = {}
    if spec.columns.language is None:
        added[DETECTED_LANGUAGE] = pa.Column(str, nullable=False)
    added["split"] = pa.Column(str, pa.Check.isin(list(SPLITS), error="split is train, validation or test"))
    return redacted_schema(spec).add_columns(added).set_name(f"{spec.name}.training_set")


def validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> ContractResult:
    """Validate lazily and summarise without echoing any value: failing rows counted per
    `column / check`."""
    name = schema.name or "schema"
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        where = cases["column"].astype("str").fillna("<frame>") + " / " + cases["check"].astype("str")
        failures = {str(k): int(n) for k, n in where.value_counts().items()}
        return ContractResult(schema=name, passed=False, failures=failures)
    return ContractResult(schema=name, passed=True)
