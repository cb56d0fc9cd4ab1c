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
import shutil
import tempfile
from collections.abc import Iterable
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


#: the id index of the exports being landed: one row per record (id, export's order, day, usable)
ID, ORDER, DAY, USABLE = "_id", "_order", "_day", "_usable"


@dataclass(frozen=True)
class _Fresh:
    """What the ledger keeps of an export once its records are staged."""

    file: str
    sha256: str
    records: int
    blank: int
    stamp: tuple[int, int] | None


def land_exports(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source: SourceSpec,
    exports: Iterable[Export],
    *,
    as_of: date,
    now: datetime,
    write: bool = True,
    watermark: dict | None = None,
) -> Landing:
    """Place new exports' records in their days (see the module's docstring); returns the
    exports landed and the days changed. `exports` are in landing order (the last one's copy of
    an id wins); one already in the ledger is skipped. With `write=False` nothing is written:
    the days a landing would change (for a sensor). `watermark` is stored in the ledger (SQL).

    `exports` may be a generator that reads each export as it is asked for: one export is held
    at a time. Its records are staged per day in a private folder beside the days, and only their
    ids, days and export are kept until every export has been read (the duplicate rule needs the
    last copy of each id), so memory is bounded by an export plus an id index, not by a backlog."""
    ledger = read_ledger(paths, source.name)
    known = {e.sha256 for e in ledger.exports}
    landing_dir = paths.landed(source.name, "x").parent
    filed_on = landing_day(source, as_of, now)
    if write:
        prepare_dataset(paths, spec)  # the landing copies hold the records as written: owner-only
    with _Staging(landing_dir if write else None) as staging:
        fresh: list[_Fresh] = []
        index: list[pd.DataFrame] = []  # per fresh export: id, order, day, usable (one row per record)
        for export in exports:
            if export.sha256 in known:
                continue
            known.add(export.sha256)
            order = len(fresh)
            placed = _placed(spec, source, export, order, filed_on, now)
            index.append(_index_of(spec, placed, order))
            staging.stage(order, placed)
            # The export's records are staged: only what the ledger says of it is kept.
            records = export.records
            fresh.append(_Fresh(export.file, export.sha256, records.count, records.blank, export.stamp))
            del placed, export, records
        if not fresh:
            if write and watermark is not None and watermark != ledger.watermark:
                _write_ledger(paths, ledger.model_copy(update={"watermark": watermark}))
            return Landing([], [])
        new = pd.concat(index, ignore_index=True)
        del index
        replaced = np.zeros(len(fresh), dtype=np.int64)
        latest = _latest_orders(spec, source, new)
        if len(latest):
            # Within the new exports, the last export's copies of an id win over earlier ones'.
            beaten = _beaten(new[ID], new[ORDER], new[USABLE], latest)
            np.add.at(replaced, latest.loc[new.loc[beaten, ID]].to_numpy(), 1)
            new = new.loc[~beaten].reset_index(drop=True)
        winners = new.loc[new[USABLE], [ID, ORDER]].drop_duplicates(ID).set_index(ID)[ORDER]
        fresh_shas = {e.sha256 for e in fresh}
        touched: dict[str, pd.DataFrame | None] = {}
        for day_file in sorted(landing_dir.glob("*.parquet")):
            kept = _drop_stale(day_file, spec, source, winners, fresh_shas, replaced)
            if kept is not None:
                touched[day_file.stem] = kept
        new_days = sorted(new[DAY].unique())
        # Blank records are booked on the landing day: its accounting changes even if no record lands there.
        blank_day = {filed_on.isoformat()} if any(e.blank for e in fresh) else set()
        days = sorted(set(touched) | set(new_days) | blank_day)
        if write:
            for day in days:
                before = touched.pop(day, None)
                if before is None and paths.landed(source.name, day).is_file():
                    before = pd.read_parquet(paths.landed(source.name, day))
                added = staging.day(day, spec, latest)
                parts = [f for f in (before, added) if f is not None]
                if parts:
                    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
                    write_parquet(frame, paths.landed(source.name, day))
    # Per export, its records placed per day (a copy a later export in this landing beat is not).
    placed_days = new.groupby([ORDER, DAY]).size()
    landed = [
        LandedExport(
            file=e.file,
            sha256=e.sha256,
            landed_at=now.astimezone(UTC).replace(microsecond=0),
            landed_on=filed_on,
            records=e.records,
            blank=e.blank,
            days={str(d): int(n) for d, n in placed_days.loc[order].items()} if order in placed_days.index else {},
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


def _index_of(spec: DatasetSpec, placed: pd.DataFrame, order: int) -> pd.DataFrame:
    """The id index rows of one export's placed records: id, order, day and whether the record
    can take part in the duplicate rule (parsed, in range, with an id)."""
    ids = placed[spec.id_column]
    return pd.DataFrame(
        {
            ID: ids.to_numpy(),
            ORDER: np.full(len(placed), order, dtype=np.int32),
            DAY: placed["_day"].to_numpy(),
            USABLE: (placed[PROBLEM].isna() & ids.notna()).to_numpy(),
        }
    ).astype({ID: "str", DAY: "str"})


def _latest_orders(spec: DatasetSpec, source: SourceSpec, index: pd.DataFrame) -> pd.Series:
    """For each id that more than one new export holds (`duplicates: latest` with an id column),
    the order of the last export holding it; empty otherwise."""
    if source.duplicates != "latest" or spec.columns.id is None or not index[USABLE].any():
        return pd.Series(dtype="int32", index=pd.Index([], dtype="str"))
    pairs = index.loc[index[USABLE], [ID, ORDER]].drop_duplicates()
    shared = pairs[pairs[ID].duplicated(keep=False)]
    return shared.groupby(ID)[ORDER].max()


def _beaten(ids: pd.Series, orders: pd.Series, usable: pd.Series, latest: pd.Series) -> np.ndarray:
    """Which records a later export of the same landing replaces: usable, and their id's last
    export (`latest`) comes after theirs."""
    if not len(latest):
        return np.zeros(len(ids), dtype=bool)
    candidate = usable.to_numpy() & is_in(ids, latest.index).to_numpy()
    beaten = np.zeros(len(ids), dtype=bool)
    last = latest.loc[ids[candidate]].to_numpy()
    beaten[candidate] = orders.to_numpy()[candidate] < last
    return beaten


class _Staging:
    """The records of the exports being landed, one parquet file per export and day, in a private
    folder beside the landed days; removed when the landing ends (the next landing removes one a
    killed run left). With no folder (`write=False`) nothing is staged."""

    def __init__(self, landing_dir: Path | None) -> None:
        self._landing_dir = landing_dir
        self._folder: Path | None = None
        self._parts: dict[str, list[int]] = {}
        self._columns: dict[str, object] = {}  # every column staged, in order of appearance, with its dtype

    def __enter__(self) -> _Staging:
        if self._landing_dir is not None:
            self._landing_dir.mkdir(parents=True, exist_ok=True)
            for stale in self._landing_dir.glob(".staging-*"):
                shutil.rmtree(stale, ignore_errors=True)
            self._folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=self._landing_dir))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def stage(self, order: int, placed: pd.DataFrame) -> None:
        """Stage one export's placed records (with their `_day` and `_order`)."""
        if self._folder is None:
            return
        records = placed.drop(columns=["_day", "_order"])
        for name, dtype in records.dtypes.items():
            self._columns.setdefault(str(name), dtype)
        for day, rows in records.groupby(placed["_day"], sort=False):
            write_parquet(rows, self._folder / f"{day}.{order:06d}.parquet", private=True)
            self._parts.setdefault(str(day), []).append(order)

    def day(self, day: str, spec: DatasetSpec, latest: pd.Series) -> pd.DataFrame | None:
        """A day's staged records, export after export, without the copies a later export of the
        landing replaces; None when no export placed a record in it."""
        assert self._folder is not None
        frames = []
        for order in self._parts.get(day, []):
            rows = pd.read_parquet(self._folder / f"{day}.{order:06d}.parquet")
            ids = rows[spec.id_column]
            usable = rows[PROBLEM].isna() & ids.notna()
            beaten = _beaten(ids, pd.Series(order, index=rows.index), usable, latest)
            frames.append(rows.loc[~beaten] if beaten.any() else rows)
        if not frames:
            return None
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        if list(frame.columns) != list(self._columns):
            # Exports with other columns: each day has every column any of them brought, as one frame had.
            frame = frame.reindex(columns=list(self._columns))
            frame = frame.astype({c: d for c, d in self._columns.items() if frame[c].isna().all()})
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
