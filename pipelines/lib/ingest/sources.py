"""Reading one day of a landed source into typed rows, with every unusable row quarantined.

A problem with the source as a whole (missing file, missing column) raises `SourceError` naming
the source, the file and what was expected. A problem with a single row never raises: the row
goes to quarantine with a reason code and its location, and no text (text may hold PII; the
landed file is never modified, so the location is enough to find it).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.hashing import file_sha256
from pipelines.lib.ingest.records import POSITION, Records, UnreadableFile, read_records
from pipelines.lib.ingest.timestamps import future_after, parse_timestamps
from pipelines.lib.spec import DatasetSpec, SourceSpec

#: `record_id` is the record's value of the dataset's id column (`columns.id`), whatever its name
QUARANTINE_COLUMNS = ["source", "file", "row", "line", "record_id", "reason"]
#: a name shown in an error about the columns found: a file without its header line has a record
#: where the names should be, and its values (emails, names) must not reach the message
COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


class SourceError(RuntimeError):
    """A landed source cannot be read as declared."""


@dataclass(frozen=True)
class LandedDays:
    """Typed rows of several landed days, the rows set aside, and each file's fingerprint.

    `rows` and `quarantine` carry a `partition` column; `files` maps partition -> (path, sha256,
    records read); `blank` maps partition -> records whose every field was empty (counted among
    the records read, neither landed nor quarantined).
    """

    rows: pd.DataFrame
    quarantine: pd.DataFrame
    files: dict[str, tuple[str, str, int]]
    blank: dict[str, int]


def landing_file(root: Path, source: SourceSpec, partition: str) -> Path:
    """The file a source is expected to land for one day."""
    return root / source.path / f"{partition}.{source.format}"


def read_days(
    root: Path,
    spec: DatasetSpec,
    source: SourceSpec,
    partitions: list[str],
    *,
    as_of: date,
    known_ids: pd.Series | None = None,
) -> LandedDays:
    """Read and validate days of `source` in one batch; raises SourceError only for source-level
    problems. Row checks run once over all days, so duplicates across days are caught too;
    `known_ids` (ids landed earlier, outside this batch) are duplicates as well. A timestamp at or
    after the end of the run's `as_of` day (`timestamps.future_after`) is `future_timestamp`."""
    frames, malformed, files, blank = [], [], {}, {}
    for partition in partitions:
        path = landing_file(root, source, partition)
        relative = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        records = _read_day(path, relative, spec, source, partition)
        frames.append(records.rows.assign(partition=partition))
        malformed.append(records.malformed.assign(partition=partition))
        files[partition] = (relative, file_sha256(path), records.count)
        blank[partition] = records.blank
    if not frames:
        raise ValueError(f"source {source.name!r}: no partitions to read")
    frame = pd.concat(frames, ignore_index=True)
    # A dataset may declare no timestamp column: nothing to parse, nothing in the future.
    timestamp = spec.columns.timestamp
    parsed = parse_timestamps(frame[timestamp], source.timezone) if timestamp else None
    reasons = _row_reasons(frame, spec, parsed, future_after(as_of), known_ids)
    bad = reasons.notna()
    unparsed = pd.concat(malformed, ignore_index=True)
    quarantine = pd.DataFrame(
        {
            "partition": pd.concat([frame.loc[bad, "partition"], unparsed["partition"]], ignore_index=True),
            "row": pd.concat([frame.loc[bad, "row"], unparsed["row"]], ignore_index=True).astype("int64"),
            "line": pd.concat([frame.loc[bad, "line"], unparsed["line"]], ignore_index=True).astype("int64"),
            "record_id": pd.concat([frame.loc[bad, spec.columns.id], unparsed["id"]], ignore_index=True),
            "reason": pd.concat([reasons[bad], unparsed["reason"]], ignore_index=True),
        }
    ).astype({"record_id": "str", "reason": "str", "partition": "str"})
    quarantine.insert(0, "source", source.name)
    quarantine.insert(1, "file", quarantine["partition"].map({p: f[0] for p, f in files.items()}).astype("str"))
    quarantine = quarantine.sort_values(["partition", "row"], kind="stable").reset_index(drop=True)
    rows = frame.loc[~bad].drop(columns=["row", "line"]).reset_index(drop=True)
    if parsed is not None:
        rows[spec.columns.timestamp] = parsed[~bad].reset_index(drop=True)
    return LandedDays(rows=rows, quarantine=quarantine, files=files, blank=blank)


def _read_day(path: Path, relative: str, spec: DatasetSpec, source: SourceSpec, partition: str) -> Records:
    if not path.is_file():
        raise SourceError(
            f"source {source.name!r}, partition {partition}: expected file {relative} "
            f"({source.format}, one file per day) but it does not exist. Land the day's export "
            "there, or materialize only the partitions that have landed."
        )
    records = _read_records(path, spec, source, relative)
    required = spec.kept_columns
    found = [c for c in records.rows.columns if c not in POSITION]
    if source.format == "jsonl" and len(records.rows) == 0:
        # JSONL has no header: with no parsed record there are no columns to check.
        return Records(
            records.rows.assign(**{c: pd.Series(dtype="str") for c in required if c not in found}), records.malformed
        )
    missing = [c for c in required if c not in found]
    if missing:
        raise SourceError(
            f"source {source.name!r}, file {relative}: missing column(s) {missing}; found "
            f"{_shown(found)}.{_near(missing, found)} The spec's `columns:` and `labels.column` name what is "
            "expected (for CSV, check the header line and the source's `delimiter:`)."
        )
    return records


def _read_records(path: Path, spec: DatasetSpec, source: SourceSpec, relative: str) -> Records:
    what = f"source {source.name!r}, file {relative}: cannot be read as {source.format}"
    try:
        if source.format == "parquet":
            _check_parquet_types(pq.read_schema(path), spec, f"source {source.name!r}, file {relative}")
        return read_records(path, source.format, spec.columns.id, encoding=source.encoding, delimiter=source.delimiter)
    except (UnreadableFile, pa.ArrowInvalid, OSError) as error:
        raise SourceError(f"{what}: {error}. Check the export, or re-land the file.") from None


def _check_parquet_types(schema: pa.Schema, spec: DatasetSpec, where: str) -> None:
    """A typed export whose columns changed type (an epoch number for the timestamp, a code for
    the label) is a source problem, not thousands of bad rows."""
    c = spec.columns
    expected = {c.timestamp: "a timestamp or ISO-8601 text"} if c.timestamp else {}
    expected[spec.labels.column] = "text"
    expected |= {name: "text" for name in spec.kept_columns[1:-1] if name not in (c.user, c.timestamp)}
    changed = []
    for name, wanted in expected.items():
        if name not in schema.names:
            continue  # reported as a missing column
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        textual = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
        if not (textual or (name == c.timestamp and pa.types.is_timestamp(kind))):
            changed.append(f"{name} is {kind}, expected {wanted}")
    if changed:
        raise SourceError(f"{where}: column types changed: {'; '.join(changed)}. Fix the export, or re-land the file.")


def _near(missing: list[str], found: list[str]) -> str:
    """` Did you mean 'Ticket ID' for 'Ticket Id'?`: a found name close to a declared one (so a
    name, never a record's value, whatever its shape); empty when none is close."""
    lowered = {name.lower(): name for name in found}
    pairs = []
    for name in missing:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
        if close:
            pairs.append(f"{lowered[close[0]]!r} for {name!r}")
    return f" Did you mean {', '.join(pairs)}?" if pairs else ""


def _shown(names: list[str]) -> list[str]:
    # (Three digits in a row: more often a record's id or phone than a column's name.)
    return [name if COLUMN_NAME.fullmatch(name) and not re.search(r"\d{3}", name) else "<not shown>" for name in names]


def _row_reasons(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    parsed: pd.Series | None,
    future: pd.Timestamp,
    known_ids: pd.Series | None,
) -> pd.Series:
    """The first reason each row cannot be used, or NA. `parsed` is the timestamp column as UTC
    instants (None: the dataset has none); `future` the first instant that is in the future.
    Checked in order; vectorised."""
    c = spec.columns
    reasons = pd.Series(pd.NA, index=frame.index, dtype="str")

    def mark(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    required = [name for name in (c.id, c.user, c.timestamp, spec.labels.column) if name is not None]
    blank = {name: frame[name].fillna("").str.strip() == "" for name in dict.fromkeys([*required, *c.text])}
    missing = np.logical_or.reduce([blank[name].to_numpy() for name in required])
    mark(pd.Series(missing, index=frame.index), "missing_required_field")
    if parsed is not None:
        mark(parsed.isna(), "unparseable_timestamp")
        mark(parsed >= future, "future_timestamp")
    mark(~frame[spec.labels.column].isin(spec.labels.classes), "unknown_label")
    all_text_blank = np.logical_and.reduce([blank[t].to_numpy() for t in c.text])
    mark(pd.Series(all_text_blank, index=frame.index), "empty_text")
    too_long = np.logical_or.reduce([frame[t].str.len().fillna(0).to_numpy() > c.max_text_chars for t in c.text])
    mark(pd.Series(too_long, index=frame.index), "oversize_text")
    duplicate = frame[c.id].duplicated(keep="first")
    if known_ids is not None and len(known_ids):
        duplicate |= frame[c.id].isin(known_ids)
    mark(duplicate, "duplicate_id")
    return reasons
