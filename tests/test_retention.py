"""Retention applied to stored zones, with a record."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from conftest import small_spec
from dateutil.relativedelta import relativedelta

from pipelines.lib.files import write_parquet
from pipelines.lib.ingest.sources import land_source
from pipelines.lib.privacy.retention import RETENTION_LOG, commit_pending_log, expire_stored
from pipelines.lib.reports import RetentionOnStorage
from pipelines.lib.workspace import DatasetPaths

AS_OF = date(2026, 10, 31)  # default P12M keeps 2025-11-01 on; Account (P3M) keeps 2026-08-01 on


def zone_file(root, folder, day, categories):
    frame = pd.DataFrame(
        {
            "ticket_id": [f"{day}-{i}" for i in range(len(categories))],
            "created_at": pd.to_datetime([f"{day}T12:00:00Z"] * len(categories)).astype("datetime64[us, UTC]"),
            "category": categories,
        }
    )
    write_parquet(frame, root / folder / f"{day}.parquet")


def test_expired_days_are_deleted_everywhere_and_sensitive_rows_where_older(tmp_path):
    spec = small_spec()
    landing = tmp_path / "data" / "landing" / "tickets"
    landing.mkdir(parents=True)
    header = "ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category\n"
    for day in ("2025-10-31", "2025-11-01"):  # landed: each export's records are of its day
        (landing / f"{day}.csv").write_text(header + f"T{day},u1,x,{day}T12:00:00Z,web,en,Hi,body,Billing\n")
    land_source(DatasetPaths(tmp_path, spec.name), spec, spec.sources[0], as_of=AS_OF)
    warehouse = "data/warehouse/ticket_triage"
    for folder in (f"{warehouse}/raw_tickets", f"{warehouse}/redacted"):
        zone_file(tmp_path, folder, "2025-10-31", ["Billing", "Account"])  # past default retention
        zone_file(tmp_path, folder, "2026-05-01", ["Billing", "Account", "Account"])  # Account past P3M
        zone_file(tmp_path, folder, "2026-10-30", ["Billing", "Account"])  # everything still allowed

    result = expire_stored(tmp_path, spec, AS_OF)

    # 2 Account rows of 2026-05-01, each deleted from raw and from redacted: 2 examples.
    # The export of 2025-10-31 and that day in the landed, raw and redacted zones.
    assert result == RetentionOnStorage(files_deleted=4, sensitive_rows_deleted=2, oldest_day_kept=date(2025, 11, 1))
    assert sorted(p.name for p in landing.iterdir()) == ["2025-11-01.csv"]
    assert sorted(p.stem for p in (tmp_path / warehouse / "landed_tickets").glob("*.parquet")) == ["2025-11-01"]
    for folder in ("raw_tickets", "redacted"):
        kept = tmp_path / warehouse / folder
        assert sorted(p.stem for p in kept.glob("*.parquet")) == ["2026-05-01", "2026-10-30"]
        assert pd.read_parquet(kept / "2026-05-01.parquet")["category"].tolist() == ["Billing"]
        assert pd.read_parquet(kept / "2026-10-30.parquet")["category"].tolist() == ["Billing", "Account"]
    assert not (tmp_path / RETENTION_LOG).exists()  # pending until a release commits it
    paths = DatasetPaths(tmp_path, "ticket_triage")
    pending = paths.pending_retention_log.read_text()
    assert commit_pending_log(paths) == RETENTION_LOG and not paths.pending_retention_log.exists()
    paths.pending_retention_log.write_text(pending)  # a release cut short before clearing: nothing twice
    commit_pending_log(paths)
    log = [json.loads(line) for line in (tmp_path / RETENTION_LOG).read_text().splitlines()]
    assert len(log) == len(pending.splitlines())
    assert {(r["zone"], r["day"], r["rule"]) for r in log} >= {
        ("data/landing/tickets", "2025-10-31", "default"),
        (f"{warehouse}/redacted", "2026-05-01", "sensitive"),
    }
    assert all(set(r) == {"dataset", "deleted_at", "zone", "day", "rows", "rule"} for r in log)
    assert expire_stored(tmp_path, spec, AS_OF).files_deleted == 0  # idempotent


def test_a_look_ahead_as_of_deletes_only_what_todays_retention_does(tmp_path):
    # A run `--as-of` a future day (to see what a later version would hold) must not destroy what
    # the calendar still allows to keep: storage follows today's retention, the build the day given.
    spec = small_spec()
    today = datetime.now(UTC).date()
    kept = (today - timedelta(days=30)).isoformat()
    zone_file(tmp_path, "data/warehouse/ticket_triage/redacted", kept, ["Billing"])
    result = expire_stored(tmp_path, spec, today + timedelta(days=800))
    assert result.files_deleted == 0 and result.oldest_day_kept <= today - relativedelta(months=11)
    assert (tmp_path / "data/warehouse/ticket_triage/redacted" / f"{kept}.parquet").is_file()


def test_a_day_read_again_after_sensitive_rows_expired_still_counts_them(tmp_path):
    # Retention deletes rows from the landed copy too; a later read of the day (a re-run, a
    # backfill) finds fewer records, and its ingest report must still account for every one.
    from pipelines.lib.ingest.steps import land_raw
    from pipelines.lib.report_files import landed_deletions, read_ingest

    spec = small_spec()
    landing = tmp_path / "data" / "landing" / "tickets"
    landing.mkdir(parents=True)
    header = "ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category\n"
    day = "2026-05-01"  # Account (P3M) has expired by AS_OF, Billing has not
    lines = [
        f"T{i},u{i},x,{day}T12:00:00Z,web,en,Hi,body number {i},{c}\n"
        for i, c in enumerate(["Billing", "Account", "Account"])
    ]
    (landing / f"{day}.csv").write_text(header + "".join(lines))
    paths = DatasetPaths(tmp_path, spec.name)
    land_source(paths, spec, spec.sources[0], as_of=AS_OF)
    first = land_raw(paths, spec, "tickets", [day], as_of=AS_OF).days[0].accounting
    assert (first.rows_in, first.rows_out) == (3, 3)

    expire_stored(tmp_path, spec, AS_OF)
    assert landed_deletions(paths, "tickets", day) == {"retention_expired_sensitive": 2}
    booked = read_ingest(paths, "tickets", day).accounting
    again = land_raw(paths, spec, "tickets", [day], as_of=AS_OF).days[0].accounting
    assert booked == again
    assert (again.rows_in, again.rows_out, again.removed) == (3, 1, {"retention_expired_sensitive": 2})
    expire_stored(tmp_path, spec, AS_OF)  # nothing left to expire: nothing booked twice
    assert landed_deletions(paths, "tickets", day) == {"retention_expired_sensitive": 2}


def test_a_swept_day_is_read_again_only_when_it_changed_or_a_row_of_it_comes_due(tmp_path):
    """Sensitive retention reads a stored day once: a day unchanged since its sweep is not read
    again (its bytes are not even valid parquet here), unless a sensitive row of it comes due (a
    record dated after its landing waits in the landing day) or the day is rewritten."""
    spec = small_spec()  # Account is sensitive, kept 3 months
    warehouse = tmp_path / "data/warehouse/ticket_triage"
    zone_file(tmp_path, "data/warehouse/ticket_triage/redacted", "2026-03-02", ["Billing", "Billing"])
    waiting = pd.DataFrame(
        {
            "ticket_id": ["A", "B"],
            "created_at": pd.to_datetime(["2026-03-01T12:00:00Z", "2026-07-15T12:00:00Z"]).astype(
                "datetime64[us, UTC]"
            ),
            "category": ["Billing", "Account"],  # B: dated after its landing day, due on 2026-10-15
        }
    )
    write_parquet(waiting, warehouse / "redacted" / "2026-03-01.parquet")
    assert expire_stored(tmp_path, spec, date(2026, 10, 10)).sensitive_rows_deleted == 0

    swept = warehouse / "redacted" / "2026-03-02.parquet"
    stat = swept.stat()
    swept.write_bytes(b"\0" * stat.st_size)  # unreadable, same size and time: never read again
    os.utime(swept, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert expire_stored(tmp_path, spec, date(2026, 10, 12)).sensitive_rows_deleted == 0
    # B comes due: its day is read again although it did not change.
    assert expire_stored(tmp_path, spec, date(2026, 10, 20)).sensitive_rows_deleted == 1
    assert pd.read_parquet(warehouse / "redacted" / "2026-03-01.parquet")["ticket_id"].tolist() == ["A"]

    zone_file(tmp_path, "data/warehouse/ticket_triage/redacted", "2026-03-02", ["Account"])  # rewritten
    assert expire_stored(tmp_path, spec, date(2026, 10, 21)).sensitive_rows_deleted == 1
