"""Redacting an export file (CSV, JSONL or Parquet) with a dataset's redaction policy.

Each format is read and written through Arrow, column by column, and written back in the same
format: CSV and Parquet in record batches, JSONL in chunks of lines spliced in place. The output
is written beside the target and renamed into place, so it never exists half-written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.privacy.exports.csv_export import redact_csv
from pipelines.lib.privacy.exports.export_redaction import (
    FileSummary,
    RedactFileError,
    RedactionPolicy,
    UnreadableExportError,
    batch_size,
    changed,
    in_order,
    redact_values,
)
from pipelines.lib.privacy.exports.jsonl_export import redact_jsonl

#: rows redacted at once, at least and at most (export_redaction.batch_size); each batch is
#: written as a row group
SLICE_ROWS, MAX_SLICE_ROWS = 65_536, 262_144
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
__all__ = ["FORMATS", "FileSummary", "RedactFileError", "file_format", "redact_file"]


def file_format(path: Path) -> str:
    """csv, jsonl or parquet, from the file's suffix."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise RedactFileError(f"{path}: unknown format {path.suffix!r}; use one of {sorted(FORMATS)}") from None


def redact_file(
    source: Path,
    target: Path,
    fields: Sequence[str],
    pii_types: Sequence[str],
    regions: Sequence[str] | None = None,
    delimiter: str | None = None,
) -> FileSummary:
    """Write `source` to `target` (same format) with PII in `fields` replaced by placeholders.

    `regions` (ISO 3166 codes) are where national phone numbers are read; `delimiter` is the CSV
    delimiter (default: sniffed from the header). Returns counts per PII type and of the values
    that were not text."""
    kind = file_format(source)
    if file_format(target) != kind:
        raise RedactFileError(f"{target}: write a {kind} file, as {source} is ({source.suffix} for both)")
    if not source.is_file():
        raise RedactFileError(f"{source}: no such file")
    if source.resolve() == target.resolve():
        raise RedactFileError(f"{source}: write the redacted copy to another file; the original is left as it is")
    if target.exists():
        raise RedactFileError(f"{target} exists; choose a new output file")
    if not fields:
        raise RedactFileError(f"{source}: no field to redact; name one with --field")
    policy = RedactionPolicy(tuple(pii_types), tuple(regions) if regions else None)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with tmp.open("wb") as out:
            summary = _redact(kind, source, out, list(dict.fromkeys(fields)), policy, delimiter)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    summary.replaced = Counter({pii_type: summary.replaced[pii_type] for pii_type in pii_types})
    return summary


def _redact(
    kind: str, source: Path, out: BinaryIO, fields: list[str], policy: RedactionPolicy, delimiter: str | None
) -> FileSummary:
    if kind == "jsonl":
        return redact_jsonl(source, out, fields, policy)
    if kind == "csv":
        return redact_csv(source, out, fields, policy, delimiter)
    return _redact_parquet(source, out, fields, policy)


def _redact_parquet(source: Path, out: BinaryIO, fields: list[str], policy: RedactionPolicy) -> FileSummary:
    """Batch by batch, into a file with the same schema (and metadata) and codec."""
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableExportError(f"{source}: cannot be read as Parquet ({error}); is it a Parquet file?") from None
    schema = parquet.schema_arrow
    missing = [f for f in fields if f not in schema.names]
    if missing:
        raise RedactFileError(
            f"{source}: no field(s) {missing}; its fields are {schema.names}. Name them with --field."
        )
    twice = sorted({f for f in fields if len(schema.get_all_field_indices(f)) > 1})
    if twice:
        raise RedactFileError(f"{source}: the schema names {twice} more than once; rename the columns apart")
    not_text = {f: str(schema.field(f).type) for f in fields if not _is_text(schema.field(f).type)}
    if not_text:
        text = [f.name for f in schema if _is_text(f.type)]
        raise RedactFileError(f"{source}: field(s) {not_text} do not hold text; text fields are {text}")
    with pq.ParquetWriter(out, schema, compression=_codec(parquet.metadata)) as writer:
        # Batches of rows whatever the row groups: memory stays bounded by the batch. Read on one
        # thread: the two workers redacting batches already keep both cores busy.
        rows = batch_size(parquet.metadata.num_rows, SLICE_ROWS, MAX_SLICE_ROWS)
        batches = (pa.Table.from_batches([b]) for b in parquet.iter_batches(batch_size=rows, use_threads=False))
        summary = FileSummary()
        for table, counts in in_order(lambda t: _redact_table(t, fields, policy), batches):
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            summary.add(counts)
    return summary


def _codec(metadata: pq.FileMetaData) -> str:
    """The compression of the file's first column chunk, as the writer names it (LZO, which it
    cannot write: snappy)."""
    if not metadata.num_row_groups or not metadata.num_columns:
        return "snappy"
    codec = metadata.row_group(0).column(0).compression
    return {"UNCOMPRESSED": "none", "LZO": "snappy"}.get(codec, codec).lower()


def _redact_table(table: pa.Table, fields: list[str], policy: RedactionPolicy) -> tuple[pa.Table, FileSummary]:
    summary = FileSummary(records=table.num_rows)
    values = pa.concat_arrays([table[f].combine_chunks().cast(pa.large_string()) for f in fields])
    redacted = redact_values(values, policy, summary)
    for n, name in enumerate(fields):
        before = values.slice(n * table.num_rows, table.num_rows)
        after = redacted.slice(n * table.num_rows, table.num_rows)
        summary.not_text["null (kept)"] += before.null_count
        if changed(before, after).any():
            i = table.schema.get_field_index(name)
            table = table.set_column(i, table.schema.field(i), after.cast(table.schema.field(i).type))
    return table, summary


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
