"""The PII residue check: a second opinion on redacted text, broader than the redactor, that
reports where (row id, column, character offset) and what kind, never the value."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from conftest import AS_OF
from hypothesis import given
from hypothesis import strategies as st

from pipelines.lib.privacy.policies import minimise_and_redact
from pipelines.lib.privacy.residue import find_residue
from pipelines.lib.privacy.residue_rules import fold, scan_text
from pipelines.synthetic import text_fragments
from pipelines.synthetic.generate import GeneratorConfig, generate

# Values written the ways the redactor does not expect, each planted after a little text so the
# offset is not trivially 0: (text before, value, kind).
PLANTED = [
    ("Ruf mich an: ", "０１７１ ２３４５６７８", "digit_run"),  # full-width digits and space
    ("اتصل على ", "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "digit_run"),  # Arabic-Indic digits
    ("Karte: ", "٤١١١ ١١١١ ١١١١ ١١١١", "credit_card"),  # a card in Arabic-Indic digits
    ("please refund to ", "de35-3704-0044-0532-0130-99", "iban"),  # lower case, dashes
    ("Konto ", "FR76 3000 6000 0112 3456\n7890 189", "iban"),  # wrapped over a line
    ("Charged on card ", "3530314159265352", "credit_card"),  # JCB, Luhn-valid
    ("card ", "4111.1111.1111.1111", "credit_card"),  # grouped with dots
    ("write to ", "sam.tester [at] example [dot] com", "email"),
    ("Mail an ", "max(at)firma.example.de", "email"),
    ("write to ", "sam dot tester at example dot com", "email"),
    ("Mail: ", "ｊｏｓé＠ｅｘａｍｐｌｅ．ｃｏｍ", "email"),  # full-width at sign
    ("contact ", "josé.garcí<EMAIL>", "email"),  # a local part the redactor cut in half
    ("from ", "203.0.113.7:51234", "ip_address"),
    ("server [", "2001:db8::8a2e:370:7334", "ip_address"),
    ("SSN ", "536 90 4399", "us_ssn"),
    ("SSN ", "٥٣٦‐٩٠‐٤٣٩٩", "us_ssn"),  # Arabic-Indic digits, Unicode hyphens
    ("tel\u00a0", "+44\u00a07911\u00a0466473", "digit_run"),  # no-break spaces
    ("x ", "0151\u202f28979183", "digit_run"),  # narrow no-break space
    ("call ", "1-800-555-0199", "digit_run"),
    ("Tel:", "+4915112345678", "credit_card"),  # glued to a colon (Luhn-valid by chance: a card)
]


def redacted_zone(bodies: list[str]) -> pd.DataFrame:
    """Rows shaped like the redacted zone's: id, subject and body (text as the redactor left it)."""
    n = len(bodies)
    return pd.DataFrame(
        {"ticket_id": [f"T{i:08d}" for i in range(n)], "subject": ["Hello (<EMAIL>)"] * n, "body": bodies}
    ).astype("str")


def test_values_the_redactor_misses_are_found_with_row_column_kind_and_offset():
    bodies = ["Héllo — " + before + value + " thanks." for before, value, _ in PLANTED]
    findings = find_residue(redacted_zone(bodies), ["subject", "body"], dataset="ticket_triage", id_column="ticket_id")
    got = [(f.row_id, f.column, f.kind, f.offset) for f in findings]
    expected = []
    for i, (before, value, kind) in enumerate(PLANTED):
        offset = len("Héllo — " + before)  # code points, not bytes
        offset += value.startswith("+")  # a number starts at its first digit
        expected.append((f"T{i:08d}", "body", kind, offset))
    assert got == expected
    assert all(f.dataset == "ticket_triage" and f.file is None for f in findings)


def test_a_finding_never_carries_the_text():
    [finding] = find_residue(redacted_zone(["call 0171 2345678"]), ["body"], dataset="d", id_column="ticket_id")
    dumped = finding.model_dump_json() + finding.where()
    assert "2345678" not in dumped and dumped.count("T00000000") == 2
    assert finding.where() == "row T00000000 body offset 5 (digit_run)"


LOOK_ALIKES = [
    "Call <PHONE> or write to <EMAIL>; card <CREDIT_CARD>, IBAN <IBAN>, from <IP_ADDRESS>, SSN <US_SSN>.",
    "I am on version 2.14.3, build 10.0.19045.2965, app v1.2.3.4, firmware version 8.5.1.2",
    "see section 1.3.2.1 of the terms; § 4.2.1.7",
    "order ORD-2024-118273, invoice INV-2026-00123, ref T00012345, serial SN-4412-8890-1123",
    "since 2026-03-14, on 14/03/2026, on 14.03.2026 at 10:32:15, ordered 08-19-2015, 2026-11-20T09:00:00Z",
    "request id 123e4567-e89b-12d3-a456-426614174000",
    "error 0x80070005, crash dump 0x7ffd4a3b2c10, build 4f2b20f",
    "MAC 00:1A:2B:3C:4D:5E, error in std::fs::Path and {Product_purchased::id}",
    "tracking 1Z999AA10123456784",
    "ISBN 978-3-16-148410-0",
    "steps 10 11 12 13 14 15 16 17 18 19 20 all fail; pages 1 2 3 4 5 6 7 8 9 10 11 12",
    "price 1,299.00 EUR then 1.299,99 EUR and 129999 cents; ticket #48213; postcode 75008; room 4-112",
    "from 127.0.0.1 and ::1, at 09:30-11:00, page 12 of 40",
    "I am at home. We met at 10:32 at the office.",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_placeholders_and_look_alikes_are_not_residue(text):
    assert scan_text(text) == []


def test_the_generators_look_alikes_are_not_residue():
    for template in text_fragments.HARD_NEGATIVES:
        for n in ("1000", "118273", "999998"):
            assert scan_text(template.replace("{n}", n)) == [], template


def test_what_stays_broad_on_purpose_is_reported_for_a_steward():
    # Any 7+ digits that nothing names may be a phone or an account number: the steward decides.
    assert scan_text("it shows 12345678 now") == [("digit_run", 9)]
    assert scan_text("call 0151 1234567 / 0171 2345678") == [("digit_run", 5)]
    assert scan_text("card 4111 1111 1111 1111 declined") == [("credit_card", 5)]


@pytest.mark.parametrize(
    "text",
    [
        "customer number 12345678",
        "see post 1193847561234567891 on the forum",
        "ship to 94105-1234",
        "Die Rechnung Nr. 2024/00815",
        "batch 2026-11-27-0042",
        "since build 20240327.8",
        "delivered 20170710",
        "after upgrading to WordPress 5.2.2.5",
        "request id 31299108-860c-40f1-a3b9-22359f0bcb4a",
    ],
)
def test_look_alikes_the_redactor_keeps_are_not_residue_either(text):
    assert scan_text(text) == []


def test_generated_tickets_leave_no_residue_once_redacted():
    # What `make demo` releases: generated tickets (contacts, cards, IBANs, IPs, SSNs, look-alikes).
    from conftest import small_spec

    tickets = generate(GeneratorConfig(rows=6000, seed=5, as_of=AS_OF, months=3)).tickets
    frame, _ = minimise_and_redact(tickets.assign(source_name="tickets"), small_spec(), b"k")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert find_residue(table, ["subject", "body"], dataset="ticket_triage", id_column="ticket_id") == []
    planted = find_residue(tickets, ["subject", "body"], dataset="ticket_triage", id_column="ticket_id")
    assert {f.kind for f in planted} >= {"email", "digit_run", "credit_card", "iban", "ip_address", "us_ssn"}


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_folding_keeps_every_offset_and_scanning_never_fails(text):
    assert len(fold(text)) == len(text)
    for _, offset in scan_text(text):
        assert 0 <= offset < len(text)


FRAGMENTS = [
    "2026-03-14",
    "2026-02-30",
    "14.03.2026",
    "08-19-2015",
    "10:32",
    "09:30:15",
    "10:32.613627",
    "T09:00:00Z",
    "version",
    "build:",
    "v",
    "section",
    "2.14.3",
    "2.123456.4",
    "10.0.19045.2965",
    "8.5.1.2",
    "192.168.1.20",
    "0171",
    "2345678",
    "+44",
    "7911 123456",
    "０１７１",
    "٤١١١",
    "1111",
    "4111 1111 1111 1111",
    "536-90-4399",
    "INV-",
    "2026-03-10",
    ":32",
    "12345",
    "sam",
    "[\u00a0at\u00a0]",
    "（ａｔ）",
    "ｄｏｔ",
    "٢٠٠١:db8::١",
    "ｔｅｌ",
    "Nr.",
    "²",
    "ORD-",
    "tel",
    "x",
    "#",
    "(",
    ")",
    "/",
    "<PHONE>",
    "<EMAIL>",
    "a@b.example",
    "[at]",
    "dot",
    "at",
    "example",
    "com",
    "DE89 3704 0044 0532 0130 00",
    "2001:db8::1",
    "std::fs",
    "10 11 12 13",
    "thanks",
    "§",
]


@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(["", " ", ". ", "-", "\n", "\u00a0", ":", "."])),
            max_size=8,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_vectorised_filters_never_hide_what_the_rules_find(rows):
    # RE2 picks the rows (and removes the commonest look-alikes first); the result must be what
    # the rules find when they look at every row.
    texts = ["".join(fragment + gap for fragment, gap in row) for row in rows]
    frame = pd.DataFrame({"body": texts}).astype("str")
    filtered = [(int(f.row_id), f.kind, f.offset) for f in find_residue(frame, ["body"], dataset="d")]
    assert filtered == [(i, kind, offset) for i, text in enumerate(texts) for kind, offset in scan_text(text)]
