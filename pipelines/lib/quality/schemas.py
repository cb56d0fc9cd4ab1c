"""pandera contracts at each boundary of the asset graph.

The schema after `redacted` is strict: it is also the column allow-list of minimisation, so a
column that should have been dropped fails the contract. Failure reports carry counts per check
and column, never the failing values (they may hold PII).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from pipelines.lib.quality.splits import SPLITS
from pipelines.lib.reports import LABEL_SOURCES, ContractResult
from pipelines.lib.spec import DETECTED_LANGUAGE, SOURCE_COLUMN, DatasetSpec

PSEUDONYM = r"^[0-9a-f]{20}$"


def raw_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Typed rows of a raw source: required fields present, labels known, ids unique."""
    c = spec.columns
    columns = {spec.id_column: pa.Column(str, unique=True, nullable=False)}
    if c.user:
        columns[c.user] = pa.Column(str, nullable=False)
    if c.timestamp:
        columns[c.timestamp] = pa.Column("datetime64[us, UTC]", nullable=False)
    columns[spec.labels.column] = _label(spec, nullable=spec.labeling is not None)
    columns |= {name: pa.Column(str, nullable=True) for name in c.text + _segments(spec)}
    return pa.DataFrameSchema(columns, strict=False, name=f"{spec.name}.raw")


def redacted_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Minimised, redacted rows: exactly the allowed columns, ids pseudonymised."""
    c = spec.columns
    columns = {spec.id_column: pa.Column(str, unique=True, nullable=False)}
    sources = [source.name for source in spec.sources]
    columns[SOURCE_COLUMN] = pa.Column(str, pa.Check.isin(sources, error="source_name is a declared source"))
    if c.user:
        columns[c.user] = pa.Column(str, nullable=False)
    if c.timestamp:
        columns[c.timestamp] = pa.Column("datetime64[us, UTC]", nullable=False)
    columns |= {name: pa.Column(str, nullable=True) for name in _segments(spec)}
    columns |= {name: pa.Column(str, nullable=False) for name in c.text}
    columns[spec.labels.column] = _label(spec, nullable=spec.labeling is not None)
    for name in spec.pseudonymized_columns:
        columns[name] = pa.Column(
            str, pa.Check.str_matches(PSEUDONYM, error=f"{name} is a 20-hex-digit pseudonym"), nullable=name != c.user
        )
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=f"{spec.name}.redacted")


def _label(spec: DatasetSpec, nullable: bool) -> pa.Column:
    """The label column: one of the declared classes; missing (a labeling candidate) only before
    `labeled`, and only when the spec declares labeling."""
    return pa.Column(
        str, pa.Check.isin(spec.labels.classes, error="label is one of the declared classes"), nullable=nullable
    )


def _segments(spec: DatasetSpec) -> list[str]:
    """The declared language column (if any) and the segment columns, in minimisation's order."""
    return [*([spec.columns.language] if spec.columns.language else []), *spec.columns.segments]


def labeled_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Labelled rows: the redacted contract, every label present, and the label's provenance."""
    provenance = {
        "label_source": pa.Column(str, pa.Check.isin(list(LABEL_SOURCES), error="label_source is a known source")),
        "label_how": pa.Column(str),
        "label_annotators": pa.Column("int64", pa.Check.ge(0)),
        "label_batch": pa.Column(str),
        "label_ref": pa.Column(str),
        "label_model_version": pa.Column(str),
    }
    schema = redacted_schema(spec).update_column(spec.labels.column, nullable=False)
    return schema.add_columns(provenance).set_name(f"{spec.name}.labeled")


def training_set_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """The released rows: the labelled contract plus the detected language (when no language
    column is declared) and the split column."""
    added = {}
    if spec.columns.language is None:
        added[DETECTED_LANGUAGE] = pa.Column(str, nullable=False)
    added["split"] = pa.Column(str, pa.Check.isin(list(SPLITS), error="split is train, validation or test"))
    return labeled_schema(spec).add_columns(added).set_name(f"{spec.name}.training_set")


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
