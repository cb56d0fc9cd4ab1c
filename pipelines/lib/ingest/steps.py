"""Steps of the ingest assets: raw (typed landed days) and quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.batches import BatchedContract, SeenValues, counted_batches
from pipelines.lib.day_columns import read_day_columns
from pipelines.lib.files import write_parquet
from pipelines.lib.ingest.sources import QUARANTINE_COLUMNS, LandedDays, land_source, read_landed_days
from pipelines.lib.privacy.policies import minimise_on_ingest
from pipelines.lib.quality import schemas
from pipelines.lib.report_files import landed_deletions, write_ingest, write_quarantine
from pipelines.lib.reports import ContractResult, IngestRedaction, IngestReport, QuarantineReport
from pipelines.lib.spec import DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.lib.zones import prepare_dataset

#: the accounting reason of records whose every field is empty
BLANK_RECORD = "blank_record"


@dataclass(frozen=True)
class IngestBatch:
    """What one raw materialization landed: each day's report, and the batch's contract."""

    days: list[IngestReport]
    contract: ContractResult

    @property
    def accounting(self) -> RowAccounting:
        """The batch's rows: read, stored, quarantined by reason."""
        return RowAccounting.total(d.accounting for d in self.days)


# -- raw ---------------------------------------------------------------------------------------


def land_raw(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source_name: str,
    partitions: list[str],
    as_of: date,
    rows: int | None = None,
) -> IngestBatch:
    """Parse landed days of a source into the raw zone (one file per day); unusable rows go to
    quarantine, all-empty records are counted as `blank_record` (read, neither landed nor
    quarantined). A timestamp past the run's `as_of` day is `future_timestamp`. Unless the spec
    declares `privacy.keep_raw`, a raw day holds only the spec's columns, its text redacted: the
    source's text as written stays only in the landing copies. The PII zones are owner-only
    (`zones.prepare_dataset`). Writes an `IngestReport` per day; returns them with the contract of
    every day. Raises SourceError when a source file as a whole cannot be read, AccessError when
    `privacy.group` cannot own the files.

    The days are read a group of consecutive days at a time (at most `rows` rows, default
    `batches.BATCH_ROWS`; a bigger day alone), so memory is bounded by a group, not by the range:
    the ids of earlier groups are duplicates as one batch of every day finds them, and the files,
    reports and contract are those of one batch. When a day has no landed file, or the landed days
    differ in their Arrow schemas, every day is read in one batch (whose types those are)."""
    source = next(s for s in spec.sources if s.name == source_name)
    prepare_dataset(paths, spec)
    known_ids, other_ids = _ids_landed_before(paths, spec, source_name, partitions)
    land_source(paths, spec, source, as_of=as_of)
    groups = _day_groups(paths, source, partitions, rows)
    earlier = SeenValues() if len(groups) > 1 else None
    contract = BatchedContract(schemas.raw_schema(spec))
    per_day: list[IngestReport] = []
    result = None
    for group in groups:
        days = [partitions[i] for i in group]
        landed = read_landed_days(
            paths.root, spec, source, days, as_of=as_of, known_ids=known_ids, other_ids=other_ids, earlier=earlier
        )
        if earlier is not None:
            earlier.add(landed.ids)
        stored, redaction = _redacted_on_ingest(landed.rows, spec, days)
        per_day += _write_days(paths, source.name, days, landed, stored, redaction)
        frame = stored.drop(columns="partition", errors="ignore")
        if earlier is None:
            result = schemas.validate(schemas.raw_schema(spec), frame)
        else:
            contract.add(frame)
        del landed, stored, frame
    if result is None:
        files = [paths.raw(source.name, p) for p in partitions]
        result = contract.result(lambda column: (pd.read_parquet(f, columns=[column])[column] for f in files))
    return IngestBatch(per_day, result)


def _day_groups(paths: DatasetPaths, source: SourceSpec, partitions: list[str], rows: int | None) -> list[range]:
    """The days (positions in `partitions`) read together: groups of at most `rows` landed records
    when every day has a landed file and all have one Arrow schema (so one frame of them all has
    the types each has alone); else one group of every day."""
    every = [range(len(partitions))]
    files = [paths.landed(source.name, p) for p in partitions]
    if not files or not all(f.is_file() for f in files):
        return every
    first = pq.read_schema(files[0])
    if not all(pq.read_schema(f).equals(first, check_metadata=True) for f in files[1:]):
        return every
    return list(counted_batches([pq.ParquetFile(f).metadata.num_rows for f in files], rows))


def _write_days(
    paths: DatasetPaths,
    source: str,
    partitions: list[str],
    landed: LandedDays,
    stored: pd.DataFrame,
    redaction: dict[str, IngestRedaction | None],
) -> list[IngestReport]:
    """Write each day's raw rows, quarantined rows and `IngestReport`; returns the reports."""
    rows_by_day: dict = dict(tuple(stored.groupby("partition", sort=False))) if len(stored) else {}
    bad_by_day: dict = dict(tuple(landed.quarantine.groupby("partition", sort=False))) if len(landed.quarantine) else {}
    per_day: list[IngestReport] = []
    for partition in partitions:
        rows = rows_by_day.get(partition, stored.iloc[0:0]).drop(columns="partition")
        bad = bad_by_day.get(partition, landed.quarantine.iloc[0:0]).drop(columns="partition")
        write_parquet(rows, paths.raw(source, partition))
        write_parquet(bad, paths.quarantine_part(source, partition))
        file, sha256, rows_read = landed.files[partition]
        removed = {f"quarantined:{r}": int(n) for r, n in bad["reason"].value_counts().items()}
        # Padding rows of an export are not landed rows: counted apart from the quarantine (and
        # so from max_quarantine_rate), yet in the day's accounting, so rows in = out + removed.
        removed |= {BLANK_RECORD: landed.blank[partition]} if landed.blank[partition] else {}
        # Rows deleted from the landed day since it landed (retention, erasure) were read once.
        deleted = landed_deletions(paths, source, partition)
        accounting = Accounting(rows_read + sum(deleted.values()), removed | deleted)
        report = IngestReport(
            partition=partition,
            file=file,
            sha256=sha256,
            accounting=accounting.close(len(rows)),
            redaction=redaction[partition],
        )
        write_ingest(paths, source, report)
        per_day.append(report)
    return per_day


def _redacted_on_ingest(
    rows: pd.DataFrame, spec: DatasetSpec, partitions: list[str]
) -> tuple[pd.DataFrame, dict[str, IngestRedaction | None]]:
    """The batch's typed rows as the raw zone stores them, and what was done to each day: minimised
    and redacted in one vectorised pass (`minimise_on_ingest`), or, with `privacy.keep_raw`, as
    written (None)."""
    if spec.privacy.keep_raw:
        return rows, dict.fromkeys(partitions)
    frame, replaced, dropped = minimise_on_ingest(rows, spec)
    by_day = replaced.groupby(rows["partition"].to_numpy(), sort=False).sum()
    done: dict[str, IngestRedaction | None] = {}
    for partition in partitions:
        counts = by_day.loc[partition] if partition in by_day.index else pd.Series(0, index=replaced.columns)
        done[partition] = IngestRedaction(
            pii_types=list(spec.privacy.redact),
            regions=spec.phone_regions,
            replaced={str(t): int(n) for t, n in counts.items()},
            dropped_columns=dropped,
        )
    return frame, done


def _ids_landed_before(
    paths: DatasetPaths, spec: DatasetSpec, source_name: str, partitions: list[str]
) -> tuple[pd.Series, pd.Series]:
    """The ids a record of the batch may not take, from the raw zones outside it: copies (the
    source's own ids, and those of our other sources, which export the same records: a second
    copy is a duplicate; the copy landed first is kept, and a batch of days keeps the earliest
    day's), and other records' (between a partner source and any other, the same id is another
    record)."""

    def ids(name: str, skip: set[str]) -> pd.Series:
        days = read_day_columns(paths.raw(name, "x").parent, [spec.id_column], paths.warehouse / "cache")
        found = days.table.filter(~days.in_files(skip)) if skip else days.table
        return found.column(spec.id_column).to_pandas()

    source = next(s for s in spec.sources if s.name == source_name)
    copies = [ids(source_name, set(partitions))]
    others: list[pd.Series] = []
    for other in (s for s in spec.sources if s.name != source_name):
        ours = source.kind != "partner" and other.kind != "partner"
        (copies if ours else others).append(ids(other.name, set()))
    empty = pd.Series([], dtype="str")
    return pd.concat(copies, ignore_index=True), (pd.concat(others, ignore_index=True) if others else empty)


# -- quarantine --------------------------------------------------------------------------------


def collect_quarantine(paths: DatasetPaths, spec: DatasetSpec) -> QuarantineReport:
    """Gather every quarantined row of every source and day into one table (locations, no text);
    returns (and writes) its rows counted by reason."""
    sources = sorted(p for p in (paths.warehouse / "quarantine").glob("*") if p.is_dir())
    tables = [read_day_columns(folder, None, paths.warehouse / "cache").table for folder in sources]
    tables = [t for t in tables if t.num_rows]
    frame = (
        pa.concat_tables(tables, promote_options="permissive").to_pandas()
        if tables
        else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    write_parquet(frame, paths.quarantine, private=True)  # records by id and place: owner-only
    by_reason = {str(r): int(n) for r, n in frame["reason"].value_counts().items()} if len(frame) else {}
    report = QuarantineReport(rows=len(frame), by_reason=by_reason)
    write_quarantine(paths, report)
    return report
