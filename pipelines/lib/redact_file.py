"""Redacting an export file (CSV, JSONL or Parquet) with a dataset's redaction policy."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.lib.accounting import sum_counts
from pipelines.lib.files import read_table
from pipelines.lib.redaction import redact

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class RedactFileError(ValueError):
    """The file cannot be redacted as asked."""


def file_format(path: Path) -> str:
    """csv, jsonl or parquet, from the file's suffix."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise RedactFileError(f"{path}: unknown format {path.suffix!r}; use one of {sorted(FORMATS)}") from None


def redact_file(source: Path, target: Path, fields: list[str], pii_types: list[str]) -> dict[str, int]:
    """Write `source` to `target` with PII in `fields` replaced; returns replacements per type."""
    if source.resolve() == target.resolve():
        raise RedactFileError(f"{source}: write the redacted copy to another file; the original is left as it is")
    if target.exists():
        raise RedactFileError(f"{target} exists; choose a new output file")
    table = _read(source)
    missing = [f for f in fields if f not in table.column_names]
    if missing:
        raise RedactFileError(f"{source}: no field(s) {missing}; fields are {table.column_names}")
    totals = []
    for field in fields:
        column = table[field]
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())
        result = redact(column, pii_types)
        totals.append(result.replaced)
        table = table.set_column(table.column_names.index(field), field, result.text.cast(pa.string()))
    _write(table, target, file_format(target))
    return sum_counts(totals)


def _read(path: Path) -> pa.Table:
    kind = file_format(path)
    if not path.is_file():
        raise RedactFileError(f"{path}: no such file")
    try:
        return read_table(path, kind)
    except (pa.ArrowInvalid, OSError) as error:
        raise RedactFileError(f"{path}: cannot be read as {kind}: {error}") from None


def _write(table: pa.Table, path: Path, kind: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if kind == "csv":
        pacsv.write_csv(table, tmp)
    elif kind == "jsonl":
        import json

        with tmp.open("w", encoding="utf-8") as handle:
            for batch in table.to_batches(65_536):
                for row in batch.to_pylist():
                    handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    else:
        pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
