"""Reading landed days: bad rows quarantined with reason and location; bad sources named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from conftest import small_spec

from pipelines.lib.ingest.sources import SourceError, read_days

AS_OF = date(2026, 10, 2)  # the run's as-of day: a timestamp after it is future_timestamp
# When the exports land: records with no usable timestamp are placed in the last complete day, 10-01.
NOW = datetime(2026, 10, 2, 12, tzinfo=UTC)
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
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert landed.rows["ticket_id"].tolist() == ["T1"]
    assert landed.rows["body"].tolist() == ["multi\nline body"]
    assert str(landed.rows["created_at"].dtype) == "datetime64[us, UTC]"
    reasons = dict(zip(landed.quarantine["record_id"], landed.quarantine["reason"], strict=True))
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


def test_a_day_no_export_has_records_of_is_an_empty_partition(tmp_path):
    spec = small_spec()
    land(tmp_path, "2026-10-01", HEADER + "T1,u1,x," + GOOD)
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-02"], as_of=AS_OF, now=NOW)
    assert len(landed.rows) == 0 and len(landed.quarantine) == 0 and landed.files["2026-10-02"][2] == 0


def test_a_missing_column_names_the_file_and_what_was_expected(tmp_path):
    spec = small_spec()
    land(
        tmp_path,
        "2026-10-01",
        HEADER.replace("category", "label") + "T1,u1,x,2026-10-01T10:00:00Z,email,en,Hi,b,Billing\n",
    )
    with pytest.raises(SourceError, match=r"2026-10-01.csv: missing column\(s\) \['category'\]"):
        read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)


def test_a_header_only_day_is_an_empty_partition(tmp_path):
    spec = small_spec()
    land(tmp_path, "2026-10-01", HEADER)
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert len(landed.rows) == 0 and len(landed.quarantine) == 0
    assert "row" not in landed.rows.columns
    assert str(landed.rows["created_at"].dtype) == "datetime64[us, UTC]"


GOOD = "2026-10-01T10:00:00Z,email,en,Hi,body,Billing\n"


def test_malformed_csv_records_are_quarantined_with_their_line_and_the_rest_is_read(tmp_path):
    spec = small_spec()
    land_bytes(
        tmp_path,
        "2026-10-01",
        HEADER.encode()
        + b"T1,u1,x,"
        + GOOD.encode()
        + b"T2,u2,x,2026-10-01T10:00:00Z,email,en,Hi,body,Billing,extra field\n"
        + b"T3,u3,x,2026-10-01T10:00:00Z,email,en,Hi,caf\xe9 au lait,Billing\n"
        + b'T4,u4,x,2026-10-01T10:00:00Z,email,en,Hi,"a quote never closed,Billing\n'
        # UTF-8 beside the byte T3 damaged: the file is UTF-8, so T3 is bad_encoding (not a cp1252 file).
        + "T5,u5,x,2026-10-01T10:00:00Z,email,de,Hi,Grüße,Billing\n".encode()
        + b"T6,u6,x,2026-10-01T10:00:00Z,email,en\n"
        + b'T7,u7,x,2026-10-01T10:00:00Z,email,en,Hi,"two\nlines",Billing\n'
        + b"T8,u8,x,"
        + GOOD.encode()
        + b'"anna.smith@example.com, call me",x\n',  # a shifted record: its "id" is PII, not an id
    )
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert landed.rows["ticket_id"].tolist() == ["T1", "T5", "T7", "T8"]
    bad = landed.quarantine[["record_id", "reason", "row", "line"]].to_dict("records")
    assert bad == [
        {"record_id": "T2", "reason": "malformed_record", "row": 2, "line": 3},
        {"record_id": "T3", "reason": "bad_encoding", "row": 3, "line": 4},
        {"record_id": "T4", "reason": "malformed_record", "row": 4, "line": 5},
        {"record_id": "T6", "reason": "malformed_record", "row": 6, "line": 7},
        {"record_id": "", "reason": "malformed_record", "row": 9, "line": 11},
    ]
    assert landed.files["2026-10-01"][2] == 9  # every record counted: 4 read + 5 quarantined


def test_malformed_jsonl_lines_are_quarantined_and_the_rest_is_read(tmp_path):
    source = small_spec().sources[0].model_copy(update={"format": "jsonl"})
    spec = small_spec().model_copy(update={"sources": [source]})
    good = '{"ticket_id": "%s", "user_id": "u", "customer_email": "x", "created_at": "2026-10-01T10:00:00Z", '
    good += '"channel": "chat", "language": "en", "subject": "Hi", "body": "b", "category": "Billing"}\n'
    folder = tmp_path / "data" / "landing" / "tickets"
    folder.mkdir(parents=True)
    (folder / "2026-10-01.jsonl").write_bytes(
        (good % "J1").encode()
        + b'{"ticket_id": "J2", "body": \n'
        + b"\n"
        + (good % "J3").replace("Hi", "caf\xe9").encode("latin-1")
        + b"[1, 2]\n"
        # UTF-8 beside the byte J3 damaged: the file is UTF-8, so J3 is bad_encoding (not latin-1).
        + (good % "J4").replace("Hi", "Grüße").encode()
    )
    landed = read_days(tmp_path, spec, source, ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert landed.rows["ticket_id"].tolist() == ["J1", "J4"]
    bad = landed.quarantine[["record_id", "reason", "line"]].to_dict("records")
    assert bad == [
        {"record_id": "J2", "reason": "malformed_record", "line": 2},
        {"record_id": "J3", "reason": "bad_encoding", "line": 4},
        {"record_id": "", "reason": "malformed_record", "line": 5},
    ]


def test_oversize_text_is_quarantined(tmp_path):
    spec = small_spec()
    long_body = "log line " * 3000  # 27,000 characters, over the default 20,000
    land(
        tmp_path,
        "2026-10-01",
        HEADER + "T1,u1,x," + GOOD + f"T2,u2,x,2026-10-01T10:00:00Z,web,en,Hi,{long_body},Other\n",
    )
    landed = read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert landed.rows["ticket_id"].tolist() == ["T1"]
    assert landed.quarantine["reason"].tolist() == ["oversize_text"]


def test_an_id_landed_on_another_day_is_a_duplicate(tmp_path):
    spec = small_spec()
    land(
        tmp_path,
        "2026-10-02",
        HEADER + "T1,u1,x," + GOOD.replace("10-01", "10-02") + "T9,u9,x," + GOOD.replace("10-01", "10-02"),
    )
    landed = read_days(
        tmp_path, spec, spec.sources[0], ["2026-10-02"], as_of=AS_OF, now=NOW, known_ids=pd.Series(["T1"])
    )
    assert landed.rows["ticket_id"].tolist() == ["T9"]
    assert landed.quarantine[["record_id", "reason"]].values.tolist() == [["T1", "duplicate_id"]]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty: expected at least the header line"),
        (b"\xff\xfe\x00garbage\n1,2\n", "the file is not utf-16-le from byte 12 on"),
        (b"\x00\x01\x02\xff\xfe\xc3\n1,2\n", "the header line is not CSV text in UTF-8 or a detectable encoding"),
        (b"a,,b\n1,2,3\n", "blank column names \\(at positions \\[2\\]\\) or 0 repeated"),
    ],
)
def test_an_unreadable_file_names_the_source_the_file_and_what_is_wrong(tmp_path, content, expected):
    spec = small_spec()
    land_bytes(tmp_path, "2026-10-01", content)
    with pytest.raises(SourceError, match=rf"source 'tickets', file data/landing/tickets/2026-10-01.csv: .*{expected}"):
        read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)


def land_bytes(root, day, content: bytes):
    folder = root / "data" / "landing" / "tickets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{day}.csv").write_bytes(content)


def test_a_parquet_export_whose_column_types_changed_is_refused_by_name(tmp_path):
    source = small_spec().sources[0].model_copy(update={"format": "parquet"})
    spec = small_spec().model_copy(update={"sources": [source]})
    folder = tmp_path / "data" / "landing" / "tickets"
    folder.mkdir(parents=True)
    row = {"ticket_id": "P1", "user_id": "u1", "customer_email": "x", "channel": "chat", "language": "en"}
    row |= {"subject": "Hi", "body": "b", "category": "Billing"}
    good = pd.DataFrame([row | {"created_at": pd.Timestamp("2026-10-01T10:00:00Z")}])
    good.to_parquet(folder / "2026-10-01.parquet")
    assert read_days(tmp_path, spec, source, ["2026-10-01"], as_of=AS_OF, now=NOW).rows["ticket_id"].tolist() == ["P1"]

    pd.DataFrame([row | {"created_at": 1790000000, "category": 3}]).to_parquet(folder / "2026-10-02.parquet")
    with pytest.raises(
        SourceError,
        match=r"10-02.parquet: column types changed: created_at is int64, expected a timestamp .*category is int64",
    ):
        read_days(tmp_path, spec, source, ["2026-10-02"], as_of=AS_OF, now=NOW)


def test_a_rename_that_misses_the_exports_column_names_the_rename_and_the_close_header_name(tmp_path):
    spec = small_spec()
    source = spec.sources[0].model_copy(update={"rename": {"Ticket Id": "ticket_id", "Team": "category"}})
    header = HEADER.replace("ticket_id", "Ticket ID").replace("category", "Team")
    land(tmp_path, "2026-10-01", header + "T1,u1,x,2026-10-01T10:00:00Z,email,en,Hi,b,Billing\n")
    with pytest.raises(SourceError) as caught:
        read_days(tmp_path, spec, source, ["2026-10-01"], as_of=AS_OF, now=NOW)
    message = str(caught.value)
    assert "`rename:` names export column(s) ['Ticket Id'], which the file does not have" in message
    assert "Did you mean 'Ticket ID' for 'Ticket Id'?" in message and "'Ticket ID'," in message  # a header: shown
    # a line that is no header (a record where the names should be) still shows no value
    land(tmp_path, "2026-10-01", "T1,u1,ana@example.com,2026-10-01T10:00:00Z,email,en,Hi,b,Billing\n")
    with pytest.raises(SourceError) as caught:
        read_days(tmp_path, spec, spec.sources[0], ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert "ana@example.com" not in str(caught.value)


def test_language_tags_are_read_as_their_code_and_a_sources_values_mapped_to_ours(tmp_path):
    spec = small_spec()
    source = spec.sources[0].model_copy(update={"value_map": {"channel": {"Email": "email", "Web form": "web"}}})
    rows = [
        "T1,u1,x,2026-10-01T10:00:00Z,Email,en-US,Hi,b,Billing",
        "T2,u2,x,2026-10-01T11:00:00Z,Web form,pt_BR,Oi,b,Billing",
        "T3,u3,x,2026-10-01T12:00:00Z,chat,DE,Hallo,b,Billing",
    ]
    land(tmp_path, "2026-10-01", HEADER + "\n".join(rows) + "\n")
    landed = read_days(tmp_path, spec, source, ["2026-10-01"], as_of=AS_OF, now=NOW)
    assert landed.rows["language"].tolist() == ["en", "pt", "de"]
    assert landed.rows["channel"].tolist() == ["email", "web", "chat"]


def test_a_value_map_of_a_column_without_a_segment_role_is_refused():
    from pipelines.lib.spec import DatasetSpec

    document = small_spec().model_dump(mode="json")
    document["sources"][0]["value_map"] = {"subject": {"Hi": "Hello"}}
    with pytest.raises(ValueError, match="value_map names 'subject', which is not the language column or a segment"):
        DatasetSpec.model_validate(document)
