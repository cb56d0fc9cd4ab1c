"""Ingest field cases (`tests/fixtures/ingest_cases/`, see its README.md): exports rebuilt from
public bug reports of other data tools, each landed as one day of ticket_triage's source and read
by the real steps: encodings, delimiters, padding rows, unclosed quotes, ids written as numbers,
time zones. Assertion messages name ids and counts, never the records' text."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import FIXTURES, small_spec

from pipelines.lib.ingest.encodings import Utf8, as_utf8
from pipelines.lib.ingest.records import read_records
from pipelines.lib.ingest.sources import SourceError, read_days
from pipelines.lib.ingest.steps import IngestBatch, land_raw
from pipelines.lib.ingest.timestamps import parse_timestamps
from pipelines.lib.privacy.erasure import erased_pseudonyms, record_request
from pipelines.lib.privacy.policies import load_opt_outs
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.privacy.steps import redact_partitions
from pipelines.lib.quality.reconcile import reconcile_raw
from pipelines.lib.spec import DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths

CASES = FIXTURES / "ingest_cases"
DAY = "2026-11-20"
NEXT_DAY = "2026-11-21"
AS_OF = date(2026, 11, 20)  # every case's tickets are of this day
KEY = b"field-case-key-0123456789"
TRAINSET = str(Path(sys.executable).parent / "trainset")


def landed(root: Path, case: str, content: bytes | None = None, **source: str) -> tuple[DatasetSpec, Path]:
    """ticket_triage with one source landing `case` (or `content` in its format) as the day's file;
    `source` sets the source's keys (encoding, delimiter, timezone)."""
    kind = Path(case).suffix.lstrip(".")
    spec = small_spec()
    declared = SourceSpec.model_validate(spec.sources[0].model_dump() | {"format": kind, **source})
    spec = spec.model_copy(update={"sources": [declared]})
    folder = root / declared.path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{DAY}.{kind}"
    if content is None:
        shutil.copyfile(CASES / case, target)
    else:
        target.write_bytes(content)
    return spec, target


def read(root: Path, case: str, content: bytes | None = None, as_of: date = AS_OF, days=(DAY,), **source: str):
    """The case landed, then `days` of it read (records are placed in the UTC day of their timestamp)."""
    spec, _ = landed(root, case, content, **source)
    return read_days(root, spec, spec.sources[0], list(days), as_of=as_of)


def land(root: Path, case: str, **source: str) -> tuple[DatasetSpec, DatasetPaths, IngestBatch]:
    """The case through the raw asset's step: raw zone, quarantine, the day's report."""
    spec, _ = landed(root, case, **source)
    paths = DatasetPaths(root, spec.name)
    return spec, paths, land_raw(paths, spec, spec.sources[0].name, [DAY], AS_OF)


def quarantined(landed_days) -> list[tuple[str, str, int, int]]:
    q = landed_days.quarantine
    return list(zip(q["record_id"].fillna("<null>"), q["reason"], q["row"], q["line"], strict=True))


# -- encodings and shapes --------------------------------------------------------------------------


def test_excel_utf8_with_bom_and_crlf_keeps_ids_and_the_multiline_body_whole(tmp_path):
    spec, paths, batch = land(tmp_path, "excel-bom-crlf-numeric-ids.csv")
    raw = pd.read_parquet(paths.raw("tickets", DAY))
    assert raw["ticket_id"].tolist() == ["000101", "000102", "000103"]
    assert raw["body"].iloc[0] == "Hello,\r\nI was charged twice.\r\nThanks", "the quoted body is not kept whole"
    assert batch.accounting.rows_in == 3 and batch.accounting.removed == {}
    assert reconcile_raw(paths, "tickets", [DAY]).passed
    # The next step runs on it too: redaction keeps the ids and the rows.
    redacted = redact_partitions(paths, spec, [DAY], KEY)
    assert redacted.accounting.rows_out == 3
    rows = read_records(CASES / "excel-bom-crlf-numeric-ids.csv", "csv", "ticket_id").rows
    assert rows["line"].tolist() == [2, 5, 6]


def test_a_utf8_file_read_record_by_record_keeps_the_ids_as_well(tmp_path):
    """The slow path (a malformed record sends the file there) gives the same text."""
    content = (CASES / "excel-bom-crlf-numeric-ids.csv").read_bytes() + b"000104,only,three\r\n"
    landed_days = read(tmp_path, "excel-bom-crlf-numeric-ids.csv", content)
    assert landed_days.rows["ticket_id"].tolist() == ["000101", "000102", "000103"]
    assert landed_days.rows["body"].iloc[0] == "Hello,\r\nI was charged twice.\r\nThanks"
    assert quarantined(landed_days) == [("000104", "malformed_record", 4, 7)]


def test_utf16_with_its_byte_order_mark_is_read(tmp_path):
    text = (CASES / "excel-bom-crlf-numeric-ids.csv").read_bytes().decode("utf-8-sig")
    for codec in ("utf-16", "utf-16-be"):
        content = (b"\xfe\xff" if codec == "utf-16-be" else b"") + text.encode(codec)
        landed_days = read(tmp_path / codec, "excel-bom-crlf-numeric-ids.csv", content)
        assert landed_days.rows["ticket_id"].tolist() == ["000101", "000102", "000103"], codec
        assert landed_days.rows["subject"].tolist() == ["Refund please", "App crashes", "Konto sperren"]


@pytest.mark.parametrize("declared", [None, "cp1252", "windows-1252"])
def test_a_windows_1252_export_is_read_with_its_characters_declared_or_detected(tmp_path, declared):
    source = {"encoding": declared} if declared else {}
    landed_days = read(tmp_path, "cp1252-export.csv", **source)
    rows = landed_days.rows.set_index("ticket_id")
    assert rows.index.tolist() == ["F12-001", "F12-002", "F12-003", "F12-004"] and not len(landed_days.quarantine)
    assert rows.loc["F12-001", "subject"] == "Can\u2019t log in", "the curly apostrophe is not read"
    assert "20 \u20ac est erron\u00e9e" in rows.loc["F12-002", "body"], "the euro sign or the accent is not read"


def test_bytes_no_encoding_reads_are_quarantined_as_bad_encoding_with_row_and_line(tmp_path):
    # Declared UTF-8: no detection, the two records with cp1252 bytes are set aside.
    declared = read(tmp_path / "declared", "cp1252-export.csv", encoding="utf-8")
    assert declared.rows["ticket_id"].tolist() == ["F12-003", "F12-004"]
    assert quarantined(declared) == [("F12-001", "bad_encoding", 1, 2), ("F12-002", "bad_encoding", 2, 3)]
    # Undeclared, beside correct UTF-8: a damaged UTF-8 file, not a cp1252 one.
    lines = (CASES / "cp1252-export.csv").read_bytes().split(b"\r\n")
    utf8 = "F12-005,u7105,Hal Test,h@example.org,2026-11-20T13:00:00Z,web,de,Grüße,Schöne Grüße,Other".encode()
    mixed = read(tmp_path / "mixed", "cp1252-export.csv", b"\r\n".join([*lines[:-1], utf8, b""]))
    assert mixed.rows["ticket_id"].tolist() == ["F12-003", "F12-004", "F12-005"]
    assert mixed.rows["subject"].iloc[-1] == "Grüße"
    assert quarantined(mixed) == [("F12-001", "bad_encoding", 1, 2), ("F12-002", "bad_encoding", 2, 3)]


def test_detection_prefers_windows_1252_on_a_tie_and_takes_another_code_page_only_where_it_reads_better():
    """Most Windows code pages read the case's bytes alike; Polish letters read only as cp1250."""
    assert as_utf8((CASES / "cp1252-export.csv").read_bytes()).encoding == "cp1252"
    polish = "Zażółć gęślą jaźń, proszę o fakturę"
    assert as_utf8(polish.encode("cp1250")) == Utf8(polish.encode(), "cp1250")
    assert as_utf8(b"\x00\x01\x02\xff\xfe\xc3") == Utf8(b"\x00\x01\x02\xff\xfe\xc3", "utf-8")  # noise: left as is


@pytest.mark.parametrize("declared", [None, ";"])
def test_a_semicolon_export_is_split_at_its_delimiter_declared_or_sniffed(tmp_path, declared):
    source = {"delimiter": declared} if declared else {}
    landed_days = read(tmp_path, "semicolon-export.csv", **source)
    assert landed_days.rows["ticket_id"].tolist() == ["F16-001", "F16-002"] and not len(landed_days.quarantine)
    assert landed_days.rows["body"].tolist() == ["Betrag 19,99 EUR doppelt abgebucht", "App stürzt ab, Version 2,3"]


def test_a_wrong_delimiter_is_refused_naming_the_file_and_the_key(tmp_path):
    with pytest.raises(SourceError, match=r"2026-11-20.csv: missing column.*`delimiter:`"):
        read(tmp_path, "semicolon-export.csv", delimiter="|")


def test_trailing_all_empty_rows_are_counted_as_blank_records_not_quarantined(tmp_path):
    spec, paths, batch = land(tmp_path, "trailing-empty-rows.csv")
    assert pd.read_parquet(paths.raw("tickets", DAY))["ticket_id"].tolist() == ["T-9001", "T-9002", "T-9003"]
    assert len(pd.read_parquet(paths.quarantine_part("tickets", DAY))) == 0
    [day] = batch.days
    assert day.accounting.rows_in == 43 and day.accounting.rows_out == 3
    assert day.accounting.removed == {"blank_record": 40} and day.quarantined == {}
    # What max_quarantine_rate counts as quarantined: none of them.
    assert batch.accounting.removed_for("quarantined:") == 0
    assert reconcile_raw(paths, "tickets", [DAY]).passed


def test_all_empty_jsonl_and_parquet_records_are_blank_too(tmp_path):
    row = '{"ticket_id": "J1", "user_id": "u1", "created_at": "2026-11-20T09:00:00Z", "channel": "web", '
    row += '"language": "en", "subject": "s", "body": "b", "category": "Other"}\n'
    empty = '{"ticket_id": null, "user_id": "", "created_at": " ", "channel": null, "language": null, '
    empty += '"subject": null, "body": null, "category": null}\n{}\n'
    landed_days = read(tmp_path, "case.jsonl", (row + empty).encode())
    assert landed_days.rows["ticket_id"].tolist() == ["J1"] and not len(landed_days.quarantine)
    assert landed_days.blank == {DAY: 2} and landed_days.files[DAY][2] == 3


def test_an_unclosed_quote_quarantines_its_record_once_and_the_records_after_it_are_read(tmp_path):
    spec, paths, batch = land(tmp_path, "unclosed-quote-multiline.csv")
    assert pd.read_parquet(paths.raw("tickets", DAY))["ticket_id"].tolist() == ["T-9101", "T-9103", "T-9104"]
    bad = pd.read_parquet(paths.quarantine_part("tickets", DAY))
    assert bad[["record_id", "reason", "row", "line"]].values.tolist() == [["T-9102", "malformed_record", 2, 3]]
    assert batch.accounting.rows_in == 4 and reconcile_raw(paths, "tickets", [DAY]).passed
    rows = read_records(CASES / "unclosed-quote-multiline.csv", "csv", "ticket_id").rows
    assert rows[["ticket_id", "row", "line"]].values.tolist() == [["T-9101", 1, 2], ["T-9103", 3, 8], ["T-9104", 4, 9]]


def test_a_quote_left_open_in_the_last_column_does_not_swallow_the_file(tmp_path):
    """Arrow would read every later line into that one value without complaint."""
    lines = (CASES / "unclosed-quote-multiline.csv").read_text().splitlines()
    content = "\n".join([lines[0], lines[1].replace(",Billing", ',"Billing'), lines[7], lines[8], ""])
    landed_days = read(tmp_path, "unclosed-quote-multiline.csv", content.encode())
    assert landed_days.rows["ticket_id"].tolist() == ["T-9103", "T-9104"]
    assert quarantined(landed_days) == [("T-9101", "malformed_record", 1, 2)]
    assert landed_days.files[DAY][2] == 3


# -- values kept exactly -----------------------------------------------------------------------------


def test_jsonl_numeric_ids_are_kept_as_written_and_rows_with_a_null_id_are_quarantined(tmp_path):
    landed_days = read(tmp_path, "jsonl-numeric-ids-nulls.jsonl")
    assert landed_days.rows["ticket_id"].tolist() == ["9007199254740993", "9007199254740997"]
    assert landed_days.rows["user_id"].tolist() == ["1001", "1002"]
    assert quarantined(landed_days) == [
        ("9007199254740995", "missing_required_field", 2, 2),
        ("<null>", "missing_required_field", 4, 4),
    ]


def test_jsonl_read_line_by_line_keeps_every_digit_too(tmp_path):
    """A line that is not JSON, a float column and an integer beyond int64 each send the file to
    the slow path: numbers keep their written text there as well."""
    base = (CASES / "jsonl-numeric-ids-nulls.jsonl").read_text()
    beyond = base.splitlines()[0].replace("9007199254740993", "123456789012345678901234567890")
    for name, extra in {
        "not-json": "not json at all\n",
        "float": beyond.replace('"channel"', '"score": 1.50, "channel"') + "\n",
    }.items():
        landed_days = read(tmp_path / name, "case.jsonl", (base + extra).encode())
        ids = landed_days.rows["ticket_id"].tolist()
        assert ids[:2] == ["9007199254740993", "9007199254740997"], name
        assert landed_days.rows["user_id"].tolist()[:2] == ["1001", "1002"], name
        if name == "float":
            assert ids[2] == "123456789012345678901234567890" and landed_days.rows["score"].iloc[2] == "1.50"


def test_parquet_nullable_int64_user_id_is_1001_not_1001_0(tmp_path):
    landed_days = read(tmp_path, "parquet-nullable-int-user.parquet")
    assert landed_days.rows["user_id"].tolist() == ["1001", "1002"]
    assert landed_days.rows["ticket_id"].tolist() == ["5001", "5003"]
    assert quarantined(landed_days) == [("5002", "missing_required_field", 2, 2)]


@pytest.mark.parametrize("case", ["jsonl-numeric-ids-nulls.jsonl", "parquet-nullable-int-user.parquet"])
def test_the_pseudonym_of_user_1001_is_the_one_forget_and_the_opt_out_table_compute(tmp_path, case):
    spec, paths, _ = land(tmp_path, case)
    redact_partitions(paths, spec, [DAY], KEY)
    redacted = pd.read_parquet(paths.redacted(DAY))
    landed_pseudonym = redacted["user_id"].iloc[0]  # user 1001's row comes first
    # `trainset forget 1001` records the erasure request through these functions.
    record_request(tmp_path, "1001", {spec.name: KEY}, "field case")
    assert list(erased_pseudonyms(tmp_path, KEY)) == [landed_pseudonym]
    # The consent table as written by a spreadsheet, read as the pipeline reads it.
    opt_outs = tmp_path / "opt_outs.csv"
    opt_outs.write_text("user_id,opted_out_at\n1001,2026-11-01\n")
    assert pseudonymize(load_opt_outs(opt_outs, "user_id"), KEY).tolist() == [landed_pseudonym]


# -- time zones ----------------------------------------------------------------------------------------

UTC_INSTANTS = {
    "F13-001": "2026-11-21T03:30:00",
    "F13-002": "2026-11-21T03:10:00",
    "F13-003": "2026-11-20T23:30:00",
    "F13-004": "2026-11-20T09:00:00",
    "F13-005": "2026-11-20T15:00:00",  # naive 10:00 in New York (EST, -05:00)
    "F13-006": "2026-11-20T10:00:00.123456",
    "F13-007": "2026-11-20T02:45:00",
    "F13-008": "2026-11-20T12:00:00",
}


def test_offsets_are_instants_in_utc_and_a_naive_time_takes_the_declared_zone(tmp_path):
    landed_days = read(tmp_path, "tz-offsets.csv", timezone="America/New_York", days=(DAY, NEXT_DAY))
    assert not len(landed_days.quarantine), quarantined(landed_days)  # 22:30-05:00 on the as-of day is not future
    stored = landed_days.rows.set_index("ticket_id")["created_at"]
    assert str(stored.dtype) == "datetime64[us, UTC]"
    assert stored.to_dict() == {i: pd.Timestamp(t, tz="UTC") for i, t in UTC_INSTANTS.items()}
    # Each record is in the UTC day of its instant, whatever the export's name says.
    assert landed_days.rows.loc[landed_days.rows["partition"] == NEXT_DAY, "ticket_id"].tolist() == [
        "F13-001",
        "F13-002",
    ]
    default = read(tmp_path / "utc", "tz-offsets.csv").rows.set_index("ticket_id")["created_at"]
    assert default["F13-005"] == pd.Timestamp("2026-11-20T10:00:00", tz="UTC")  # no zone declared: UTC


def test_future_means_after_the_as_of_day_has_ended_everywhere(tmp_path):
    header = (CASES / "tz-offsets.csv").read_text().splitlines()[0]
    row = "{},u1,Tz Test,t@example.org,{},web,en,Billing question,Why was I charged twice,Billing"
    stamps = {"late": "2026-11-21T11:59:59Z", "next": "2026-11-21T12:00:00Z", "naive": "2026-11-21 09:00:00"}
    content = "\n".join([header, *(row.format(i, t) for i, t in stamps.items()), ""])
    landed_days = read(tmp_path, "tz-offsets.csv", content.encode(), timezone="Pacific/Auckland", days=(DAY, NEXT_DAY))
    assert landed_days.rows["ticket_id"].tolist() == ["naive", "late"]  # naive: 20:00 UTC on the as-of day
    assert quarantined(landed_days) == [("next", "future_timestamp", 2, 3)]


def test_naive_times_in_a_daylight_saving_fold_or_gap_are_kept(tmp_path):
    values = pd.Series(["2026-11-01 01:30:00", "2026-03-08 02:30:00", "2026-07-01 12:00:00", "not a time"], dtype="str")
    parsed = parse_timestamps(values, "America/New_York")
    assert parsed.tolist()[:3] == [
        pd.Timestamp("2026-11-01T05:30:00", tz="UTC"),  # the fold: the earlier instant (EDT)
        pd.Timestamp("2026-03-08T07:00:00", tz="UTC"),  # the gap: moved forward to 03:00 EDT
        pd.Timestamp("2026-07-01T16:00:00", tz="UTC"),
    ]
    assert pd.isna(parsed.iloc[3])


# -- trainset redact on the same exports ------------------------------------------------------------


def redact(source: Path, target: Path, *fields: str) -> subprocess.CompletedProcess:
    command = [TRAINSET, "redact", "--dataset", "ticket_triage", "--in", str(source), "--out", str(target)]
    return subprocess.run([*command, *(a for f in fields for a in ("--field", f))], capture_output=True, text=True)


def test_trainset_redact_keeps_the_bom_the_crlf_and_the_ids(tmp_path):
    source = CASES / "excel-bom-crlf-numeric-ids.csv"
    result = redact(source, tmp_path / "out.csv")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert (tmp_path / "out.csv").read_bytes() == source.read_bytes()  # no PII in subject or body: unchanged
    emails = redact(source, tmp_path / "emails.csv", "customer_email")
    assert emails.returncode == 0 and "email 3" in emails.stdout
    written = (tmp_path / "emails.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbfticket_id,") and written.count(b"\r\n") == 6
    assert b"000101,u7001" in written and written.count(b"@example.org") == 0


def test_trainset_redact_refuses_the_unclosed_quote_by_line_without_printing_the_record(tmp_path):
    source = CASES / "unclosed-quote-multiline.csv"
    result = redact(source, tmp_path / "out.csv", "body", "customer_email", "customer_name")
    assert result.returncode == 1  # bad data, not usage and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {source}, line 3: ") and "never closed" in result.stderr
    record = next(line for line in source.read_text().splitlines() if line.startswith("T-9102"))
    values = [value for value in record.split(",") if len(value) > 3] + ["every time I share", "Thanks"]
    printed = sum(value in result.stdout + result.stderr for value in values)
    assert printed == 0, f"{printed} values of the broken record were printed"
    assert not (tmp_path / "out.csv").exists()
