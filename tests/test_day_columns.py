"""Columns of a folder's day files kept between runs: always what reading every file gives (days
added, rewritten, removed, of other types, a broken cache), with an unchanged day never opened
again, and a day written just before it was looked at never trusted to the cache."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.lib import day_columns
from pipelines.lib.day_columns import read_day_columns
from pipelines.lib.files import write_parquet
from pipelines.lib.workspace import DatasetPaths


def every_file(folder, columns=None) -> pd.DataFrame:
    """What the cache must equal: each file read, in name order."""
    frames = [pd.read_parquet(f, columns=columns) for f in sorted(folder.glob("*.parquet"))]
    return pd.concat(frames, ignore_index=True)


def day(folder, name: str, ids: list[str], **more) -> None:
    write_parquet(pd.DataFrame({"ticket_id": ids, **more}), folder / f"{name}.parquet")


def backdate(folder, seconds: int = 3600) -> None:
    """Days written long ago, as a history's are: trusted to the cache."""
    for f in folder.glob("*.parquet"):
        stat = f.stat()
        os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


@pytest.fixture
def opened(monkeypatch):
    """The day files each read opened (the real reader, counted)."""
    names: list[str] = []
    real = pq.read_table

    def counted(source, *args, **kwargs):
        names.append(os.path.basename(str(source)))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(day_columns.pq, "read_table", counted)
    return names


def test_a_new_day_opens_only_the_new_file_and_the_cache(tmp_path, opened):
    folder, cache = tmp_path / "raw_tickets", tmp_path / "cache"
    for n in range(1, 6):
        day(folder, f"2026-10-0{n}", [f"T{n}a", f"T{n}b"], channel=["email", "chat"])
    backdate(folder)
    first = read_day_columns(folder, ["ticket_id"], cache)
    assert first.table.to_pandas().equals(every_file(folder, ["ticket_id"]))
    assert first.files == [f"2026-10-0{n}" for n in range(1, 6)] and first.rows == [2] * 5

    day(folder, "2026-10-06", ["T6a"], channel=["web"])
    opened.clear()
    second = read_day_columns(folder, ["ticket_id"], cache)
    assert sorted(opened) == ["2026-10-06.parquet", next(cache.glob("day_columns/raw_tickets-*.parquet")).name]
    assert second.table.to_pandas().equals(every_file(folder, ["ticket_id"]))
    assert second.file_of_rows().tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert second.in_files({"2026-10-02", "2026-10-06"}).tolist() == [False] * 2 + [True] * 2 + [False] * 6 + [True]


def test_rewritten_removed_and_retyped_days_read_as_every_file(tmp_path):
    folder, cache = tmp_path / "quarantine", tmp_path / "cache"
    for n in range(1, 5):
        day(folder, f"2026-10-0{n}", [f"T{n}"], row=[n])
    backdate(folder)
    read_day_columns(folder, None, cache)
    day(folder, "2026-10-02", ["T2", "T2b", "T2c"], row=[2, 5, 6])  # a day rewritten (erasure, new records)
    (folder / "2026-10-03.parquet").unlink()  # a day gone (retention)
    # A day of other Arrow types: promoted as Arrow does (int32 -> int64, string -> large_string).
    table = pa.table({"ticket_id": pa.array(["T7"], pa.large_string()), "row": pa.array([7], pa.int32())})
    pq.write_table(table, folder / "2026-10-07.parquet")
    backdate(folder, 1800)
    got = read_day_columns(folder, None, cache)
    assert got.table.to_pandas().astype({"ticket_id": "str"}).equals(every_file(folder).astype({"ticket_id": "str"}))
    assert got.files == ["2026-10-01", "2026-10-02", "2026-10-04", "2026-10-07"] and got.rows == [1, 3, 1, 1]
    again = read_day_columns(folder, None, cache)  # now all from the cache
    assert again.table.equals(got.table)


def test_a_day_written_just_before_the_read_is_not_trusted_to_the_cache(tmp_path, opened):
    folder, cache = tmp_path / "landed_tickets", tmp_path / "cache"
    day(folder, "2026-10-01", ["T1"])
    backdate(folder)
    day(folder, "2026-10-02", ["T2"])  # written now
    read_day_columns(folder, ["ticket_id"], cache)
    (stored,) = cache.glob("day_columns/*.parquet")
    assert list(json.loads(pq.read_schema(stored).metadata[b"trainset.day_columns"])) == ["2026-10-01"]
    # In place, the same size and the same mtime: only not trusting it shows the change.
    target = folder / "2026-10-02.parquet"
    stat = target.stat()
    data = target.read_bytes()
    changed = data.replace(b"T2", b"T9")
    assert len(changed) == len(data)
    with open(target, "r+b") as handle:
        handle.write(changed)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    opened.clear()
    assert read_day_columns(folder, ["ticket_id"], cache).table.column("ticket_id").to_pylist() == ["T1", "T9"]
    assert opened == [next(cache.glob("day_columns/*.parquet")).name, "2026-10-02.parquet"]


def test_a_broken_or_foreign_cache_is_read_past(tmp_path):
    folder, cache = tmp_path / "raw_tickets", tmp_path / "cache"
    day(folder, "2026-10-01", ["T1", "T2"])
    backdate(folder)
    read_day_columns(folder, ["ticket_id"], cache)
    (stored,) = cache.glob("day_columns/*.parquet")
    assert stored.stat().st_mode & 0o777 == 0o600  # ids of a zone: owner-only, as the zones
    stored.write_bytes(b"not parquet")
    assert read_day_columns(folder, ["ticket_id"], cache).table.column("ticket_id").to_pylist() == ["T1", "T2"]
    # Rows that do not add up to the files it names: not used.
    write_parquet(pd.DataFrame({"ticket_id": ["X"]}), stored)
    assert read_day_columns(folder, ["ticket_id"], cache).table.column("ticket_id").to_pylist() == ["T1", "T2"]
    assert read_day_columns(tmp_path / "none", ["ticket_id"], cache).table.num_rows == 0


def test_landing_with_the_cache_removes_the_same_replaced_copies(tmp_path, monkeypatch):
    """Exports landed one by one, the days aged between landings (so each landing reads the ids of
    the days before from the cache), leave the days a landing with no cache leaves."""
    from test_landing import land, spec_with, ticket, write

    monkeypatch.setattr(day_columns, "RACY_SECONDS", 0.0)
    exports = [
        [ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "2026-10-02T10:00:00Z")],
        [ticket("T3", "2026-10-02T11:00:00Z"), ticket("T1", "2026-10-01T10:00:00Z", body="edited")],
        [ticket("T2", "2026-10-03T09:00:00Z", body="moved"), ticket("T4", "2026-10-03T10:00:00Z")],
        [ticket("T5", "2026-10-04T10:00:00Z"), ticket("T3", "2026-10-02T11:00:00Z", body="again")],
    ]
    spec = spec_with(path="exports/*.csv")
    outcomes = {}
    for cached in (True, False):
        root = tmp_path / str(cached)
        paths = DatasetPaths(root, spec.name)
        for n, records in enumerate(exports):
            write(root, f"exports/{n}.csv", *records, mtime=1_700_000_000 + n)
            if not cached:
                for stale in (root / "data").rglob("day_columns/*.parquet"):
                    stale.unlink()
            land(root, spec)
            backdate(paths.landed(spec.sources[0].name, "x").parent)
        folder = paths.landed(spec.sources[0].name, "x").parent
        outcomes[cached] = {f.stem: pd.read_parquet(f)[["ticket_id", "body"]] for f in sorted(folder.glob("*.parquet"))}
    assert outcomes[True].keys() == outcomes[False].keys() == {"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"}
    for name, frame in outcomes[True].items():
        assert frame.equals(outcomes[False][name]), name
    assert outcomes[True]["2026-10-02"]["body"].tolist() == ["again"]  # T2 moved to the 3rd, T3 edited
    assert outcomes[True]["2026-10-01"]["body"].tolist() == ["edited"]
    assert list((tmp_path / "True").rglob("day_columns/landed_*.parquet"))  # the landings did use a cache
