"""`trainset redact` on CSV, JSONL and Parquet exports: real files, the real command."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.lib.privacy.exports import jsonl_export
from pipelines.lib.privacy.exports.redact_file import RedactFileError, redact_file
from pipelines.lib.privacy.residue import residue_counts
from pipelines.synthetic.generate import GeneratorConfig, generate

TRAINSET = str(Path(sys.executable).parent / "trainset")
BOM = b"\xef\xbb\xbf"


def run(*args: str | Path):
    """`trainset redact ...` through click's runner (errors stay as exceptions to inspect), with
    ticket_triage's rules (after `make demo` the project declares a second dataset, help_desk)."""
    return CliRunner().invoke(cli, ["redact", "--dataset", "ticket_triage", *map(str, args)])


def test_generated_exports_are_redacted_in_the_chosen_fields_only(tmp_path):
    tickets = generate(GeneratorConfig(rows=800, seed=4)).tickets
    writers = {
        "csv": lambda p: tickets.to_csv(p, index=False),
        "jsonl": lambda p: tickets.to_json(p, orient="records", lines=True, force_ascii=False),
        "parquet": lambda p: tickets.to_parquet(p),
    }
    readers = {"csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet}
    for kind, write in writers.items():
        source, target = tmp_path / f"in.{kind}", tmp_path / f"out.{kind}"
        write(source)
        result = run("--in", source, "--out", target, "--field", "body", "--field", "customer_email")
        assert result.exit_code == 0, result.output
        assert "800 records" in result.output and "email" in result.output and "@" not in result.output
        out = readers[kind](target)
        assert len(out) == len(tickets) and list(out.columns) == list(tickets.columns)
        assert not any(residue_counts(out.astype({"body": "str"}), ["body"]).values())
        assert (out["customer_email"] == "<EMAIL>").all()
        assert out["subject"].astype("str").tolist() == tickets["subject"].tolist()  # not asked for: untouched


# JSONL: (line as written, the same line redacted in `body`). Everything but body's value must come
# out byte for byte: ids as written, integers past 2^53, 1.50, null, true, nested values (with a
# "body" key of their own), key order, spacing, escapes.
JSONL_LINES = [
    (
        '{"id": 1001, "big": 12345678901234567890, "price": 1.50, "gone": null, "ok": true, '
        '"meta": {"tags": ["a", {"body": "bo@example.org"}]}, "body": "write to ana@example.com", '
        '"n": 9007199254740993}',
        '{"id": 1001, "big": 12345678901234567890, "price": 1.50, "gone": null, "ok": true, '
        '"meta": {"tags": ["a", {"body": "bo@example.org"}]}, "body": "write to <EMAIL>", '
        '"n": 9007199254740993}',
    ),
    (  # escapes in the redacted value are written again: quotes, backslashes, \n, \t, \u0001
        r'{"body" : "say \"hi\" C:\\dir\\ \n\t\u0001 caf\u00e9 ana@example.com" , "id":2, "note": "caf\u00e9\/"}',
        r'{"body" : "say \"hi\" C:\\dir\\ \n\t\u0001 café <EMAIL>" , "id":2, "note": "caf\u00e9\/"}',
    ),
    (  # non-ASCII stays UTF-8; a customer_email field not asked for keeps its address
        '{"customer_email": "ana@example.com", "body": "ünïcödé 日本 😀 ana@example.com"}',
        '{"customer_email": "ana@example.com", "body": "ünïcödé 日本 😀 <EMAIL>"}',
    ),
    (  # nothing to replace: the line is left exactly as written, escapes and all
        r'{"body": "caf\u00e9 \"ok\" \\", "after": "ana@example.com"}',
        r'{"body": "caf\u00e9 \"ok\" \\", "after": "ana@example.com"}',
    ),
    (  # a value ending in an escaped backslash, then more fields
        r'{"body": "call +44 7911 123456 \\", "x": [1, {"y": "\"}"}]}',
        r'{"body": "call <PHONE> \\", "x": [1, {"y": "\"}"}]}',
    ),
]


@pytest.mark.parametrize(
    ("eol", "bom", "last_eol"), [("\n", False, True), ("\r\n", True, True), ("\n", False, False)], ids=str
)
def test_jsonl_changes_only_the_redacted_values(tmp_path, monkeypatch, eol, bom, last_eol):
    written = [line for line, _ in JSONL_LINES] * 3 + [""]  # and a blank line
    expected = [line for _, line in JSONL_LINES] * 3 + [""]
    source = tmp_path / "in.jsonl"
    prefix = BOM if bom else b""
    source.write_bytes(prefix + (eol.join(written) + (eol if last_eol else "")).encode())
    # Several chunks even for a small file; at 64 bytes every line is longer than a chunk.
    for chunk_bytes in (256, 64):
        monkeypatch.setattr(jsonl_export, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(jsonl_export, "MAX_CHUNK_BYTES", chunk_bytes)
        target = tmp_path / f"out{chunk_bytes}.jsonl"
        result = run("--in", source, "--out", target, "--field", "body")
        assert result.exit_code == 0, result.output
        assert target.read_bytes() == prefix + (eol.join(expected) + (eol if last_eol else "")).encode()
        assert "15 records" in result.output and "email 9" in result.output and "phone 3" in result.output


def test_jsonl_values_that_are_not_text(tmp_path):
    lines = [
        '{"id": 1, "phone": 4155550134}',  # a phone number written as a number: read as text
        '{"id": 2, "phone": 12}',
        '{"id": 3, "phone": null}',
        '{"id": 4, "phone": {"home": "ana@example.com"}}',
        '{"id": 5, "phone": true}',
        '{"id": 6}',
        '{"id": 7, "phone": "+44 7911 123456"}',
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = run("--in", source, "--out", target, "--field", "phone")
    assert result.exit_code == 0, result.output
    out = target.read_text().splitlines()
    assert out[0] == '{"id": 1, "phone": "<PHONE>"}' and out[6] == '{"id": 7, "phone": "<PHONE>"}'
    assert out[3] == '{"id": 4, "phone": {"home": "<EMAIL>"}}'
    assert out[1:3] == lines[1:3] and out[4:6] == lines[4:6]
    summary = result.output.strip()
    assert "\n" not in summary and "phone 2" in summary and "email 1" in summary
    for said in ("2 number (read as text)", "1 null (kept)", "1 object or array", "1 true/false (kept)"):
        assert said in summary
    assert "1 missing (kept)" in summary


def test_jsonl_objects_and_arrays_in_a_redacted_field(tmp_path):
    """Strings and numbers inside are redacted; the rest of the value is kept as written, and a
    value where nothing was replaced is not touched at all."""
    lines = [
        '{"id": 1, "contact": {"home": "ana@example.com", "n": [4155550134, 12, 1.10, true, null]}, "x": 2}',
        '{"id": 2, "contact": ["+44 7911 123456", {"note": "caf\\u00e9 \\"Jos\u00e9\\" 0151 2345678"}]}',
        '{"id": 3, "contact":{"home":"nothing here"}}',
        '{"id": 4, "contact": "call 0151 2345678"}',
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("--in", source, "--out", target, "--field", "contact")
    assert result.exit_code == 0, result.output
    out = target.read_text(encoding="utf-8").splitlines()
    assert out[0] == '{"id": 1, "contact": {"home": "<EMAIL>", "n": ["<PHONE>", 12, 1.10, true, null]}, "x": 2}'
    assert out[1] == '{"id": 2, "contact": ["<PHONE>", {"note": "café \\"José\\" <PHONE>"}]}'
    assert out[2:] == [lines[2], '{"id": 4, "contact": "call <PHONE>"}']
    assert "email 1" in result.output and "phone 4" in result.output


def test_jsonl_nested_value_that_is_not_json_is_refused(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"id": 1, "contact": "ok"}\n{"id": 2, "contact": {"a": "b",}}\n')
    result = run("--in", source, "--out", target, "--field", "contact")
    assert isinstance(result.exception, RedactFileError), result.output
    assert f"{source}, line 2" in str(result.exception) and not target.exists()


def test_csv_keeps_every_column_as_text(tmp_path):
    header = ["id", "body", "note", "amount"]
    rows = [
        ["1001", 'He said "hi"; call +44 7911 123456', "007", "1e5"],
        ["1002", "line one\r\nline two ana@example.com", "", "NaN"],
        ["", "", "", ""],  # an all-empty row, as exports end
        ["1003", "ünïcödé 😀, no PII", "NULL", "true"],
    ]
    for delimiter, eol, bom in ((";", "\r\n", True), (",", "\n", False), ("\t", "\r\n", False)):
        source, target = tmp_path / "in.csv", tmp_path / "out.csv"
        target.unlink(missing_ok=True)
        text = io.StringIO(newline="")
        csv.writer(text, delimiter=delimiter, lineterminator=eol).writerows([header, *rows])
        source.write_bytes((BOM if bom else b"") + text.getvalue().encode())
        result = run("--in", source, "--out", target, "--field", "body")
        assert result.exit_code == 0, result.output
        data = target.read_bytes()
        assert data.startswith(BOM) == bom and data.count(eol.encode()) >= len(rows) + 1
        out = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))
        assert out[0] == header
        assert [r[:1] + r[2:] for r in out[1:]] == [r[:1] + r[2:] for r in rows]
        assert [r[1] for r in out[1:]] == [
            'He said "hi"; call <PHONE>',
            "line one\r\nline two <EMAIL>",
            "",
            "ünïcödé 😀, no PII",
        ]
        # Quoted only where it must be, as Python's csv module writes: the same bytes but the values
        # replaced.
        expected = text.getvalue().replace("+44 7911 123456", "<PHONE>").replace("ana@example.com", "<EMAIL>")
        assert data.decode("utf-8-sig") == expected


def test_csv_of_one_column_keeps_its_empty_records(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text('body\nmail ana@example.com\n""\nno PII\n')
    result = run("--in", source, "--out", target, "--field", "body")
    assert result.exit_code == 0, result.output
    assert target.read_text() == 'body\nmail <EMAIL>\n""\nno PII\n'
    assert "3 records" in result.output


def test_parquet_keeps_the_schema(tmp_path):
    table = pa.table(
        {
            "id": pa.array([2**63 - 1, None, 1001], pa.int64()),
            "body": pa.array(["mail ana@example.com", None, "café, no PII"], pa.string()),
            "channel": pa.array(["email", "chat", "email"]).dictionary_encode(),
            "meta": pa.array([{"x": 1, "tags": ["a"]}, None, {"x": 2, "tags": []}]),
            "subject": pa.array(["call +44 7911 123456", "x", "y"], pa.large_string()),
        }
    ).replace_schema_metadata({"origin": "crm"})
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, source, compression="zstd")
    result = run("--in", source, "--out", target, "--field", "body", "--field", "subject")
    assert result.exit_code == 0, result.output
    assert "1 null (kept)" in result.output
    out, written = pq.read_table(target), pq.read_table(source)
    assert out.schema.equals(written.schema, check_metadata=True)
    assert out["body"].to_pylist() == ["mail <EMAIL>", None, "café, no PII"]
    assert out["subject"].to_pylist() == ["call <PHONE>", "x", "y"]
    assert out.drop_columns(["body", "subject"]).equals(written.drop_columns(["body", "subject"]))
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "ZSTD"


def test_regions_decide_which_national_numbers_are_phones(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "601 234 567"}\n')  # a Polish mobile; nine digits are no US number
    kept = run("--in", source, "--out", tmp_path / "us.jsonl", "--field", "body", "--regions", "US")
    redacted = run("--in", source, "--out", tmp_path / "pl.jsonl", "--field", "body", "--regions", "pl")
    assert kept.exit_code == 0 and redacted.exit_code == 0, kept.output + redacted.output
    assert (tmp_path / "us.jsonl").read_text() == '{"body": "601 234 567"}\n'
    assert (tmp_path / "pl.jsonl").read_text() == '{"body": "<PHONE>"}\n'


BAD_INPUTS = {
    "malformed.jsonl": (b'{"body": "a"}\n{"body": "b"\n', "line 2: not valid JSON"),
    "twice.jsonl": (
        b'{"body": "a"}\n\n{"body": "b", "body": "ana@example.com"}\n',
        "line 3: field 'body': the field is given twice",
    ),
    "twice_mixed.jsonl": (
        b'{"body": 5}\n{"body": "b", "body": "ana@example.com"}\n',
        "line 2: field 'body': the field is given twice",
    ),
    "escaped_key.jsonl": (
        b'{"b\\u006fdy": "ana@example.com"}\n',
        "line 1: field 'body' is written in a way that cannot",
    ),
    "list.jsonl": (b'{"body": "a"}\n[1, 2]\n', "line 2: a JSON list, not an object"),
    "latin1.jsonl": (b'{"body": "caf\xe9"}\n', "line 1: not UTF-8"),
    "deep.jsonl": (b'{"a": [[[[[[[[[[1]]]]]]]]]], "body": "x"}\n', "line 1: field 'body': objects nested more than"),
    "nofield.jsonl": (b'{"id": 1, "text": "a"}\n', "no line has the field(s) ['body']; its fields are ['id', 'text']"),
    "columns.csv": (b"id,body\n1,a\n2,b,c\n", "line 3: 3 fields where the header has 2"),
    "unclosed.csv": (b'id,body\n1,"ok"\n2,"never closed\n3,x\n', "line 3: unexpected end of data"),
    "latin1.csv": (b"id,body\n1,a\n2,caf\xe9\n", "line 3: not UTF-8"),
    "twice.csv": (b"id,body,body\n1,a,b\n", "the header names ['body'] more than once"),
    "nofield.csv": (b"id;text\n1;a\n", "no field(s) ['body']; its fields are ['id', 'text']"),
    "notparquet.parquet": (b"id,body\n", "cannot be read as Parquet"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_named_with_its_line(tmp_path, name):
    data, message = BAD_INPUTS[name]
    source, target = tmp_path / name, tmp_path / f"out{Path(name).suffix}"
    source.write_bytes(data)
    result = run("--in", source, "--out", target, "--field", "body")
    assert isinstance(result.exception, RedactFileError), result.output
    assert str(source) in str(result.exception) and message in str(result.exception)
    assert not target.exists() and list(tmp_path.iterdir()) == [source]  # nothing half-written


def test_a_bad_line_is_numbered_in_the_whole_file(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl_export, "CHUNK_BYTES", 64)  # the bad line is in a later chunk
    monkeypatch.setattr(jsonl_export, "MAX_CHUNK_BYTES", 64)
    source = tmp_path / "in.jsonl"
    good = '{"id": 1, "body": "write to ana@example.com"}\n'
    source.write_text(good * 7 + '{"id": 8, "body": "no closing brace"\n' + good)
    result = run("--in", source, "--out", tmp_path / "out.jsonl", "--field", "body")
    assert isinstance(result.exception, RedactFileError)
    assert f"{source}, line 8: not valid JSON" in str(result.exception)


def test_errors_reach_the_user_without_a_traceback(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(BAD_INPUTS["malformed.jsonl"][0])
    result = subprocess.run(
        [
            TRAINSET,
            "redact",
            "--dataset",
            "ticket_triage",
            "--in",
            source,
            "--out",
            tmp_path / "out.jsonl",
            "--field",
            "body",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {source}, line 2: not valid JSON") and "fix or remove" in result.stderr


def test_never_overwrites(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("body\nmail a@b.example.com\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with pytest.raises(RedactFileError, match="another file"):
        redact_file(source, tmp_path / "." / "in.csv", ["body"], ["email"])
    with pytest.raises(RedactFileError, match="unknown format"):
        redact_file(source, tmp_path / "out.xlsx", ["body"], ["email"])
    with pytest.raises(RedactFileError, match="write a csv file"):
        redact_file(source, tmp_path / "out.jsonl", ["body"], ["email"])
    assert redact_file(source, tmp_path / "out.csv", ["body"], ["email"]).replaced == {"email": 1}
    with pytest.raises(RedactFileError, match="exists"):
        redact_file(source, tmp_path / "out.csv", ["body"], ["email"])
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
    assert json.loads(json.dumps(sorted(p.name for p in tmp_path.iterdir()))) == ["in.csv", "out.csv"]
