"""Sources as they come: one export holding many days, a folder that grows, a glob; rolling
exports that overlap; no id column; no timestamp column. Each export lands once, by content, into
the days of its records' timestamps; the raw step reads days. Assertions name ids and counts."""

from __future__ import annotations

import gc
import os
import random
import shutil
import subprocess
import sys
import textwrap
import weakref
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_spec
from faker import Faker

from pipelines.lib.hashing import file_sha256
from pipelines.lib.ingest import landing
from pipelines.lib.ingest.landing import SourceError, export_files, land_exports, read_ledger
from pipelines.lib.ingest.sources import land_source, read_days, read_export
from pipelines.lib.ingest.steps import land_raw
from pipelines.lib.privacy.retention import expire_stored
from pipelines.lib.quality.reconcile import reconcile_raw
from pipelines.lib.spec import DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths

AS_OF = date(2026, 10, 5)
NOW = datetime(2026, 10, 6, 9, tzinfo=UTC)  # landing day: 2026-10-05
HEADER = "ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category"


def ticket(tid: str, when: str, body: str = "body", user: str = "u1") -> str:
    return f"{tid},{user},x@example.org,{when},email,en,Hi,{body},Billing"


def write(root, relative: str, *records: str, mtime: int | None = None):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *records, ""]))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def spec_with(**source) -> DatasetSpec:
    spec = small_spec()
    declared = SourceSpec.model_validate(spec.sources[0].model_dump() | {"path": "exports/tickets.csv"} | source)
    return spec.model_copy(update={"sources": [declared]})


def land(root, spec, now=NOW):
    return land_source(DatasetPaths(root, spec.name), spec, spec.sources[0], as_of=AS_OF, now=now)


def day_ids(root, spec) -> dict[str, list[str]]:
    paths = DatasetPaths(root, spec.name)
    folder = paths.landed(spec.sources[0].name, "x").parent
    return {p.stem: pd.read_parquet(p)[spec.id_column].tolist() for p in sorted(folder.glob("*.parquet"))}


def test_one_export_holding_many_days_lands_in_the_days_of_its_timestamps(tmp_path):
    spec = spec_with()
    write(
        tmp_path,
        "exports/tickets.csv",
        ticket("T1", "2026-10-01T10:00:00Z"),
        ticket("T2", "2026-10-03T23:30:00-05:00"),  # 04:30 UTC on the 4th
        ticket("T3", "2026-10-01T11:00:00Z"),
        ticket("T4", "not a time"),
    )
    landing = land(tmp_path, spec)
    assert landing.touched == ["2026-10-01", "2026-10-04", "2026-10-05"]
    # The unparseable one waits in the landing day, where the raw step quarantines it.
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T1", "T3"], "2026-10-04": ["T2"], "2026-10-05": ["T4"]}
    [export] = read_ledger(DatasetPaths(tmp_path, spec.name), "tickets").exports
    assert (export.file, export.records, export.landed_on) == ("exports/tickets.csv", 4, date(2026, 10, 5))
    assert export.days == {"2026-10-01": 2, "2026-10-04": 1, "2026-10-05": 1}
    days = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05"]
    read = read_days(tmp_path, spec, spec.sources[0], days, as_of=AS_OF, now=NOW)
    assert read.rows["ticket_id"].tolist() == ["T1", "T3", "T2"]
    assert read.quarantine[["record_id", "reason", "file", "row"]].values.tolist() == [
        ["T4", "unparseable_timestamp", "exports/tickets.csv", 4]
    ]


def test_landing_the_same_export_again_changes_nothing_whatever_its_name(tmp_path):
    spec = spec_with(path="exports")
    first = write(tmp_path, "exports/a.csv", ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "2026-10-02T10:00Z"))
    land(tmp_path, spec)
    paths = DatasetPaths(tmp_path, spec.name)
    before = {p.name: p.read_bytes() for p in paths.landed("tickets", "x").parent.iterdir()}
    assert land(tmp_path, spec).touched == []
    # The ledger keeps the file's size and modification time: an unchanged file is not hashed again.
    [entry] = read_ledger(paths, "tickets").exports
    assert (entry.size, entry.mtime_ns) == (first.stat().st_size, first.stat().st_mtime_ns)
    shutil.copyfile(first, tmp_path / "exports" / "a copy of a.csv")  # re-landed under another name
    assert land(tmp_path, spec).exports == []
    assert {p.name: p.read_bytes() for p in paths.landed("tickets", "x").parent.iterdir()} == before


def test_a_folder_that_grows_and_a_glob_land_each_new_export_once(tmp_path):
    spec = spec_with(path="exports/tickets-*.csv")
    write(tmp_path, "exports/tickets-1.csv", ticket("T1", "2026-10-01T10:00:00Z"), mtime=1_000)
    write(tmp_path, "exports/other.csv", ticket("X1", "2026-10-01T10:00:00Z"))  # not matched by the glob
    write(tmp_path, "exports/.tickets-3.csv", ticket("H1", "2026-10-01T10:00:00Z"))  # hidden: never landed
    assert [p.name for p in export_files(tmp_path, spec.sources[0])] == ["tickets-1.csv"]
    land(tmp_path, spec)
    write(tmp_path, "exports/tickets-2.csv", ticket("T2", "2026-10-02T10:00:00Z"), mtime=2_000)
    assert land(tmp_path, spec).touched == ["2026-10-02"]
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T1"], "2026-10-02": ["T2"]}
    folder = spec_with(path="exports")
    assert [p.name for p in export_files(tmp_path, folder.sources[0])] == [
        "other.csv",
        "tickets-1.csv",
        "tickets-2.csv",
    ]


def test_overlapping_exports_keep_the_latest_copy_of_each_id(tmp_path):
    """A rolling export (the last 7 days, every day) repeats records; a changed one is an update,
    and an update may move a record to another day."""
    spec = spec_with(path="exports")
    write(
        tmp_path,
        "exports/monday.csv",
        ticket("T1", "2026-10-01T10:00:00Z"),
        ticket("T2", "2026-10-01T11:00:00Z", body="first"),
        mtime=1_000,
    )
    write(
        tmp_path,
        "exports/tuesday.csv",
        ticket("T2", "2026-10-02T09:00:00Z", body="edited"),  # re-dated by the source system
        ticket("T1", "2026-10-01T10:00:00Z"),
        ticket("T3", "2026-10-02T10:00:00Z"),
        mtime=2_000,
    )
    land(tmp_path, spec)  # both at once: the later export (by modification time) wins
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T1"], "2026-10-02": ["T2", "T3"]}
    write(tmp_path, "exports/wednesday.csv", ticket("T3", "2026-10-02T10:00:00Z", body="again"), mtime=3_000)
    assert land(tmp_path, spec).touched == ["2026-10-02"]
    exports = read_ledger(DatasetPaths(tmp_path, spec.name), "tickets").exports
    assert [(e.file, e.replaced) for e in exports] == [
        ("exports/monday.csv", 0),
        ("exports/tuesday.csv", 2),
        ("exports/wednesday.csv", 1),
    ]
    paths = DatasetPaths(tmp_path, spec.name)
    batch = land_raw(paths, spec, "tickets", ["2026-10-01", "2026-10-02"], AS_OF)
    raw = pd.concat([pd.read_parquet(paths.raw("tickets", d)) for d in ["2026-10-01", "2026-10-02"]])
    assert dict(zip(raw["ticket_id"], raw["body"], strict=True)) == {"T1": "body", "T2": "edited", "T3": "again"}
    assert batch.accounting.removed == {}  # an update is not a duplicate
    assert reconcile_raw(paths, "tickets", ["2026-10-01", "2026-10-02"]).passed


def test_keeping_the_first_copy_quarantines_later_ones_as_duplicates(tmp_path):
    spec = spec_with(path="exports", duplicates="first")
    write(tmp_path, "exports/a.csv", ticket("T1", "2026-10-01T10:00:00Z", body="first"), mtime=1_000)
    write(tmp_path, "exports/b.csv", ticket("T1", "2026-10-01T10:00:00Z", body="second"), mtime=2_000)
    paths = DatasetPaths(tmp_path, spec.name)
    batch = land_raw(paths, spec, "tickets", ["2026-10-01"], AS_OF)
    assert pd.read_parquet(paths.raw("tickets", "2026-10-01"))["body"].tolist() == ["first"]
    assert batch.accounting.removed == {"quarantined:duplicate_id": 1}


def test_with_no_id_column_each_record_gets_a_stable_id_from_its_export_and_place(tmp_path):
    base = small_spec()
    columns = base.columns.model_copy(update={"id": None})
    spec = spec_with().model_copy(update={"columns": columns})
    header = HEADER.removeprefix("ticket_id,")
    path = tmp_path / "exports" / "tickets.csv"
    path.parent.mkdir(parents=True)
    rows = [ticket("", "2026-10-01T10:00:00Z").removeprefix(","), ticket("", "2026-10-02T10:00:00Z").removeprefix(",")]
    path.write_text("\n".join([header, *rows, ""]))
    land(tmp_path, spec)
    ids = day_ids(tmp_path, spec)
    export = read_ledger(DatasetPaths(tmp_path, spec.name), "tickets").exports[0]
    assert ids == {"2026-10-01": [f"{export.sha256[:12]}-1"], "2026-10-02": [f"{export.sha256[:12]}-2"]}
    assert [limit.rule for limit in spec.limits()][0] == "deduplication"
    read = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01", "2026-10-02"], as_of=AS_OF, now=NOW)
    assert read.rows["record_id"].tolist() == [f"{export.sha256[:12]}-1", f"{export.sha256[:12]}-2"]


def test_with_no_timestamp_column_an_export_lands_in_its_landing_day(tmp_path):
    base = small_spec()
    spec = spec_with().model_copy(update={"columns": base.columns.model_copy(update={"timestamp": None})})
    write(tmp_path, "exports/tickets.csv", ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "whenever"))
    # Landed at 09:00 on the 6th, as of the 5th: the 5th is the last complete day.
    assert land(tmp_path, spec).touched == ["2026-10-05"]


def test_a_record_before_the_first_day_is_quarantined_not_lost(tmp_path):
    spec = spec_with()
    write(tmp_path, "exports/tickets.csv", ticket("OLD", "2020-01-01T10:00:00Z"), ticket("T1", "2026-10-02T10:00Z"))
    first = spec.sources[0].start_date.isoformat()
    read = read_days(tmp_path, spec, spec.sources[0], [first, "2026-10-02"], as_of=AS_OF, now=NOW)
    assert read.rows["ticket_id"].tolist() == ["T1"]
    assert read.quarantine[["record_id", "reason", "partition"]].values.tolist() == [
        ["OLD", "before_start_date", first]
    ]


def test_a_copy_re_dated_before_the_first_day_still_replaces_the_one_it_updates(tmp_path):
    """A source system that re-dates an edited ticket to before the source's first day still
    sends its latest copy: the in-range copy leaves its day (else its old text would train), the
    new one is quarantined as before_start_date; a later in-range copy replaces that one in turn.
    A malformed record replaces nothing."""
    spec = spec_with(path="exports")
    first = spec.sources[0].start_date.isoformat()
    paths = DatasetPaths(tmp_path, spec.name)
    write(tmp_path, "exports/a.csv", ticket("T1", "2026-10-02T10:00:00Z", body="old"), mtime=1_000)
    land(tmp_path, spec)
    write(tmp_path, "exports/b.csv", ticket("T1", "2020-01-01T10:00:00Z", body="edited"), mtime=2_000)
    assert land(tmp_path, spec).touched == sorted([first, "2026-10-02"])
    assert day_ids(tmp_path, spec) == {first: ["T1"], "2026-10-02": []}
    assert [e.replaced for e in read_ledger(paths, "tickets").exports] == [0, 1]
    read = read_days(tmp_path, spec, spec.sources[0], [first, "2026-10-02"], as_of=AS_OF, now=NOW)
    assert read.rows.empty
    assert read.quarantine[["record_id", "reason"]].values.tolist() == [["T1", "before_start_date"]]

    write(tmp_path, "exports/c.csv", ticket("T1", "2026-10-03T10:00:00Z", body="again"), mtime=3_000)
    land(tmp_path, spec)
    assert day_ids(tmp_path, spec) == {first: [], "2026-10-02": [], "2026-10-03": ["T1"]}
    # A record the parser could not split (one field too many) keeps its id out of the rule.
    write(tmp_path, "exports/d.csv", ticket("T1", "2026-10-04T10:00:00Z") + ",extra,fields", mtime=4_000)
    land(tmp_path, spec)
    ids = day_ids(tmp_path, spec)
    assert ids["2026-10-03"] == ["T1"] and sum(v.count("T1") for v in ids.values()) == 2
    assert [e.replaced for e in read_ledger(paths, "tickets").exports] == [0, 1, 1, 0]


def test_exports_downloaded_compressed_land_as_the_same_records(tmp_path):
    """gzip, bzip2 and xz are known by their first bytes, whatever the name: a folder's
    `.csv.gz` files land, so does a `.csv` a browser saved still gzipped, each holding the records
    of its uncompressed text. One cut short is refused as a whole, saying so."""
    import bz2
    import gzip
    import lzma

    spec = spec_with(path="exports")
    text = "\n".join([HEADER, ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "2026-10-02T10:00:00Z"), ""])
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv.gz").write_bytes(gzip.compress(text.encode()))
    (exports / "b.CSV.BZ2").write_bytes(bz2.compress(text.replace("T1,", "T3,").encode()))
    (exports / "c.csv").write_bytes(gzip.compress(text.replace("T1,", "T4,").replace("T2,", "T5,").encode()))
    (exports / "d.csv.xz").write_bytes(lzma.compress(text.replace("T1,", "T6,").replace("T2,", "T7,").encode()))
    (exports / "notes.txt.gz").write_bytes(gzip.compress(b"not an export"))
    land(tmp_path, spec)
    ids = day_ids(tmp_path, spec)
    assert sorted(ids["2026-10-01"]) == ["T1", "T3", "T4", "T6"]
    assert sorted(ids["2026-10-02"]) == ["T2", "T5", "T7"]
    files = [e.file for e in read_ledger(DatasetPaths(tmp_path, spec.name), "tickets").exports]
    assert sorted(files) == ["exports/a.csv.gz", "exports/b.CSV.BZ2", "exports/c.csv", "exports/d.csv.xz"]

    cut = gzip.compress((text + ticket("T9", "2026-10-03T10:00:00Z") + "\n").encode())
    (exports / "e.csv.gz").write_bytes(cut[: len(cut) // 2])
    with pytest.raises(SourceError, match=r"e\.csv\.gz: .*gzip-compressed but cannot be decompressed.*cut short"):
        land(tmp_path, spec)


def test_landed_copies_are_out_of_git_from_the_first_landing(tmp_path):
    """Before any release adds the zones to the workspace's .gitignore, `git add -A` after a
    blocked first run cannot commit a landed copy (raw PII): data/ ignores itself."""
    spec = spec_with()
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write(tmp_path, "exports/tickets.csv", ticket("T1", "2026-10-01T10:00:00Z"))
    land(tmp_path, spec)
    assert list((tmp_path / "data").rglob("*.parquet"))
    status = subprocess.run(["git", "status", "--short"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert status.stdout.split() == ["??", "exports/"]


def test_a_record_later_than_its_landing_is_quarantined_as_future(tmp_path):
    spec = spec_with()
    write(tmp_path, "exports/tickets.csv", ticket("SOON", "2026-10-07T10:00:00Z"), ticket("T1", "2026-10-05T10:00Z"))
    read = read_days(tmp_path, spec, spec.sources[0], ["2026-10-05"], as_of=AS_OF, now=NOW)
    assert read.rows["ticket_id"].tolist() == ["T1"]
    assert read.quarantine[["record_id", "reason"]].values.tolist() == [["SOON", "future_timestamp"]]


def test_retention_deletes_an_export_once_every_record_of_it_is_expired(tmp_path):
    spec = spec_with(path="exports", start_date="2025-01-01")
    old = write(tmp_path, "exports/old.csv", ticket("T1", "2025-05-01T10:00:00Z"), mtime=1_000)
    mixed = write(
        tmp_path, "exports/mixed.csv", ticket("T2", "2025-05-02T10:00:00Z"), ticket("T3", "2025-10-01T10:00Z")
    )
    land(tmp_path, spec)
    expire_stored(tmp_path, spec, date(2026, 5, 15))  # P12M: keeps 2025-05-15 on (a day past: storage follows it)
    assert not old.exists() and mixed.exists()  # an export is the source's file: deleted whole or kept
    assert sorted(day_ids(tmp_path, spec)) == ["2025-10-01"]


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_jsonl_and_parquet_exports_land_by_timestamp_too(tmp_path, kind):
    spec = spec_with(path=f"exports/tickets.{kind}", format=kind)
    frame = pd.DataFrame(
        [
            dict(zip(HEADER.split(","), ticket(t, w).split(","), strict=True))
            for t, w in [("T1", "2026-10-01T10:00:00Z"), ("T2", "2026-10-03T10:00:00Z")]
        ]
    )
    path = tmp_path / "exports" / f"tickets.{kind}"
    path.parent.mkdir(parents=True)
    if kind == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    land(tmp_path, spec)
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T1"], "2026-10-03": ["T2"]}


@pytest.mark.parametrize("hashes", ["64-bit", "colliding"])
def test_a_backlog_landed_at_once_holds_the_same_records_as_landed_export_by_export(tmp_path, monkeypatch, hashes):
    """Many overlapping exports landed in one run (each read, placed and let go before the next)
    keep, per day, the same latest copy of every id as landing them one at a time, and book the
    same replaced copies, an extra column one export brings included. Ids are looked up by their
    64-bit hashes and confirmed on the ids: hashes that collide at every fourth value change
    nothing."""
    if hashes == "colliding":
        coarse = landing.text_hashes
        monkeypatch.setattr(landing, "text_hashes", lambda values: coarse(values) % 4)
    faker = Faker(["de_DE", "ja_JP", "en_US"])
    Faker.seed(16)
    rng = random.Random(16)
    exports = []
    for n in range(8):
        records = []
        for tid in (f"T{i}" for i in rng.sample(range(60), 30)):  # an export holds an id once
            when = f"2026-10-0{rng.randrange(1, 5)}T{rng.randrange(24):02d}:00:00Z"
            records.append(ticket(tid, when, body=faker.sentence().replace(",", " "), user=f"u{rng.randrange(9)}"))
        exports.append((f"exports/e{n}.csv", records, 1_000 * (n + 1)))
    at_once, one_by_one = tmp_path / "at_once", tmp_path / "one_by_one"
    spec = spec_with(path="exports")
    for relative, records, mtime in exports:
        write(at_once, relative, *records, mtime=mtime)
    extra = at_once / "exports/e3.csv"
    lines = extra.read_text().splitlines()
    extra.write_text("\n".join([lines[0] + ",priority", *[line + ",high" for line in lines[1:]], ""]))
    os.utime(extra, (4_000, 4_000))
    land(at_once, spec)
    (one_by_one / "exports").mkdir(parents=True)
    for relative, _, _ in exports:
        shutil.copy2(at_once / relative, one_by_one / relative)
        land(one_by_one, spec)

    def records(root):
        paths = DatasetPaths(root, spec.name)
        folder = paths.landed("tickets", "x").parent
        assert not (folder / ".landing").exists(), "a finished landing leaves no marker"
        days = {}
        for path in sorted(folder.glob("*.parquet")):
            frame = pd.read_parquet(path).drop(columns=["_export", "_export_sha256", "row", "line"], errors="ignore")
            days[path.stem] = frame.sort_values("ticket_id").reset_index(drop=True)
        return days, sum(e.replaced for e in read_ledger(paths, "tickets").exports)

    (days_at_once, replaced_at_once), (days_one_by_one, replaced_one_by_one) = records(at_once), records(one_by_one)
    assert replaced_at_once == replaced_one_by_one > 0
    assert list(days_at_once) == list(days_one_by_one)
    for day, frame in days_at_once.items():
        pd.testing.assert_frame_equal(frame, days_one_by_one[day])
    ids = pd.concat(days_at_once.values())["ticket_id"]
    assert ids.is_unique  # one copy of each id in the whole source


def test_landing_lets_go_of_each_export_before_reading_the_next(tmp_path):
    """Exports are asked for one at a time, and none is still held when the next is read: a
    backlog of exports costs one export's memory, not the backlog's."""
    spec = spec_with(path="exports")
    for n in range(4):
        write(tmp_path, f"exports/e{n}.csv", ticket(f"T{n}", f"2026-10-0{n + 1}T10:00:00Z"), mtime=1_000 * (n + 1))
    paths = DatasetPaths(tmp_path, spec.name)
    source = spec.sources[0]
    alive: list[weakref.ref] = []
    held_when_read: list[int] = []

    def read(path):
        gc.collect()
        held_when_read.append(sum(ref() is not None for ref in alive))
        export = read_export(tmp_path, spec, source, path, file_sha256(path))
        alive.append(weakref.ref(export.records.rows))
        return export

    exports = (read(path) for path in export_files(tmp_path, source))  # as `land_source` asks for them

    landing = land_exports(paths, spec, source, exports, as_of=AS_OF, now=NOW)
    assert held_when_read == [0, 0, 0, 0]
    assert landing.touched == ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]


def test_an_unreadable_export_in_a_backlog_lands_none_of_it(tmp_path):
    """The third export of a backlog lacks a declared column: the landing fails saying which file,
    and the exports read before it are taken out of their days again; once the file is fixed,
    the backlog lands as if the failure had never happened."""
    spec = spec_with(path="exports")
    write(tmp_path, "exports/e0.csv", ticket("T1", "2026-10-01T10:00:00Z"), mtime=1_000)
    land(tmp_path, spec)
    write(tmp_path, "exports/e1.csv", ticket("T1", "2026-10-02T10:00:00Z", body="moved"), mtime=2_000)
    write(tmp_path, "exports/e2.csv", ticket("T2", "2026-10-03T10:00:00Z"), mtime=3_000)
    broken = tmp_path / "exports/e3.csv"
    broken.write_text("ticket_id,created_at\nT3,2026-10-04T10:00:00Z\n")
    os.utime(broken, (4_000, 4_000))
    with pytest.raises(SourceError, match="exports/e3.csv"):
        land(tmp_path, spec)
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T1"]}
    folder = DatasetPaths(tmp_path, spec.name).landed("tickets", "x").parent
    assert not (folder / ".landing").exists()
    write(tmp_path, "exports/e3.csv", ticket("T3", "2026-10-04T10:00:00Z"), mtime=4_000)
    land(tmp_path, spec)
    assert day_ids(tmp_path, spec) == {
        "2026-10-01": [],
        "2026-10-02": ["T1"],
        "2026-10-03": ["T2"],
        "2026-10-04": ["T3"],
    }


def test_a_landing_killed_half_way_lands_again_the_same_way(tmp_path):
    """A process killed (no clean-up runs) after placing two exports of a backlog leaves their
    records in the days and a marker naming them; the next landing removes those records and
    lands the backlog once, with the same ledger as a landing that was never killed."""
    spec = spec_with(path="exports")
    for n in range(4):
        write(
            tmp_path,
            f"exports/e{n}.csv",
            ticket(f"T{n}", f"2026-10-0{n + 1}T10:00:00Z"),
            ticket("T9", f"2026-10-0{n + 1}T11:00:00Z"),
            mtime=1_000 * (n + 1),
        )
    clean = tmp_path / "clean"
    shutil.copytree(tmp_path / "exports", clean / "exports")
    killed = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_landing import AS_OF, NOW, spec_with
        from pipelines.lib.hashing import file_sha256
        from pipelines.lib.ingest.landing import export_files, land_exports
        from pipelines.lib.ingest.sources import read_export
        from pipelines.lib.workspace import DatasetPaths
        root = {str(tmp_path)!r}
        from pathlib import Path
        spec = spec_with(path="exports")
        source = spec.sources[0]

        def exports():
            for n, path in enumerate(export_files(Path(root), source)):
                if n == 2:
                    os._exit(9)  # killed while reading the third export
                yield read_export(Path(root), spec, source, path, file_sha256(path))

        land_exports(DatasetPaths(Path(root), spec.name), spec, source, exports(), as_of=AS_OF, now=NOW)
        """
    )
    run = subprocess.run([sys.executable, "-c", killed], cwd=Path(__file__).parents[1], capture_output=True, text=True)
    assert run.returncode == 9, run.stderr
    folder = DatasetPaths(tmp_path, spec.name).landed("tickets", "x").parent
    assert (folder / ".landing").is_file()
    assert day_ids(tmp_path, spec) == {"2026-10-01": ["T0", "T9"], "2026-10-02": ["T1", "T9"]}  # as the kill left it
    land(tmp_path, spec)
    land(clean, spec)
    assert (
        day_ids(tmp_path, spec)
        == day_ids(clean, spec)
        == {
            "2026-10-01": ["T0"],
            "2026-10-02": ["T1"],
            "2026-10-03": ["T2"],
            "2026-10-04": ["T3", "T9"],
        }
    )

    def ledger(root):
        return [(e.file, e.days, e.replaced) for e in read_ledger(DatasetPaths(root, spec.name), "tickets").exports]

    assert ledger(tmp_path) == ledger(clean)
    assert not (folder / ".landing").exists()


def test_trainset_landed_lists_each_export_its_days_and_what_it_replaced(tmp_path):
    """The ledger as a data engineer reads it: every export, when, where its records went, what it
    replaced; JSON for scripts; no record's text in either."""
    import json

    from click.testing import CliRunner
    from conftest import make_workspace

    from pipelines.cli import cli

    root = make_workspace(tmp_path / "workspace")
    spec = small_spec()
    folder = "data/landing/tickets"
    paths = DatasetPaths(root, spec.name)
    write(root, f"{folder}/a.csv", ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "2026-10-02T10:00:00Z"), mtime=1)
    land_source(paths, spec, spec.sources[0], as_of=AS_OF, now=NOW)
    # The next day's export: T2 edited and re-dated, a blank record; and, in the same landing, T3
    # twice (the later export's copy wins).
    write(root, f"{folder}/b.csv", ticket("T2", "2026-10-03T09:00:00Z", body="moved"), ",,,,,,,,", mtime=2)
    write(root, f"{folder}/c.csv", ticket("T3", "2026-10-03T10:00:00Z"), mtime=3)
    write(root, f"{folder}/d.csv", ticket("T3", "2026-10-03T10:00:00Z", body="again"), mtime=4)
    land_source(paths, spec, spec.sources[0], as_of=AS_OF, now=NOW)

    shown = CliRunner().invoke(cli, ["landed", "--workspace", str(root)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "ticket_triage / tickets: 4 export(s), 6 records read, 2 earlier copies replaced"
    assert lines[1].endswith(
        "data/landing/tickets/a.csv  sha256 "
        + file_sha256(root / folder / "a.csv")[:12]
        + ("  2 records read, 2 placed in 2026-10-01..2026-10-02 (2 days); replaced 0 earlier copies")
    )
    assert lines[2].endswith("2 records read, 1 blank, 1 placed in 2026-10-03; replaced 1 earlier copies")
    assert lines[3].endswith(
        "c.csv  sha256 "
        + file_sha256(root / folder / "c.csv")[:12]
        + "  1 records read, 0 placed in no day; replaced 0 earlier copies"
    )
    assert lines[4].endswith("1 records read, 1 placed in 2026-10-03; replaced 1 earlier copies")
    assert "x@example.org" not in shown.output and "moved" not in shown.output

    as_json = CliRunner().invoke(
        cli, ["landed", "ticket_triage", "--source", "tickets", "--format", "json", "--workspace", str(root)]
    )
    (ledger,) = json.loads(as_json.output)
    assert [e["days"] for e in ledger["exports"]] == [
        {"2026-10-01": 1, "2026-10-02": 1},
        {"2026-10-03": 1},
        {},
        {"2026-10-03": 1},
    ]
    wrong = CliRunner().invoke(cli, ["landed", "--source", "crm", "--workspace", str(root)])
    assert wrong.exit_code == 2 and "ticket_triage has no source named 'crm'; its sources: tickets" in wrong.output
