"""Landing a source's exports as they come, into one file of records per day.

A source is an export file, a folder of them or a glob (`sources.export_files`), or a database
table read by watermark. Each export lands once, recognised by its content (sha256), whatever its
name: re-landing the same export changes nothing. Its records are placed in the day of their
timestamp (UTC), never of the file's name; a record with no usable timestamp (the column is
declared absent, a value cannot be parsed, or it is later than the landing itself) is placed in
the export's landing day: the last complete day when it landed, as of the run (the export is
complete when it lands, so the next run processes it). A record earlier than the source's
`start_date` is placed in the first day and marked `before_start_date`.

A record id landed by an earlier export is, with `duplicates: latest` (the default), an update:
the earlier copy leaves its day and the new one takes its own. With no id column, each record
gets `record_id` = the first 12 hex digits of its export's sha256 and its row (`3f2a9c1b7d4e-17`):
stable for the same export, and unique.

The landing ledger (`DatasetPaths.landing_ledger`) lists every landed export: file, sha256, when
it landed, records read, blank records, records per day, earlier copies replaced. Days are written
before the ledger, and a replayed export first removes its own earlier records, so a run killed
in between lands the export again, the same way.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.durations import cutoff
from pipelines.lib.files import write_parquet, write_text
from pipelines.lib.ingest.records import POSITION, Records
from pipelines.lib.ingest.timestamps import parse_timestamps
from pipelines.lib.membership import is_in
from pipelines.lib.reports import LandedExport, LandingLedger
from pipelines.lib.spec import DERIVED_ID, DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.lib.zones import prepare_dataset

#: columns a landed day adds to the export's own: which export a record came from (its path and
#: sha256), and why it cannot be used when that is known at landing (malformed, before_start_date)
EXPORT, SHA256, PROBLEM = "_export", "_export_sha256", "_problem"
LANDING_COLUMNS = [EXPORT, SHA256, *POSITION, PROBLEM]
#: names of files a folder or glob never lands: hidden files, editor and download leftovers
SKIPPED = ("~$", ".")
PARTIAL_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial")


class SourceError(RuntimeError):
    """A source cannot be read as declared: an export as a whole, or its database."""

    exit_code = 1  # bad data, as `pipelines.lib.errors` counts it: fix the export, not the command


@dataclass(frozen=True)
class Landing:
    """What one landing did: the exports landed now, and the days whose records changed."""

    exports: list[LandedExport]
    touched: list[str]


@dataclass(frozen=True)
class Export:
    """One export's records, read (text columns plus `row` and `line`), named by its file (or
    `sql:<table>`) and sha256; `stamp` is the file's (size, mtime_ns), which lets the next landing
    know it without reading it again (None for a SQL batch)."""

    file: str
    sha256: str
    records: Records
    stamp: tuple[int, int] | None = None


def export_files(root: Path, source: SourceSpec) -> list[Path]:
    """The export files of a `files` source, sorted by path: `path` itself when it is a file,
    every `*.<format>` file in it when it is a folder (any case: `.CSV` too), else the files its
    glob matches. Hidden files and partial downloads are left out. Empty when nothing matches."""
    assert source.path is not None
    target = root / source.path
    if target.is_file():
        return [target]
    if target.is_dir():
        suffix = f".{source.format}"
        found = [p for p in target.iterdir() if p.is_file() and p.suffix.lower() == suffix]
    else:
        found = [Path(p) for p in glob.glob(str(target), recursive=True) if Path(p).is_file()]
    return sorted(p for p in found if not p.name.startswith(SKIPPED) and not p.name.endswith(PARTIAL_SUFFIXES))


def landing_day(source: SourceSpec, as_of: date, now: datetime) -> date:
    """The day an export landing `now` is filed under: the last complete day (UTC), or the run's
    `as_of` day if earlier, and never before the source's first day."""
    last_complete = (now.astimezone(UTC) - timedelta(days=1)).date()
    return max(min(as_of, last_complete), source.start_date)


def read_ledger(paths: DatasetPaths, source: str) -> LandingLedger:
    """The source's landing ledger; empty when nothing has landed."""
    path = paths.landing_ledger(source)
    if not path.is_file():
        return LandingLedger(source=source)
    return LandingLedger.model_validate_json(path.read_text(encoding="utf-8"))


def land_exports(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source: SourceSpec,
    exports: list[Export],
    *,
    as_of: date,
    now: datetime,
    write: bool = True,
    watermark: dict | None = None,
) -> Landing:
    """Place new exports' records in their days (see the module's docstring); returns the
    exports landed and the days changed. `exports` are in landing order (the last one's copy of
    an id wins); one already in the ledger is skipped. With `write=False` nothing is written:
    the days a landing would change (for a sensor). `watermark` is stored in the ledger (SQL)."""
    ledger = read_ledger(paths, source.name)
    known = {e.sha256 for e in ledger.exports}
    fresh: list[Export] = []
    for export in exports:
        if export.sha256 not in known:
            known.add(export.sha256)
            fresh.append(export)
    if not fresh:
        if write and watermark is not None and watermark != ledger.watermark:
            _write_ledger(paths, ledger.model_copy(update={"watermark": watermark}))
        return Landing([], [])
    filed_on = landing_day(source, as_of, now)
    frames = [_placed(spec, source, e, order, filed_on, now) for order, e in enumerate(fresh)]
    new = pd.concat(frames, ignore_index=True)
    id_column = spec.id_column
    replaced = np.zeros(len(fresh), dtype=np.int64)
    usable = new[PROBLEM].isna() & new[id_column].notna()
    if source.duplicates == "latest" and spec.columns.id is not None and usable.any():
        # Within the new exports, the last export's copies of an id win over earlier ones'.
        last = new["_order"].where(usable).groupby(new[id_column].where(usable)).transform("max")
        beaten = usable & (new["_order"] < last)
        np.add.at(replaced, last[beaten].astype("int64").to_numpy(), 1)
        new = new.loc[~beaten.to_numpy()].reset_index(drop=True)
        usable = new[PROBLEM].isna() & new[id_column].notna()
    winners = new.loc[usable, [id_column, "_order"]].drop_duplicates(id_column).set_index(id_column)["_order"]
    fresh_shas = {e.sha256 for e in fresh}
    touched: dict[str, pd.DataFrame | None] = {}
    for day_file in sorted(paths.landed(source.name, "x").parent.glob("*.parquet")):
        kept = _drop_stale(day_file, spec, source, winners, fresh_shas, replaced)
        if kept is not None:
            touched[day_file.stem] = kept
    new_by_day = dict(tuple(new.groupby("_day", sort=True)))
    # Blank records are booked on the landing day: its accounting changes even if no record lands there.
    blank_day = {filed_on.isoformat()} if any(e.records.blank for e in fresh) else set()
    days = sorted(set(touched) | set(new_by_day) | blank_day)
    if write:
        prepare_dataset(paths, spec)  # the landing copies hold the records as written: owner-only
        for day in days:
            before = touched.get(day)
            if before is None and paths.landed(source.name, day).is_file():
                before = pd.read_parquet(paths.landed(source.name, day))
            added = new_by_day.get(day)
            parts = [
                f for f in (before, None if added is None else added.drop(columns=["_order", "_day"])) if f is not None
            ]
            if parts:
                frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
                write_parquet(frame, paths.landed(source.name, day))
    # Per export, its records placed per day (a copy a later export in this landing beat is not).
    placed = {int(o): days.value_counts().sort_index().to_dict() for o, days in new.groupby("_order")["_day"]}
    landed = [
        LandedExport(
            file=e.file,
            sha256=e.sha256,
            landed_at=now.astimezone(UTC).replace(microsecond=0),
            landed_on=filed_on,
            records=e.records.count,
            blank=e.records.blank,
            days={str(d): int(n) for d, n in placed.get(order, {}).items()},
            replaced=int(replaced[order]),
            size=e.stamp[0] if e.stamp else None,
            mtime_ns=e.stamp[1] if e.stamp else None,
        )
        for order, e in enumerate(fresh)
    ]
    if write:
        entries = ledger.exports + landed
        _write_ledger(paths, ledger.model_copy(update={"exports": entries, "watermark": watermark or ledger.watermark}))
    return Landing(landed, days)


def _placed(
    spec: DatasetSpec, source: SourceSpec, export: Export, order: int, filed_on: date, now: datetime
) -> pd.DataFrame:
    """One export's records (malformed ones too) with their export, problem and day."""
    rows, malformed = export.records.rows, export.records.malformed
    id_column = spec.id_column
    bad = pd.DataFrame({c: malformed[c] for c in POSITION})
    if spec.columns.id is not None:
        bad[id_column] = malformed["id"].astype("str")
    frame = pd.concat([rows, bad], ignore_index=True)
    frame[PROBLEM] = pd.concat(
        [pd.Series(pd.NA, index=rows.index, dtype="str"), malformed["reason"].astype("str")], ignore_index=True
    )
    if spec.columns.id is None:
        frame[DERIVED_ID] = export.sha256[:12] + "-" + frame["row"].astype("int64").astype("str")
    frame[EXPORT] = export.file
    frame[SHA256] = export.sha256
    day = pd.Series(filed_on.isoformat(), index=frame.index, dtype="str")
    timestamp = spec.columns.timestamp
    if timestamp is not None and timestamp in frame.columns:
        instants = parse_timestamps(frame[timestamp], source.timezone)
        dated = instants.notna() & (instants <= pd.Timestamp(now).tz_convert("UTC")) & frame[PROBLEM].isna()
        day[dated] = instants[dated].dt.strftime("%Y-%m-%d")
        early = dated & (instants < pd.Timestamp(source.start_date, tz="UTC"))
        day[early] = source.start_date.isoformat()
        frame.loc[early, PROBLEM] = "before_start_date"
    frame["_day"] = day
    frame["_order"] = order
    return frame


def _drop_stale(
    day_file: Path,
    spec: DatasetSpec,
    source: SourceSpec,
    winners: pd.Series,
    fresh: set[str],
    replaced: np.ndarray,
) -> pd.DataFrame | None:
    """A landed day without the records the new exports supersede (their ids, with `latest`) or
    replay (their own sha256); None when it keeps every record. Counts replaced copies on the
    export that replaced them."""
    id_column = spec.id_column
    columns = [id_column, SHA256, PROBLEM]
    head = pd.read_parquet(day_file, columns=columns)
    stale = is_in(head[SHA256], fresh).to_numpy().copy()
    if source.duplicates == "latest" and spec.columns.id is not None and len(winners):
        superseded = is_in(head[id_column], winners.index).to_numpy() & head[PROBLEM].isna().to_numpy() & ~stale
        if superseded.any():
            np.add.at(replaced, winners.loc[head.loc[superseded, id_column]].to_numpy(), 1)
            stale |= superseded
    if not stale.any():
        return None
    frame = pd.read_parquet(day_file)
    return frame.loc[~stale].reset_index(drop=True)


def _write_ledger(paths: DatasetPaths, ledger: LandingLedger) -> None:
    write_text(ledger.model_dump_json(indent=2) + "\n", paths.landing_ledger(ledger.source))


def landed_day(paths: DatasetPaths, spec: DatasetSpec, source: SourceSpec, day: str) -> pd.DataFrame:
    """One day's landed records of a source (empty, with the landing columns, when none)."""
    path = paths.landed(source.name, day)
    if path.is_file():
        return pd.read_parquet(path)
    columns = {name: pd.Series(dtype="str") for name in [*spec.kept_columns, *LANDING_COLUMNS]}
    return pd.DataFrame(columns | {name: pd.Series(dtype="int64") for name in POSITION})


def landed_days(paths: DatasetPaths, source: str) -> set[str]:
    """The days a source has landed records in, and the landing days its blank records are booked
    on (which may hold no record)."""
    days = {p.stem for p in paths.landed(source, "x").parent.glob("*.parquet")}
    return days | {e.landed_on.isoformat() for e in read_ledger(paths, source).exports if e.blank}


def run_range(
    spec: DatasetSpec,
    days: list[date],
    last_complete: date,
    *,
    start: date | None = None,
    end: date | None = None,
    as_of: date | None = None,
) -> tuple[date, date, date]:
    """(first day, last day, as-of day) of a run over landed `days` (sorted): by default from the
    first landed day inside retention to the last landed one, at most `last_complete`; as of the
    last day unless `as_of` is given. Raises ValueError saying why no day is left."""
    end = min(end or days[-1], last_complete)
    reference = as_of or end
    # Data past retention is never landed again: the default range starts inside the retention window.
    oldest_kept = cutoff(reference, spec.privacy.retention.default).date()
    if start is None and oldest_kept > days[-1]:
        raise ValueError(
            f"nothing to process for {spec.name}: every landed day ({days[0]}..{days[-1]}) is before {oldest_kept}, "
            f"the oldest day retention ({spec.privacy.retention.default} as of {reference}) keeps: pass --as-of, "
            "or widen privacy.retention"
        )
    start = start or max(spec.first_date, days[0], oldest_kept)
    if start > end:
        raise ValueError(
            f"nothing to process for {spec.name}: first day {start} is after last day {end} "
            "(a run processes complete days, up to yesterday in UTC)"
        )
    return start, end, reference


def blank_records(ledger: LandingLedger, day: str) -> int:
    """Records of the ledger's exports that were all empty, booked on their landing day."""
    return sum(e.blank for e in ledger.exports if e.landed_on.isoformat() == day)
