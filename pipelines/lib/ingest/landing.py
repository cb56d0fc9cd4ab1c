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
the earlier copy leaves its day and the new one takes its own, also when the new one is dated before
`start_date` (a source system that re-dates a ticket still sends its latest text: the copy it
replaces must not train on): only a malformed record, whose id cannot be trusted, replaces
nothing and is replaced by nothing. With no id column, each record
gets `record_id` = the first 12 hex digits of its export's sha256 and its row (`3f2a9c1b7d4e-17`):
stable for the same export, and unique.

The landing ledger (`DatasetPaths.landing_ledger`) lists every landed export: file, sha256, when
it landed, records read, blank records, records per day, earlier copies replaced. Days are written
before the ledger, and the exports being landed are named in a marker file first: records of an
export the ledger does not list are removed before it lands again, so a run killed in between
lands the export again, the same way; an export that cannot be read lands none of its backlog.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.batches import text_hashes
from pipelines.lib.day_columns import read_day_columns
from pipelines.lib.durations import cutoff
from pipelines.lib.files import write_parquet, write_text
from pipelines.lib.ingest.records import COMPRESSED_SUFFIXES, POSITION, Records
from pipelines.lib.ingest.timestamps import parse_timestamps
from pipelines.lib.membership import is_in
from pipelines.lib.reports import LandedExport, LandingLedger
from pipelines.lib.spec import DERIVED_ID, DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.lib.zones import prepare_dataset

#: columns a landed day adds to the export's own: which export a record came from (its path and
#: sha256), and why it cannot be used when that is known at landing (malformed, before_start_date)
EXPORT, SHA256, PROBLEM = "_export", "_export_sha256", "_problem"
BEFORE_START = "before_start_date"
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
    every `*.<format>` file in it when it is a folder (any case: `.CSV` too; compressed as
    `.csv.gz`, `.bz2` or `.xz` too), else the files its glob matches. Hidden files and partial
    downloads are left out. Empty when nothing matches."""
    assert source.path is not None
    target = root / source.path
    if target.is_file():
        return [target]
    if target.is_dir():
        suffixes = tuple(f".{source.format}{compressed}" for compressed in ("", *COMPRESSED_SUFFIXES))
        found = [p for p in target.iterdir() if p.is_file() and p.name.lower().endswith(suffixes)]
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


#: the id index of the exports being landed: one row per record (id, export's order, day, whether
#: it takes part in the duplicate rule, the id's 64-bit hash)
ID, ORDER, DAY, USABLE, HASH = "_id", "_order", "_day", "_usable", "_hash"


@dataclass(frozen=True)
class _Fresh:
    """What the ledger keeps of an export once its records are placed in their days."""

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
    an id wins); one already in the ledger is skipped. With `write=False` no zone file or ledger
    is written (the cache of the landed ids may be): the days a landing would change (for a
    sensor). `watermark` is stored in the ledger (SQL).

    `exports` may be a generator that reads each export as it is asked for: one export is held at
    a time, so memory is bounded by an export and an index of the new records' ids, not by a
    backlog. Each export's records are added to their days as it is read; once every export is
    read, the copies a later export replaced are removed from the days that hold them. The
    exports being landed are named in a marker file first, so a run killed half-way leaves
    records the next landing knows to remove before it lands those exports again."""
    ledger = read_ledger(paths, source.name)
    landed_before = {e.sha256 for e in ledger.exports}
    known = set(landed_before)
    folder = paths.landed(source.name, "x").parent
    filed_on = landing_day(source, as_of, now)
    if write:
        prepare_dataset(paths, spec)  # the landing copies hold the records as written: owner-only
        _remove_unfinished(folder, landed_before)
    before = {p.stem for p in folder.glob("*.parquet")}
    fresh: list[_Fresh] = []
    index: list[pd.DataFrame] = []  # per fresh export, its rows of the id index
    try:
        _place_each(paths, spec, source, exports, known, fresh, index, filed_on, now, write)
    except BaseException:
        if write:  # an export that cannot be read lands none: the days are as they were
            _remove_unfinished(folder, landed_before)
        raise
    if not fresh:
        if write and watermark is not None and watermark != ledger.watermark:
            _write_ledger(paths, ledger.model_copy(update={"watermark": watermark}))
        return Landing([], [])
    new = pd.concat(index, ignore_index=True)
    del index
    # The last new export holding an id: its copy replaces every other one.
    lookup = _NewIds(new if _latest_wins(spec, source) else new.iloc[:0])
    beaten = _beaten(new, lookup.shared())
    orders = {e.sha256: order for order, e in enumerate(fresh)}
    replaced = np.zeros(len(fresh), dtype=np.int64)
    # Days that may hold a replaced copy: the days landed before that hold a new id, and the new
    # days of beaten copies.
    suspects = (
        sorted(_days_holding(paths, spec, folder, lookup, before) | {_iso(d) for d in new.loc[beaten, DAY].unique()})
        if len(lookup)
        else []
    )
    emptied = [
        day
        for day in suspects
        if _without_replaced(paths.landed(source.name, day), spec, lookup, orders, replaced, write)
    ]
    new = new.loc[~beaten]
    # Blank records are booked on the landing day: its accounting changes even if no record lands there.
    blank_day = {filed_on.isoformat()} if any(e.blank for e in fresh) else set()
    days = sorted(set(emptied) | {_iso(d) for d in new[DAY].unique()} | blank_day)
    placed_days = {int(o): per.value_counts().sort_index() for o, per in new.groupby(ORDER)[DAY]}
    landed = [
        LandedExport(
            file=e.file,
            sha256=e.sha256,
            landed_at=now.astimezone(UTC).replace(microsecond=0),
            landed_on=filed_on,
            records=e.records,
            blank=e.blank,
            days={_iso(d): int(n) for d, n in placed_days.get(order, pd.Series()).items()},
            replaced=int(replaced[order]),
            size=e.stamp[0] if e.stamp else None,
            mtime_ns=e.stamp[1] if e.stamp else None,
        )
        for order, e in enumerate(fresh)
    ]
    if write:
        entries = ledger.exports + landed
        _write_ledger(paths, ledger.model_copy(update={"exports": entries, "watermark": watermark or ledger.watermark}))
        _marker(folder).unlink(missing_ok=True)
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
        frame.loc[early, PROBLEM] = BEFORE_START
    frame["_day"] = day
    frame["_order"] = order
    return frame


def _place_each(
    paths: DatasetPaths,
    spec: DatasetSpec,
    source: SourceSpec,
    exports: Iterable[Export],
    known: set[str],
    fresh: list[_Fresh],
    index: list[pd.DataFrame],
    filed_on: date,
    now: datetime,
    write: bool,
) -> None:
    """Read the exports one at a time and add each new one's records to their days (with
    `write`), appending what the ledger keeps of it to `fresh` and its id index to `index`."""
    folder = paths.landed(source.name, "x").parent
    for export in exports:
        if export.sha256 in known:
            continue
        known.add(export.sha256)
        placed = _placed(spec, source, export, len(fresh), filed_on, now)
        index.append(_index_of(spec, placed, len(fresh)))
        records = export.records
        fresh.append(_Fresh(export.file, export.sha256, records.count, records.blank, export.stamp))
        del export, records  # only what the ledger says of an export is kept once it is placed
        if write:
            _mark_unfinished(folder, [e.sha256 for e in fresh])
            _add_to_days(paths, source, placed)
        del placed


def _index_of(spec: DatasetSpec, placed: pd.DataFrame, order: int) -> pd.DataFrame:
    """The id index rows of one export's placed records: id, order, day and whether the record
    takes part in the duplicate rule (parsed, with an id)."""
    ids = placed[spec.id_column]
    return pd.DataFrame(
        {
            ID: ids.astype("str"),
            ORDER: np.full(len(placed), order, dtype=np.int32),
            DAY: _day_numbers(placed["_day"]),
            USABLE: _replaceable(placed[PROBLEM]) & ids.notna(),
            HASH: text_hashes(ids),
        }
    )


def _day_numbers(days: pd.Series) -> np.ndarray:
    """ISO days as proleptic ordinals (int32): an index of many records keeps 4 bytes a day."""
    codes, uniques = pd.factorize(days)
    return np.array([date.fromisoformat(d).toordinal() for d in uniques], dtype=np.int32)[codes]


def _iso(ordinal: int) -> str:
    return date.fromordinal(int(ordinal)).isoformat()


def _replaceable(problem: pd.Series) -> pd.Series:
    """Which records take part in the duplicate rule, by their landing problem: every parsed one,
    those dated before `start_date` too (they are quarantined later, but a re-dated copy is still
    the latest one); a malformed record's id is not trusted."""
    return problem.isna() | (problem == BEFORE_START)


def _latest_wins(spec: DatasetSpec, source: SourceSpec) -> bool:
    """Whether a later copy of an id replaces the earlier one (`duplicates: latest`, with ids)."""
    return source.duplicates == "latest" and spec.columns.id is not None


def _beaten(new: pd.DataFrame, shared: pd.Series) -> np.ndarray:
    """Which new records a later export of the same landing replaces: usable, and the last
    export holding their id (`shared`, for the ids more than one new record holds) comes after
    theirs."""
    beaten = np.zeros(len(new), dtype=bool)
    if not len(shared):
        return beaten
    candidates = np.flatnonzero(new[USABLE].to_numpy() & is_in(new[ID], shared.index).to_numpy())
    last = shared.reindex(pd.Index(new[ID].iloc[candidates])).to_numpy()
    beaten[candidates] = new[ORDER].to_numpy()[candidates] < last
    return beaten


class _NewIds:
    """The ids of the new exports' usable records, to find the last new export holding an id:
    their 64-bit hashes, sorted to look up by bisection, beside the index's ids; equal hashes are
    confirmed on the ids (as `batches.SeenValues` does). 16 bytes a record beside the index,
    where a hash table of 10M ids costs about 100."""

    def __init__(self, new: pd.DataFrame) -> None:
        rows = np.flatnonzero(new[USABLE].to_numpy())
        hashes = new[HASH].to_numpy()[rows]
        by_hash = np.argsort(hashes, kind="stable")
        self._new, self._hashes, self._rows = new, hashes[by_hash], rows[by_hash]

    def __len__(self) -> int:
        return len(self._rows)

    def shared(self) -> pd.Series:
        """The last export holding each id that more than one new record holds (order by id)."""
        equal = self._hashes[1:] == self._hashes[:-1]
        twin = np.zeros(len(self._hashes), dtype=bool)
        twin[1:] |= equal
        twin[:-1] |= equal
        per_id = self._new.iloc[self._rows[twin]].groupby(ID, sort=False)[ORDER].agg(["max", "size"])
        return per_id.loc[per_id["size"] > 1, "max"]  # equal hashes of different ids drop out here

    def has_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Which of `hashes` (uint64) a new usable record's id has (booleans)."""
        if not len(self._hashes):
            return np.zeros(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        return self._hashes[at] == hashes

    def last_orders(self, ids: pd.Series) -> np.ndarray:
        """For each of `ids`, the order of the last new export holding it; -1 where none does."""
        found = np.full(len(ids), -1, dtype=np.int64)
        if not len(self._rows) or not len(ids):
            return found
        hashes = text_hashes(ids)
        low = np.searchsorted(self._hashes, hashes, "left")
        high = np.searchsorted(self._hashes, hashes, "right")
        maybe = np.flatnonzero(high > low)
        if maybe.size:
            counts = (high - low)[maybe]
            # Every position of each range [low, high), one after another.
            at = np.repeat(low[maybe] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            last = self._last(self._rows[at])
            looked = last.reindex(pd.Index(ids.iloc[maybe].astype("str")))
            found[maybe] = looked.fillna(-1).to_numpy(dtype=np.int64)
        return found

    def _last(self, rows: np.ndarray) -> pd.Series:
        """The last order of each id among the index's `rows`."""
        part = self._new.iloc[rows]
        return part.groupby(ID, sort=False)[ORDER].max()


def _days_holding(paths: DatasetPaths, spec: DatasetSpec, folder: Path, lookup: _NewIds, before: set[str]) -> set[str]:
    """The days of `before` (landed before this landing) holding a record whose id's 64-bit hash
    (`batches.text_hashes`) a new usable record's id has: an equal hash only makes a day a
    suspect, `_without_replaced` reads it and compares the ids themselves. The ids are read
    through `day_columns`: a new day reads the files this landing changed, not the history."""
    if not before:
        return set()
    landed = read_day_columns(folder, [spec.id_column], paths.warehouse / "cache")
    held = lookup.has_hashes(text_hashes(landed.table.column(spec.id_column).to_pandas()))
    return {landed.files[i] for i in np.unique(landed.file_of_rows()[held])} & before


def _add_to_days(paths: DatasetPaths, source: SourceSpec, placed: pd.DataFrame) -> None:
    """Append one export's placed records to the files of their days."""
    for day, rows in placed.groupby("_day", sort=True):
        path = paths.landed(source.name, str(day))
        added = rows.drop(columns=["_day", "_order"])
        write_parquet(pd.concat([pd.read_parquet(path), added]) if path.is_file() else added, path)


def _without_replaced(
    day_file: Path,
    spec: DatasetSpec,
    lookup: _NewIds,
    orders: dict[str, int],
    replaced: np.ndarray,
    write: bool,
) -> bool:
    """Remove from a landed day (with `write`) the copies of ids a new export replaces: a record
    landed before (or by an earlier export of this landing) whose id the last new export holding
    it (`lookup`) holds too. Counts each on the export that replaced it; returns whether the day
    loses a record (False when it has no file)."""
    if not day_file.is_file():
        return False
    id_column = spec.id_column
    head = pd.read_parquet(day_file, columns=[id_column, SHA256, PROBLEM])
    winner = lookup.last_orders(head[id_column])
    order = head[SHA256].map(orders).fillna(-1).to_numpy()  # -1: landed before this landing
    replaceable = _replaceable(head[PROBLEM]).to_numpy() & head[id_column].notna().to_numpy()
    stale = (winner >= 0) & replaceable & (order < winner)
    if not stale.any():
        return False
    np.add.at(replaced, winner[stale], 1)
    if write:  # only a day that loses records is read whole and written again
        write_parquet(pd.read_parquet(day_file).loc[~stale].reset_index(drop=True), day_file)
    return True


def _marker(folder: Path) -> Path:
    """The file naming the exports a landing is placing (sha256 per line) until its ledger is
    written."""
    return folder / ".landing"


def _mark_unfinished(folder: Path, shas: list[str]) -> None:
    write_text("".join(f"{sha}\n" for sha in shas), _marker(folder))


def _remove_unfinished(folder: Path, landed: set[str]) -> None:
    """Remove the records of exports a killed landing placed but never entered in the ledger, so
    they land again the same way."""
    marker = _marker(folder)
    if not marker.is_file():
        return
    unfinished = set(marker.read_text(encoding="utf-8").split()) - landed
    for day_file in sorted(folder.glob("*.parquet")) if unfinished else []:
        shas = pd.read_parquet(day_file, columns=[SHA256])[SHA256]
        stale = is_in(shas, unfinished).to_numpy()
        if stale.all():
            day_file.unlink()
        elif stale.any():
            write_parquet(pd.read_parquet(day_file).loc[~stale].reset_index(drop=True), day_file)
    marker.unlink()


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


def rebuilt_with(
    paths: DatasetPaths, spec: DatasetSpec, changed: Iterable[str], start: date, end: date, reference: date
) -> tuple[date, date]:
    """(start, end) widened to the days a landing changed that a run built before (a raw day of
    any source is stored), inside retention as of `reference` and not after it: a later export
    can update or move a record of an earlier day, and a day left unbuilt would keep the copy it
    replaced (the new copy quarantined as its duplicate). Days never built wait for their run."""
    oldest_kept = max(spec.first_date, cutoff(reference, spec.privacy.retention.default).date())
    built = sorted(
        day
        for day in map(date.fromisoformat, changed)
        if oldest_kept <= day <= reference
        and not start <= day <= end
        and any(paths.raw(source.name, day.isoformat()).is_file() for source in spec.sources)
    )
    return (min(start, built[0]), max(end, built[-1])) if built else (start, end)


def blank_records(ledger: LandingLedger, day: str) -> int:
    """Records of the ledger's exports that were all empty, booked on their landing day."""
    return sum(e.blank for e in ledger.exports if e.landed_on.isoformat() == day)
