"""`trainset redact` on CSV: a file already written as its redacted copy would be is redacted in
place (only the changed values written again); any other is parsed and written again. Both ways
must give the same bytes, whatever the chunks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib.privacy.exports import csv_export, csv_in_place
from pipelines.lib.privacy.exports.csv_fields import NotAsRewritten
from pipelines.lib.privacy.exports.redact_file import RedactFileError, redact_file

BOM = b"\xef\xbb\xbf"
PII = ["email", "phone"]
HEADER = ["id", "body", "note"]
ROWS = [
    ["1", 'He said "hi", call +44 7911 123456', "007"],
    ["2", "line one\r\nline two ana@example.com", ""],
    ["3", "mail ana@example.com; or not", "a\nb"],
    ["", "", ""],
    ["4", 'end "quoted" ana@example.com""', "ünïcödé 😀"],
]


def written(rows: list[list[str]], delimiter: str = ",", eol: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, lineterminator=eol, quoting=quoting).writerows(rows)
    return text.getvalue().encode()


def both_ways(tmp_path: Path, monkeypatch, data: bytes, fields: list[str], chunk_bytes: int = 1 << 20):
    """(bytes, summary) of the copy redacted by the command as it is, and of the copy parsed and
    written again; and whether the first was redacted in place."""
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    monkeypatch.setattr(csv_in_place, "CHUNK_BYTES", chunk_bytes)
    refused = []
    locate = csv_in_place.locate

    def spied(chunk, dialect):
        try:
            return locate(chunk, dialect)
        except NotAsRewritten:
            refused.append(True)
            raise

    monkeypatch.setattr(csv_in_place, "locate", spied)
    as_is = _redacted(source, tmp_path / "as_is.csv", fields)
    monkeypatch.setattr(csv_export, "redact_in_place", _refuse)
    again = _redacted(source, tmp_path / "again.csv", fields)
    source.unlink()
    return as_is, again, not refused


def _redacted(source: Path, target: Path, fields: list[str]) -> tuple[bytes, int, dict[str, int]] | str:
    """The redacted bytes and counts, or the error."""
    try:
        summary = redact_file(source, target, fields, PII)
    except RedactFileError as error:
        return str(error)
    data = target.read_bytes()
    target.unlink()
    return data, summary.records, dict(summary.replaced)


def _refuse(*args, **kwargs):
    raise NotAsRewritten("forced")


@pytest.mark.parametrize("chunk_bytes", [1, 40, 1 << 20])
@pytest.mark.parametrize(
    ("delimiter", "eol", "bom", "last_eol"),
    [(",", "\n", False, True), (";", "\r\n", True, True), ("\t", "\r\n", False, False), ("|", "\n", True, False)],
    ids=str,
)
def test_written_as_its_copy_would_be_redacted_in_place(
    tmp_path, monkeypatch, delimiter, eol, bom, last_eol, chunk_bytes
):
    data = written([HEADER, *ROWS], delimiter, eol)
    data = (BOM if bom else b"") + (data if last_eol else data[: -len(eol)])
    as_is, again, in_place = both_ways(tmp_path, monkeypatch, data, ["body", "note", "id"], chunk_bytes)
    assert in_place and as_is == again
    text = as_is[0].decode("utf-8-sig")
    assert "ana@example.com" not in text and "7911" not in text
    assert text.endswith(eol) and as_is[1] == len(ROWS)


ELSE = {  # read as ever, written again: what the in-place copy would not write the same way
    "all quoted": written([HEADER, *ROWS], quoting=csv.QUOTE_ALL),
    "mixed line endings": b"id,body\r\n1,ana@example.com\n2,x\r\n",
    "a blank line": b"id,body\n1,ana@example.com\n\n2,x\n",
    "a stray quote": b'id,body\n1,5" screen ana@example.com\n',
    "text after a closing quote": b'id,body\n1,"a"b ana@example.com\n',
    "a lone carriage return": b"id,body\n1,a\r2,ana@example.com\n",
    "one column, an empty line": b"body\nana@example.com\n\nx\n",
}


@pytest.mark.parametrize("name", sorted(ELSE))
def test_any_other_file_is_written_again(tmp_path, monkeypatch, name):
    as_is, again, in_place = both_ways(tmp_path, monkeypatch, ELSE[name], ["body"], 16)
    assert not in_place and as_is == again
    assert b"ana@example.com" not in as_is[0]


def test_one_column_keeps_its_quoted_empty_values(tmp_path, monkeypatch):
    data = b'body\nmail ana@example.com\n""\n"a,b"\nno PII\n'
    as_is, again, in_place = both_ways(tmp_path, monkeypatch, data, ["body"], 8)
    assert in_place and as_is == again and as_is[0] == b'body\nmail <EMAIL>\n""\n"a,b"\nno PII\n'


def test_a_lone_header_without_its_line_ending_is_left_to_the_reader(tmp_path, monkeypatch):
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,body")
    with pytest.raises(csv_export.UnreadableExportError, match="cannot be read as CSV"):
        redact_file(source, tmp_path / "out.csv", ["body"], PII)


PIECES = [*'ab é,;\t|"\r\n', "ana@example.com", "+44 7911 123456"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


@given(
    rows=st.lists(st.lists(TEXT, min_size=3, max_size=3), max_size=12),
    delimiter=st.sampled_from(",;\t|"),
    eol=st.sampled_from(["\n", "\r\n"]),
    chunk_bytes=st.sampled_from([1, 30, 1 << 20]),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_in_place_and_written_again_are_the_same_bytes(tmp_path, monkeypatch, rows, delimiter, eol, chunk_bytes):
    with monkeypatch.context() as patched:
        as_is, again, _ = both_ways(
            tmp_path, patched, written([HEADER, *rows], delimiter, eol), ["body", "id"], chunk_bytes
        )
    assert as_is == again


@pytest.mark.parametrize("step", [1, 3, 64, 1 << 16])
def test_chunks_end_after_a_line_ending_outside_quotes(step):
    rng = np.random.default_rng(7)
    for _ in range(300):
        data = bytes(rng.choice(list(b'ab"\n'), rng.integers(1, 80)))
        view = np.frombuffer(data, np.uint8)
        start = int(rng.integers(0, len(data)))
        target = start + int(rng.integers(1, 40))
        assert csv_in_place._record_end(view, start, target, step) == _record_end(data, start, target)


def _record_end(data: bytes, start: int, target: int) -> int:
    """The same, one byte at a time."""
    if target >= len(data):
        return len(data)
    quotes, ends = 0, []
    for at in range(start, len(data)):
        quotes += data[at] == ord('"')
        if data[at] == ord("\n") and quotes % 2 == 0:
            ends.append(at + 1)
    before = [end for end in ends if end <= target]
    return before[-1] if before else next((end for end in ends if end > target), len(data))
