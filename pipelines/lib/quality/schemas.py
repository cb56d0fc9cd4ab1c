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
from pipelines.lib.spec import DatasetSpec

PSEUDONYM = r"^[0-9a-f]{20}$"


def raw_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Typed rows of a raw source: required fields present, labels known, ids unique."""
    c = spec.columns
    return pa.DataFrameSchema(
        {
            c.id: pa.Column(str, unique=True, nullable=False),
            c.user: pa.Column(str, nullable=False),
            c.timestamp: pa.Column("datetime64[us, UTC]", nullable=False),
            spec.labels.column: pa.Column(
                str, pa.Check.isin(spec.labels.classes, error="label is one of the declared classes")
            ),
            **{name: pa.Column(str, nullable=True) for name in c.text + c.attributes},
        },
        strict=False,
        name=f"{spec.name}.raw",
    )


def redacted_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Minimised, redacted rows: exactly the allowed columns, ids pseudonymised."""
    c = spec.columns
    columns = {
        c.id: pa.Column(str, unique=True, nullable=False),
        c.user: pa.Column(
            str, pa.Check.str_matches(PSEUDONYM, error="user id is a 20-hex-digit pseudonym"), nullable=False
        ),
        c.timestamp: pa.Column("datetime64[us, UTC]", nullable=False),
        **{name: pa.Column(str, nullable=True) for name in c.attributes},
        **{name: pa.Column(str, nullable=False) for name in c.text},
        spec.labels.column: pa.Column(
            str, pa.Check.isin(spec.labels.classes, error="label is one of the declared classes")
        ),
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=f"{spec.name}.redacted")


def training_set_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """The released rows: the redacted contract plus the split column."""
    split = pa.Column(str, pa.Check.isin(list(SPLITS), error="split is train, validation or test"))
    return redacted_schema(spec).add_columns({"split": split}).set_name(f"{spec.name}.training_set")


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
