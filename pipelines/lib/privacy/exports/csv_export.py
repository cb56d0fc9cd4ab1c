"""Redacting a CSV export through Arrow: every column read as text (nothing re-typed), the chosen
ones redacted, the file written back with the same delimiter, line ending and byte-order mark.

Values are quoted only where they must be (Python's QUOTE_MINIMAL: a value holding the
delimiter, a quote or a line break), as most exports are written; Arrow's own writer quotes every
text value, empty ones too. A file already written so is redacted in place, only the changed
values written again (csv_in_place); any other is streamed in record batches, parsed by Arrow and
written again with Arrow kernels, where a record that cannot be read is named by its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.lib.privacy.exports.csv_fields import CsvDialect, NotAsRewritten, written
from pipelines.lib.privacy.exports.csv_in_place import redact_in_place
from pipelines.lib.privacy.exports.export_redaction import (
    FileSummary,
    RedactFileError,
    RedactionPolicy,
    UnreadableExportError,
    batch_size,
    in_order,
    redact_values,
    shown_names,
)

BOM = b"\xef\xbb\xbf"
#: the delimiters a sniffed header may use, the first winning a tie
DELIMITERS = ",;\t|"
#: bytes per block the reader parses and hands on as one batch, at least and at most
#: (export_redaction.batch_size)
BLOCK_BYTES, MAX_BLOCK_BYTES = 8 << 20, 32 << 20


def sniff(source: Path, delimiter: str | None = None) -> CsvDialect:
    """The dialect of `source`, from its first line: the delimiter (unless given) is the most
    frequent of DELIMITERS outside quotes; the line ending is that of the first line."""
    with source.open("rb") as handle:
        head = handle.read(1 << 20)
    bom = head.startswith(BOM)
    text = _decoded(source, head.removeprefix(BOM), partial=True)
    first = text.split("\n", 1)[0]
    eol = "\r\n" if first.endswith("\r") else "\n"
    if delimiter is None:
        outside = "".join(first.split('"')[0::2])  # drop the quoted parts
        delimiter = max(DELIMITERS, key=lambda d: (outside.count(d), -DELIMITERS.index(d)))
    if len(delimiter) != 1:
        raise RedactFileError(f"{source}: the delimiter must be one character, not {delimiter!r}")
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    if not header:
        raise UnreadableExportError(f"{source}: empty; a CSV export starts with a header line")
    return CsvDialect(delimiter, eol, bom, header)


def redact_csv(
    source: Path, target: BinaryIO, fields: list[str], policy: RedactionPolicy, delimiter: str | None = None
) -> FileSummary:
    """Write `source` redacted in `fields` to `target`; returns the counts."""
    dialect = sniff(source, delimiter)
    missing = [f for f in fields if f not in dialect.header]
    if missing:
        raise RedactFileError(
            f"{source}: no field(s) {missing}; its fields are {shown_names(dialect.header)} "
            f"(delimiter {dialect.delimiter!r}: if that is wrong, give --delimiter). Name them with --field."
        )
    twice = sorted({f for f in fields if dialect.header.count(f) > 1})
    if twice:
        raise RedactFileError(f"{source}: the header names {twice} more than once; rename the columns apart")
    if dialect.delimiter.isascii() and dialect.delimiter not in '"\r\n':  # one byte, not a quote or line break
        try:
            return redact_in_place(source, target, fields, policy, dialect)
        except NotAsRewritten:  # parsed and written again, from the start
            target.seek(0)
            target.truncate()
    return _redact_rewritten(source, target, fields, policy, dialect)


def _redact_rewritten(
    source: Path, target: BinaryIO, fields: list[str], policy: RedactionPolicy, dialect: CsvDialect
) -> FileSummary:
    """Every record parsed by Arrow and written again."""
    unclosed = _unclosed_quote(source, dialect)
    if unclosed:
        raise unclosed
    summary = FileSummary()
    reader = _open(source, dialect)
    if dialect.bom:
        target.write(BOM)
    target.write(_records([pa.array([name], pa.large_string()) for name in dialect.header], dialect))
    batches = _batches(source, dialect, reader)
    for data, counts in in_order(lambda b: _redact_batch(b, fields, policy, dialect), batches):
        target.write(data)
        summary.add(counts)
    return summary


def _records(columns: list[pa.Array], dialect: CsvDialect) -> pa.Buffer:
    """The CSV text of the records whose fields are `columns` (strings, nulls written empty),
    each ended by the dialect's line ending."""
    fields = [written(column.cast(pa.large_string()), dialect, len(columns) == 1) for column in columns]
    end = pa.scalar(dialect.eol, pa.large_string())
    lines = pc.binary_join_element_wise(*fields, pa.scalar(dialect.delimiter, pa.large_string()))
    lines = pc.binary_join_element_wise(lines, end, _EMPTY)
    offsets = np.frombuffer(lines.buffers()[1], np.int64, len(lines) + 1, lines.offset * 8)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]


_EMPTY = pa.scalar("", pa.large_string())


def _batches(source: Path, dialect: CsvDialect, reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            _raise_for_row(source, dialect, str(error))


def _open(source: Path, dialect: CsvDialect) -> pacsv.CSVStreamingReader:
    try:
        return pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=batch_size(source.stat().st_size, BLOCK_BYTES, MAX_BLOCK_BYTES)),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
            # Text as it is: empty stays empty (not null), "007" stays "007".
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in dialect.header}),
        )
    except pa.ArrowInvalid as error:
        _raise_for_row(source, dialect, str(error))


def _redact_batch(
    batch: pa.RecordBatch, fields: list[str], policy: RedactionPolicy, dialect: CsvDialect
) -> tuple[pa.Buffer, FileSummary]:
    summary = FileSummary(records=batch.num_rows)
    columns = [batch.schema.get_field_index(name) for name in fields]
    values = pa.concat_arrays([batch.column(i).cast(pa.large_string()) for i in columns])
    redacted = redact_values(values, policy, summary)
    arrays = list(batch.columns)
    for n, i in enumerate(columns):
        arrays[i] = redacted.slice(n * batch.num_rows, batch.num_rows)
    return _records(arrays, dialect), summary


def _decoded(source: Path, data: bytes, partial: bool = False) -> str:
    """`data` as UTF-8, or an error naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if partial and error.start >= len(data) - 3:  # a character cut by the end of the sample
            return data[: error.start].decode("utf-8")
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableExportError(
            f"{source}, line {line}: not UTF-8 (byte {data[error.start]:#04x}); convert the file to "
            "UTF-8 (e.g. iconv -f cp1252 -t utf-8) and run again"
        ) from None


def _raise_for_row(source: Path, dialect: CsvDialect, problem: str) -> NoReturn:
    """Raise the error for the first bad record, or one quoting Arrow's message."""
    # Arrow's message may go on to quote the record it stopped at: only its first clauses are kept.
    cause = ": ".join(problem.split(": ")[:2])
    raise _first_bad_record(source, dialect) or UnreadableExportError(f"{source}: cannot be read as CSV: {cause}")


def _unclosed_quote(source: Path, dialect: CsvDialect) -> UnreadableExportError | None:
    """The error for a quote opened and never closed: Arrow reads the rest of the file into that
    value, silently. Quotes come in pairs in a well-quoted file, so Python's reader (slow) looks
    only at a file with an odd number of them (a stray quote inside an unquoted value is fine)."""
    with pa.memory_map(str(source)) as mapped:
        data = np.frombuffer(mapped.read_buffer(), np.uint8)
        step = 1 << 23
        quotes = sum(int(np.count_nonzero(data[at : at + step] == ord('"'))) for at in range(0, len(data), step))
    return _first_bad_record(source, dialect) if quotes % 2 else None


def _first_bad_record(source: Path, dialect: CsvDialect) -> UnreadableExportError | None:
    """The error for the first record Python's csv reader finds wrong (Arrow's messages name no
    line); only on the way to an error, or for a file with an odd number of quotes."""
    text = _decoded(source, source.read_bytes().removeprefix(BOM))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, strict=True)
    line = 1
    try:
        for row in rows:
            if row and len(row) != len(dialect.header):
                return UnreadableExportError(
                    f"{source}, line {line}: {len(row)} fields where the header has {len(dialect.header)} "
                    f"(delimiter {dialect.delimiter!r}); quote values that hold the delimiter, or give "
                    "--delimiter"
                )
            line = rows.line_num + 1
    except csv.Error as error:
        return UnreadableExportError(
            f"{source}, line {line}: {error}: a quote opened there is never closed; close it or remove it"
        )
    return None
