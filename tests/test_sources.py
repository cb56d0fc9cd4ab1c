"""Reading landed days: bad rows quarantined with reason and location; bad sources named."""

from __future__ import annotations

import pytest
from conftest import small_spec

from pipelines.lib.sources import SourceError, read_days

HEADER = "ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category\n"


def land(root, day, body):
    folder = root / "data" / "landing" / "tickets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{day}.csv").write_text(body)


def test_each_unusable_row_is_quarantined_with_a_reason_and_its_location(tmp_path):
    spec = small_spec()
    land(
        tmp_path,
        "2026-10-01",
        HEADER
        + 'T1,u1,a@b.example.com,2026-10-01T10:00:00Z,email,en,Hi,"multi\nline body",Billing\n'
        + "T2,,x,2026-10-01T11:00:00Z,chat,en,Hi,body,Billing\n"
        + "T3,u3,x,not-a-date,chat,en,Hi,body,Billing\n"
        + "T4,u4,x,2026-10-09T11:00:00Z,chat,en,Hi,body,Billing\n"
        + "T5,u5,x,2026-10-01T12:00:00Z,chat,en,Hi,body,Refunds\n"
        + "T6,u6,x,2026-10-01T12:00:00Z,chat,en,,  ,Other\n"
        + "T1,u7,x,2026-10-01T13:00:00Z,web,en,Hi,again,Other\n",
    )
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"])
    assert landed.rows["ticket_id"].tolist() == ["T1"]
    assert landed.rows["body"].tolist() == ["multi\nline body"]
    assert str(landed.rows["created_at"].dtype) == "datetime64[us, UTC]"
    reasons = dict(zip(landed.quarantine["ticket_id"], landed.quarantine["reason"], strict=True))
    assert reasons == {
        "T2": "missing_required_field",
        "T3": "unparseable_timestamp",
        "T4": "future_timestamp",
        "T5": "unknown_label",
        "T6": "empty_text",
        "T1": "duplicate_id",
    }
    assert landed.quarantine["row"].tolist() == [2, 3, 4, 5, 6, 7]
    assert set(landed.quarantine["file"]) == {"data/landing/tickets/2026-10-01.csv"}
    assert "body" not in landed.quarantine.columns  # locations, never text
    assert landed.files["2026-10-01"][2] == 7


def test_a_missing_file_names_the_source_the_file_and_the_fix(tmp_path):
    spec = small_spec()
    with pytest.raises(
        SourceError, match=r"source 'tickets', partition 2026-10-02: expected file data/landing/tickets/2026-10-02.csv"
    ):
        read_days(tmp_path, spec, spec.sources[0], ["2026-10-02"])


def test_a_missing_column_names_the_file_and_what_was_expected(tmp_path):
    spec = small_spec()
    land(
        tmp_path,
        "2026-10-01",
        HEADER.replace("category", "label") + "T1,u1,x,2026-10-01T10:00:00Z,email,en,Hi,b,Billing\n",
    )
    with pytest.raises(SourceError, match=r"2026-10-01.csv: missing column\(s\) \['category'\]"):
        read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"])


def test_a_header_only_day_is_an_empty_partition(tmp_path):
    spec = small_spec()
    land(tmp_path, "2026-10-01", HEADER)
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"])
    assert len(landed.rows) == 0 and len(landed.quarantine) == 0
    assert "row" not in landed.rows.columns
    assert str(landed.rows["created_at"].dtype) == "datetime64[us, UTC]"
