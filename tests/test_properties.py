"""Property-based tests: redaction removes PII wherever it sits and changes nothing else; no input
bytes crash a reader, and every record of a bad file ends in quarantine."""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from conftest import small_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib.ingest.sources import SourceError, read_days
from pipelines.lib.privacy.redaction import PII_TYPES, PLACEHOLDERS, redact
from pipelines.synthetic.pii_eval import pii_value

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Words of several scripts and short numbers, never two numbers in a row: text that holds no
# PII by construction, yet has the digits, dots and dashes that look-alikes are made of.
WORD = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzÄÖÜßéèñçãõ"), min_size=1, max_size=12)
NUMBER = st.from_regex(r"\A(?:\d{1,4}|v\d\.\d{1,2}\.\d{1,3}|ORD-\d{6}|E\d{4})\Z") | st.dates(
    min_value=date(1990, 1, 1), max_value=date(2035, 12, 31)
).map(date.isoformat)
PUNCTUATION = st.sampled_from(["", ",", ".", "!", "?", ";", " -", "'s"])


@st.composite
def plain_text(draw) -> list[str]:
    """Tokens of a PII-free text: words, each maybe followed by a number, with punctuation."""
    tokens = []
    for _ in range(draw(st.integers(1, 12))):
        tokens.append(draw(WORD) + draw(PUNCTUATION))
        if draw(st.booleans()):
            tokens.append(draw(NUMBER))
    return tokens


@given(tokens=plain_text())
@PROPERTY
def test_text_without_pii_is_unchanged(tokens):
    text = " ".join(tokens)
    result = redact(pa.array([text]), list(PII_TYPES))
    assert result.text.to_pylist() == [text]
    assert sum(result.replaced.values()) == 0


@given(
    before=plain_text(),
    after=plain_text(),
    pii_type=st.sampled_from(PII_TYPES),
    seed=st.integers(0, 2**32 - 1),
    field=st.sampled_from(["subject", "body"]),
)
@PROPERTY
def test_pii_planted_anywhere_is_replaced_and_nothing_else_changes(before, after, pii_type, seed, field):
    value = pii_value(np.random.default_rng(seed), pii_type)
    # The value stands between two words, as a token of its own.
    prefix, suffix = " ".join([*before, "word"]), " ".join(["word", *after])
    text = f"{prefix} {value} {suffix}"
    result = redact(pa.array([text] if field == "body" else [text, ""]), list(PII_TYPES))
    assert result.text.to_pylist()[0] == f"{prefix} {PLACEHOLDERS[pii_type]} {suffix}", value
    assert result.replaced[pii_type] == 1


@given(
    kinds=st.lists(st.sampled_from(PII_TYPES), min_size=2, max_size=4),
    separators=st.lists(st.sampled_from([", ", "; ", ". ", ".\n ", " / ", " | "]), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
@PROPERTY
def test_values_in_a_row_sharing_separators_are_all_replaced(kinds, separators, seed):
    """A list of values: the rewrite of one consumes the separator the next one needs on its left."""
    rng = np.random.default_rng(seed)
    values = [pii_value(rng, kind) for kind in kinds]
    result = redact(pa.array([listed(values, separators)]), list(PII_TYPES))
    assert result.text.to_pylist() == [listed([PLACEHOLDERS[k] for k in kinds], separators)], values
    assert sum(result.replaced.values()) == len(kinds)


def listed(items: list[str], separators: list[str]) -> str:
    """'Contacts: a, b; c thanks': the items joined by the separators in turn."""
    pieces = [item + separator for item, separator in zip(items[:-1], separators, strict=False)]
    return "Contacts: " + "".join(pieces) + items[-1] + " thanks"


HEADER = b"ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category\n"


@functools.cache
def landing_spec(kind: str):
    """(spec, source): small ticket_triage reading a `kind` source; built once, not per example."""
    source = small_spec().sources[0].model_copy(update={"format": kind})
    return small_spec().model_copy(update={"sources": [source]}), source


def read_landed(factory, kind: str, content: bytes):
    """Land `content` as one day of a `kind` source and read it."""
    root = factory.mktemp("landing")
    spec, source = landing_spec(kind)
    folder = root / "data" / "landing" / "tickets"
    folder.mkdir(parents=True)
    (folder / f"2026-10-01.{kind}").write_bytes(content)
    return read_days(root, spec, source, ["2026-10-01"], as_of=date(2026, 10, 1))


def assert_all_quarantined(landed) -> None:
    # Random bytes never make a valid ticket: every record is set aside (or, all empty, counted as
    # blank), none is lost.
    assert len(landed.rows) == 0
    assert len(landed.quarantine) + landed.blank["2026-10-01"] == landed.files["2026-10-01"][2]
    assert landed.quarantine["reason"].notna().all()


@given(body=st.binary(max_size=400))
@PROPERTY
def test_random_records_under_a_good_header_all_end_in_quarantine(tmp_path_factory, body):
    assert_all_quarantined(read_landed(tmp_path_factory, "csv", HEADER + body))


@given(content=st.binary(max_size=400))
@PROPERTY
@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_random_file_is_quarantined_or_refused_with_a_message_never_a_crash(tmp_path_factory, kind, content):
    try:
        landed = read_landed(tmp_path_factory, kind, content)
    except SourceError as error:  # e.g. no usable header: the file as a whole is refused, by name
        assert f"source 'tickets', file data/landing/tickets/2026-10-01.{kind}" in str(error)
        return
    assert_all_quarantined(landed)


# Decimal digits of other scripts (each block holds 0..9 in order), dashes and spaces people paste.
DIGIT_ZEROS = [0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xFF10, 0x1D7CE]
DASHES = ["\u2010", "\u2011", "\u2013", "\u2212", "\uff0d"]
SPACES = ["\u00a0", "\u2009", "\u202f", "\u3000"]


@given(
    before=plain_text(),
    after=plain_text(),
    pii_type=st.sampled_from(["phone", "credit_card", "us_ssn", "iban"]),
    seed=st.integers(0, 2**32 - 1),
    zero=st.sampled_from(DIGIT_ZEROS),
    dash=st.sampled_from(DASHES),
    space=st.sampled_from(SPACES),
)
@PROPERTY
def test_values_written_in_any_script_are_replaced_in_the_original_text(
    before, after, pii_type, seed, zero, dash, space
):
    """Detection reads digits, dashes and spaces of any script as ASCII; the value is replaced
    in the original text and every other character stays as it was."""
    value = pii_value(np.random.default_rng(seed), pii_type)
    exotic = "".join(
        chr(zero + int(c)) if c.isdigit() else dash if c == "-" else space if c == " " else c for c in value
    )
    prefix, suffix = " ".join([*before, "word"]), " ".join(["word", *after])
    result = redact(pa.array([f"{prefix} {exotic} {suffix}"]), list(PII_TYPES))
    assert result.text.to_pylist() == [f"{prefix} {PLACEHOLDERS[pii_type]} {suffix}"], exotic
    assert result.replaced[pii_type] == 1
