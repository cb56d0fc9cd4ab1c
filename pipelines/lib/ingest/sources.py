"""Landing a source's exports and reading days of it into typed rows, with every unusable row
quarantined.

A problem with an export as a whole (unreadable, missing column) raises `SourceError` naming
the source, the file and what was expected. A problem with a single row never raises: the row
goes to quarantine with a reason code and its location, and no text (text may hold PII; the
landed file is never modified, so the location is enough to find it).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.batches import SeenValues
from pipelines.lib.hashing import file_sha256
from pipelines.lib.ingest.landing import (
    EXPORT,
    LANDING_COLUMNS,
    PROBLEM,
    Export,
    Landing,
    SourceError,
    blank_records,
    export_files,
    land_exports,
    landed_day,
    read_ledger,
)
from pipelines.lib.ingest.language import primary_subtags
from pipelines.lib.ingest.records import POSITION, Records, UnreadableFile, read_records
from pipelines.lib.ingest.timestamps import future_after, parse_timestamps
from pipelines.lib.membership import is_in
from pipelines.lib.spec import DERIVED_ID, DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths

#: `record_id` is the record's value of the dataset's id column (`columns.id`), whatever its name
QUARANTINE_COLUMNS = ["source", "file", "row", "line", "record_id", "reason"]
#: a name shown in an error about the columns found: a file without its header line has a record
#: where the names should be, and its values (emails, names) must not reach the message
COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
#: a name in a line known to be a header: spaces and other scripts allowed (`Ticket ID`, `Erstellt am`)
HEADER_NAME = re.compile(r"[^\W\d][^@\n]{0,63}")


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
    ids: pd.Series  #: the id of every record checked (malformed ones left out), as the checks saw it


def read_export(
    root: Path, spec: DatasetSpec, source: SourceSpec, path: Path, sha256: str, stamp: tuple[int, int] | None = None
) -> Export:
    """One export file's records (malformed ones with their reason); `stamp` is its (size,
    mtime_ns). Raises SourceError when the file as a whole cannot be read, or lacks a declared
    column."""
    relative = _relative(root, path)
    records = _read_records(path, spec, source, relative)
    # The derived id is trainset's: every other declared column must be in the export.
    required = [c for c in spec.kept_columns if c != DERIVED_ID or spec.columns.id is not None]
    found = [c for c in records.rows.columns if c not in POSITION]
    if spec.columns.id is None and DERIVED_ID in found:
        raise SourceError(
            f"source {source.name!r}, file {relative}: has a column {DERIVED_ID!r}, the name trainset gives the id "
            f"it derives when `columns.id` is null. Declare it as `columns.id: {DERIVED_ID}`."
        )
    if source.format == "jsonl" and len(records.rows) == 0:
        # JSONL has no header: with no parsed record there are no columns to check.
        rows = records.rows.assign(**{c: pd.Series(dtype="str") for c in required if c not in found})
        return Export(relative, sha256, Records(rows, records.malformed, records.blank), stamp)
    missing = [c for c in required if c not in found]
    # A header that holds one of the names expected is a header: its names may be shown whole.
    header = bool(set(found) & {*required, *source.rename, *source.rename.values()})
    unmatched = [theirs for theirs, ours in source.rename.items() if ours in missing]
    if unmatched:
        raise SourceError(
            f"source {source.name!r}, file {relative}: `rename:` names export column(s) {unmatched}, which the file "
            f"does not have; found {_shown(found, header)}.{_near(unmatched, found)} Write the export's own names "
            "in `rename:`, as its header line spells them."
        )
    if missing:
        raise SourceError(
            f"source {source.name!r}, file {relative}: missing column(s) {missing}; found "
            f"{_shown(found, header)}.{_near(missing, found)} The spec's `columns:` and `labels.column` name what is "
            "expected (for CSV, check the header line and the source's `delimiter:`)."
        )
    return Export(relative, sha256, records, stamp)


def land_source(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source: SourceSpec,
    *,
    as_of: date,
    now: datetime | None = None,
    write: bool = True,
) -> Landing:
    """Land the source's exports not landed yet (`landing.land_exports`): files by content, oldest
    modification first; a SQL source's rows past its watermark. Returns the exports landed and
    the days changed; `write=False` only tells them. Raises SourceError when an export cannot be
    read, or a SQL source cannot be reached."""
    now = now or datetime.now(UTC)
    if source.kind == "sql":
        from pipelines.lib.ingest.sql_landing import land_sql

        return land_sql(paths, spec, source, as_of=as_of, now=now, write=write)
    exports = read_ledger(paths, source.name).exports
    known = {e.sha256 for e in exports}
    # A file whose name, size and modification time are those it landed with is not hashed again.
    unchanged = {(e.file, e.size, e.mtime_ns) for e in exports}
    pending = []
    for path in export_files(paths.root, source):
        stat = path.stat()
        if (_relative(paths.root, path), stat.st_size, stat.st_mtime_ns) not in unchanged:
            sha = file_sha256(path)
            if sha not in known:
                pending.append((stat.st_mtime_ns, path, sha, (stat.st_size, stat.st_mtime_ns)))
    # Read one at a time as landing asks for them: an export is held in memory only while it is placed.
    new = (read_export(paths.root, spec, source, path, sha, stamp) for _, path, sha, stamp in sorted(pending))
    return land_exports(paths, spec, source, new, as_of=as_of, now=now, write=write)


def _relative(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def read_days(
    root: Path,
    spec: DatasetSpec,
    source: SourceSpec,
    partitions: list[str],
    *,
    as_of: date,
    known_ids: pd.Series | None = None,
    other_ids: pd.Series | None = None,
    now: datetime | None = None,
) -> LandedDays:
    """Land the source's new exports (`land_source`), then read and check days of it in one
    batch (`read_landed_days`); raises SourceError only for source-level problems."""
    land_source(DatasetPaths(root, spec.name), spec, source, as_of=as_of, now=now)
    return read_landed_days(root, spec, source, partitions, as_of=as_of, known_ids=known_ids, other_ids=other_ids)


def read_landed_days(
    root: Path,
    spec: DatasetSpec,
    source: SourceSpec,
    partitions: list[str],
    *,
    as_of: date,
    known_ids: pd.Series | None = None,
    other_ids: pd.Series | None = None,
    earlier: SeenValues | None = None,
) -> LandedDays:
    """Read and check landed days of a source in one batch. Row checks run once over all days,
    so duplicates across days are caught too; `known_ids` (ids landed earlier, outside this
    batch) and the ids of `earlier` batches of the same run are duplicates as well; an id in
    `other_ids` (another source's) is `id_of_another_source`. A timestamp at or after the end of
    the run's `as_of` day (`timestamps.future_after`) is `future_timestamp`."""
    paths = DatasetPaths(root, spec.name)
    if not partitions:
        raise ValueError(f"source {source.name!r}: no partitions to read")
    ledger = read_ledger(paths, source.name)
    frames, files, blank = [], {}, {}
    for partition in partitions:
        day = landed_day(paths, spec, source, partition)
        frames.append(day.assign(partition=partition))
        stored = paths.landed(source.name, partition)
        relative = _relative(root, stored)
        blank[partition] = blank_records(ledger, partition)
        files[partition] = (relative, file_sha256(stored) if stored.is_file() else "", len(day) + blank[partition])
    frame = pd.concat(frames, ignore_index=True)
    for name in spec.kept_columns:  # an export that has landed no record has no columns
        if name not in frame.columns:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype="str")
    if source.id_prefix and spec.columns.id is not None:  # a blank id stays blank: missing_required_field
        ids = frame[spec.id_column]
        frame[spec.id_column] = ids.where(ids.fillna("").str.strip() == "", source.id_prefix + ids)
    unparsed = frame[PROBLEM].notna()
    malformed, frame = frame.loc[unparsed], frame.loc[~unparsed].reset_index(drop=True)
    # A dataset may declare no timestamp column: nothing to parse, nothing in the future.
    timestamp = spec.columns.timestamp
    parsed = parse_timestamps(frame[timestamp], source.timezone) if timestamp else None
    frame, unmapped = mapped_labels(frame, spec.labels.column, source.label_map)
    frame = mapped_values(frame, spec, source)
    reasons = row_reasons(frame, spec, parsed, future_after(as_of), known_ids, unmapped, other_ids, earlier)
    bad = reasons.notna()
    id_column = spec.id_column
    quarantine = pd.DataFrame(
        {
            "partition": pd.concat([frame.loc[bad, "partition"], malformed["partition"]], ignore_index=True),
            "file": pd.concat([frame.loc[bad, EXPORT], malformed[EXPORT]], ignore_index=True),
            "row": pd.concat([frame.loc[bad, "row"], malformed["row"]], ignore_index=True).astype("int64"),
            "line": pd.concat([frame.loc[bad, "line"], malformed["line"]], ignore_index=True).astype("int64"),
            "record_id": pd.concat([frame.loc[bad, id_column], malformed[id_column]], ignore_index=True),
            "reason": pd.concat([reasons[bad], malformed[PROBLEM]], ignore_index=True),
        }
    ).astype({"record_id": "str", "reason": "str", "partition": "str", "file": "str"})
    quarantine.insert(0, "source", source.name)
    quarantine = quarantine.sort_values(["partition", "file", "row"], kind="stable").reset_index(drop=True)
    rows = frame.loc[~bad].drop(columns=LANDING_COLUMNS).reset_index(drop=True)
    if spec.labeling:  # a blank label is a missing one: the row waits for labeling
        label = rows[spec.labels.column]
        rows[spec.labels.column] = label.where(label.fillna("").str.strip() != "")
    if parsed is not None:
        rows[spec.columns.timestamp] = parsed[~bad].reset_index(drop=True)
    return LandedDays(rows=rows, quarantine=quarantine, files=files, blank=blank, ids=frame[id_column])


def mapped_labels(frame: pd.DataFrame, column: str, label_map: dict[str, str | None]) -> tuple[pd.DataFrame, pd.Series]:
    """The frame with the source's labels mapped to the dataset's (`SourceSpec.label_map`), and
    which rows held a label mapped to null (no counterpart). Labels the map does not name are
    left as written. Vectorised."""
    if not label_map:
        return frame, pd.Series(False, index=frame.index)
    labels = frame[column]
    unmapped = labels.isin([theirs for theirs, ours in label_map.items() if ours is None])
    mapped = labels.replace({theirs: ours for theirs, ours in label_map.items() if ours is not None})
    return frame.assign(**{column: mapped}), unmapped


def mapped_values(frame: pd.DataFrame, spec: DatasetSpec, source: SourceSpec) -> pd.DataFrame:
    """The frame with its language tags reduced to ISO 639-1 codes (`language.primary_subtags`)
    and the source's segment and language values mapped to the dataset's (`value_map`); a value
    the map does not name stays as written. Vectorised."""
    language = spec.columns.language
    if language is not None and language in frame.columns:
        frame = frame.assign(**{language: primary_subtags(frame[language])})
    for column, mapping in source.value_map.items():
        if column in frame.columns:
            frame = frame.assign(**{column: frame[column].replace(mapping)})
    return frame


def _read_records(path: Path, spec: DatasetSpec, source: SourceSpec, relative: str) -> Records:
    what = f"source {source.name!r}, file {relative}: cannot be read as {source.format}"
    # The export's own name of the id column, so a malformed record still says whose it was.
    id_name = source.export_name(spec.id_column)
    try:
        if source.format == "parquet":
            _check_parquet_types(pq.read_schema(path), spec, f"source {source.name!r}, file {relative}", source.rename)
        records = read_records(path, source.format, id_name, encoding=source.encoding, delimiter=source.delimiter)
    except (UnreadableFile, pa.ArrowInvalid, OSError) as error:
        raise SourceError(f"{what}: {error}. Check the export, or put a complete one in its place.") from None
    return renamed(records, source, f"source {source.name!r}, file {relative}")


def renamed(records: Records, source: SourceSpec, where: str) -> Records:
    """The records with the export's column names changed to the dataset's (`source.rename`).
    Raises SourceError when an export holds both a renamed column and one already of the name it
    would take (which one is meant cannot be told)."""
    if not source.rename:
        return records
    found = set(records.rows.columns)
    clashes = [f"{theirs!r} -> {ours!r}" for theirs, ours in source.rename.items() if theirs in found and ours in found]
    if clashes:
        raise SourceError(
            f"{where}: has both columns of rename {', '.join(clashes)}; remove that rename, or the export's "
            "column of the dataset's name"
        )
    return Records(
        records.rows.rename(columns=source.rename), records.malformed.rename(columns=source.rename), records.blank
    )


def _check_parquet_types(schema: pa.Schema, spec: DatasetSpec, where: str, rename: dict[str, str]) -> None:
    """A typed export whose columns changed type (an epoch number for the timestamp, a code for
    the label) is a source problem, not thousands of bad rows. `rename`: export name -> ours."""
    schema = pa.schema([field.with_name(rename.get(field.name, field.name)) for field in schema])
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


def _shown(names: list[str], header: bool = False) -> list[str]:
    """The names as an error may show them: in a line known to be a header (`header`), any short
    name without an `@`; else only identifier-like names (a line without its header holds a
    record, whose values must not reach a message)."""
    # (Three digits in a row: more often a record's id or phone than a column's name.)
    shape = HEADER_NAME if header else COLUMN_NAME
    return [name if shape.fullmatch(name) and not re.search(r"\d{3}", name) else "<not shown>" for name in names]


def row_reasons(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    parsed: pd.Series | None,
    future: pd.Timestamp,
    known_ids: pd.Series | None,
    unmapped: pd.Series,
    other_ids: pd.Series | None = None,
    earlier: SeenValues | None = None,
) -> pd.Series:
    """The first reason each row cannot be used, or NA. `parsed` is the timestamp column as UTC
    instants (None: the dataset has none); `future` the first instant that is in the future;
    `unmapped` the rows whose source label the source's label_map maps to null; `other_ids` the
    ids other sources of the dataset hold (another record, not a copy: `id_prefix` keeps them
    apart); `earlier` the ids of earlier batches of the same run (duplicates too). Checked in
    order; vectorised."""
    c = spec.columns
    reasons = pd.Series(pd.NA, index=frame.index, dtype="str")

    def mark(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    # With a labeling plan declared, a row without a label is a candidate for labeling, not an error.
    label = None if spec.labeling else spec.labels.column
    required = [name for name in (spec.id_column, c.user, c.timestamp, label) if name is not None]
    blank = {name: frame[name].fillna("").str.strip() == "" for name in dict.fromkeys([*required, *c.text])}
    missing = np.logical_or.reduce([blank[name].to_numpy() for name in required])
    mark(pd.Series(missing, index=frame.index), "missing_required_field")
    if parsed is not None:
        mark(parsed.isna(), "unparseable_timestamp")
        mark(parsed >= future, "future_timestamp")
    labels = frame[spec.labels.column]
    unlabelled = labels.fillna("").str.strip() == "" if spec.labeling else False
    mark(unmapped, "unmapped_label")
    mark(~labels.isin(spec.labels.classes) & ~unlabelled, "unknown_label")
    all_text_blank = np.logical_and.reduce([blank[t].to_numpy() for t in c.text])
    mark(pd.Series(all_text_blank, index=frame.index), "empty_text")
    too_long = np.logical_or.reduce([frame[t].str.len().fillna(0).to_numpy() > c.max_text_chars for t in c.text])
    mark(pd.Series(too_long, index=frame.index), "oversize_text")
    ids = frame[spec.id_column]
    duplicate = ids.duplicated(keep="first")
    if known_ids is not None and len(known_ids):
        duplicate |= is_in(ids, known_ids)
    if earlier is not None:
        duplicate |= earlier.held(ids)
    if other_ids is not None and len(other_ids):
        mark(is_in(ids, other_ids), "id_of_another_source")
    mark(duplicate, "duplicate_id")
    return reasons
