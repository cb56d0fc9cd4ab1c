"""Retention applied to what is stored, not only to what is released.

Days older than the default retention are deleted from every zone (landed files, raw, redacted,
quarantine, their stats); in days older than the sensitive retention, rows of sensitive classes
are deleted from the raw and redacted zones. Each deletion is recorded (dates and counts only)
in the dataset's pending log under `data/warehouse/<name>/`, and summarised in the manifest; each
release moves the pending records into the committed `privacy/retention_log.jsonl`, so a run that
releases nothing leaves the git work tree as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.audit.events import record_retention
from pipelines.lib.durations import cutoff
from pipelines.lib.files import write_parquet, write_text
from pipelines.lib.hashing import file_sha256
from pipelines.lib.ingest.landing import read_ledger
from pipelines.lib.ingest.timestamps import parse_timestamps
from pipelines.lib.report_files import record_deletion
from pipelines.lib.reports import RetentionOnStorage
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

RETENTION_LOG = Path("privacy") / "retention_log.jsonl"


def _day(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.stem.split(".")[-1] if path.suffix == ".json" else path.stem)
    except ValueError:
        return None


def expire_stored(root: Path, spec: DatasetSpec, as_of: date) -> RetentionOnStorage:
    """Delete what retention no longer allows to be kept; returns what was deleted (files, and
    sensitive rows counted once) and the oldest day kept, for the eligibility report. An `as_of`
    after today (UTC) deletes only what today's retention does: a run looking ahead (what a
    later version would hold) must not destroy data the calendar still allows to keep."""
    as_of = min(as_of, datetime.now(UTC).date())
    warehouse = DatasetPaths(root, spec.name).warehouse
    oldest_kept = cutoff(as_of, spec.privacy.retention.default).date()
    folders = [warehouse / "redacted", warehouse / "stats"]
    folders += [warehouse / f"{zone}_{s.name}" for s in spec.sources for zone in ("landed", "raw")]
    folders += list((warehouse / "quarantine").glob("*"))
    records: list[dict] = _expire_exports(root, spec, oldest_kept)
    for folder in folders:
        for path in sorted(folder.glob("*")):
            day = _day(path)
            if day is None or day >= oldest_kept or not path.is_file():
                continue
            rows = pq.ParquetFile(path).metadata.num_rows if path.suffix == ".parquet" else None
            path.unlink()
            records.append(
                {"zone": str(folder.relative_to(root)), "day": day.isoformat(), "rows": rows, "rule": "default"}
            )
    records += _expire_sensitive_rows(root, spec, as_of)
    if records:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log = DatasetPaths(root, spec.name).pending_retention_log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({"dataset": spec.name, "deleted_at": stamp, **record}, sort_keys=True) + "\n")
        record_retention(root, spec.name, records, oldest_kept)
    return RetentionOnStorage(
        files_deleted=sum(r["rule"] == "default" for r in records),
        # An example is one row in raw and one in redacted: count it once, from the redacted zone.
        sensitive_rows_deleted=sum(
            r["rows"] or 0 for r in records if r["rule"] == "sensitive" and r["zone"].endswith("/redacted")
        ),
        oldest_day_kept=oldest_kept,
    )


def _expire_exports(root: Path, spec: DatasetSpec, oldest_kept: date) -> list[dict]:
    """Delete landed export files whose every record is of a day retention no longer keeps (an
    export holding a kept day stays whole: it is the source's file, never rewritten)."""
    paths = DatasetPaths(root, spec.name)
    records = []
    for source in spec.sources:
        if source.kind != "files":
            continue  # a database keeps its own rows: retention applies to what trainset stores
        for export in read_ledger(paths, source.name).exports:
            last = max(map(date.fromisoformat, export.days), default=export.landed_on)
            path = root / export.file
            if last < oldest_kept and path.is_file() and file_sha256(path) == export.sha256:
                path.unlink()
                zone = str(path.parent.relative_to(root)) if path.is_relative_to(root) else str(path.parent)
                records.append({"zone": zone, "day": last.isoformat(), "rows": export.records, "rule": "default"})
    return records


def _expire_sensitive_rows(root: Path, spec: DatasetSpec, as_of: date) -> list[dict]:
    paths = DatasetPaths(root, spec.name)
    sensitive = spec.privacy.retention.sensitive
    if sensitive is None:
        return []
    limit = pd.Timestamp(cutoff(as_of, sensitive.keep))
    folders = [paths.warehouse / "redacted"]
    folders += [paths.warehouse / f"{zone}_{s.name}" for s in spec.sources for zone in ("landed", "raw")]
    sweeps = _Sweeps.load(paths.retention_sweeps, spec, sensitive.categories)
    records = []
    for folder in folders:
        for path in sorted(folder.glob("*.parquet")):
            day = _day(path)
            if day is None or day >= limit.date() or sweeps.current(path, limit):
                continue
            expired, next_expiry = _sensitive_expired(path, spec, sensitive.categories, limit, day)
            if expired is not None:
                # Only a day that loses rows is read whole and written again; every other is
                # read as two columns (the label and the timestamp).
                write_parquet(pd.read_parquet(path).loc[~expired], path)
                record_deletion(paths, folder.name, path.stem, "retention_expired_sensitive", int(expired.sum()))
                records.append(
                    {
                        "zone": str(folder.relative_to(root)),
                        "day": day.isoformat(),
                        "rows": int(expired.sum()),
                        "rule": "sensitive",
                    }
                )
            sweeps.swept(path, next_expiry)
    sweeps.save()
    return records


class _Sweeps:
    """The stored days swept before, so that a run reads only the days that changed since, or
    that hold a sensitive row whose time has come (`next_expiry`). Kept per file with its size
    and mtime, for the sensitive categories and columns they were swept for: another set of
    categories sweeps every day again."""

    def __init__(self, path: Path, key: dict, files: dict[str, list]) -> None:
        self._path, self._key, self._files = path, key, files
        self._seen: dict[str, list] = {}  # what `save` keeps: days swept now, or found current

    @classmethod
    def load(cls, path: Path, spec: DatasetSpec, categories: list[str]) -> _Sweeps:
        key = {"label": spec.labels.column, "timestamp": spec.columns.timestamp, "categories": sorted(categories)}
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            stored = {}
        return cls(path, key, stored.get("files", {}) if stored.get("key") == key else {})

    def current(self, path: Path, limit: pd.Timestamp) -> bool:
        """Whether `path` is unchanged since it was swept and none of its rows expires by `limit`."""
        entry = self._files.get(self._name(path))
        if entry is None:
            return False
        stat = path.stat()
        size, mtime_ns, next_expiry = entry
        fresh = [size, mtime_ns] == [stat.st_size, stat.st_mtime_ns]
        if fresh and (next_expiry is None or limit <= pd.Timestamp(next_expiry)):
            self._seen[self._name(path)] = entry
            return True
        return False

    def swept(self, path: Path, next_expiry: pd.Timestamp | None) -> None:
        stat = path.stat()
        when = None if next_expiry is None else next_expiry.isoformat()
        self._seen[self._name(path)] = [stat.st_size, stat.st_mtime_ns, when]

    def _name(self, path: Path) -> str:
        return str(path.relative_to(self._path.parent))  # `raw_tickets/2026-01-01.parquet`

    def save(self) -> None:
        """Keep the days swept or found current now (a day deleted since is forgotten)."""
        if self._seen or self._path.is_file():
            write_text(json.dumps({"key": self._key, "files": self._seen}, sort_keys=True) + "\n", self._path)


def _sensitive_expired(
    path: Path, spec: DatasetSpec, categories: list[str], limit: pd.Timestamp, day: date
) -> tuple[np.ndarray | None, pd.Timestamp | None]:
    """Which rows of a stored day are of a sensitive class and older than `limit` (a boolean
    mask over the file's rows, or None when none is), and the earliest instant at which one of
    its other sensitive rows will be (None when none will: a row with no readable time is kept).
    Reads the label and timestamp columns only."""
    label, timestamp = spec.labels.column, spec.columns.timestamp
    table = pq.read_table(path, columns=[label, timestamp] if timestamp else [label])
    candidates = table[label].to_pandas().isin(categories).to_numpy(dtype=bool)
    if not candidates.any():
        return None, None
    # With no timestamp column an example is as old as the day its export landed.
    if timestamp:
        stamps = table[timestamp].to_pandas()
        if not pd.api.types.is_datetime64_any_dtype(stamps):
            stamps = parse_timestamps(stamps)  # landed days hold the text as written (unparseable: NaT, kept)
        old = (stamps < limit).to_numpy(dtype=bool, na_value=False)
        # A record dated after its landing waits in the landing day: it expires when its time comes.
        later = stamps[candidates & ~old].dropna()
        next_expiry = later.min() if len(later) else None
    else:
        old = np.full(len(candidates), pd.Timestamp(day, tz="UTC") < limit)
        next_expiry = None
    expired = candidates & old
    return (expired if expired.any() else None), next_expiry


def commit_pending_log(paths: DatasetPaths) -> Path:
    """Append the dataset's pending retention records to `privacy/retention_log.jsonl` and clear
    them; returns the committed log's path, relative to the workspace.

    Records already in the committed log are not appended again, so a release cut short between
    the append and the clearing repeats nothing."""
    pending = paths.pending_retention_log
    log = paths.root / RETENTION_LOG
    if pending.is_file():
        committed = set(log.read_text(encoding="utf-8").splitlines()) if log.is_file() else set()
        new = [line for line in pending.read_text(encoding="utf-8").splitlines() if line and line not in committed]
        if new:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as handle:
                handle.write("".join(f"{line}\n" for line in new))
        pending.unlink()
    return RETENTION_LOG
