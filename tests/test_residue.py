"""The PII residue check: a second opinion on redacted text, in any script's digits and spaces."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.lib.residue import residue_counts


def found(text: str) -> dict[str, int]:
    counts = residue_counts(pd.DataFrame({"body": [text]}).astype("str"), ["body"])
    return {where: n for where, n in counts.items() if n}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("call +٩٧١ ٥٠ ١٢٣ ٤٥٦٧ now", "body/phone"),  # Arabic-Indic digits: the redactor's RE2 \d misses them
        ("tel\u00a0+44\u00a07911\u00a0466473", "body/phone"),  # no-break spaces
        ("x 0151\u202f28979183 y", "body/phone"),
        ("ssn ٥٣٦-٩٠-٤٣٩٩ ok", "body/us_ssn"),
        ("card ٤١١١ ١١١١ ١١١١ ١١١١ ok", "body/credit_card"),
        ("write to\u2003user@example.com", "body/email"),
        ("from 192.168.10.7.", "body/ip_address"),
        ("IBAN DE89 3704 0044 0532 0130 00", "body/iban"),
    ],
)
def test_pii_in_any_script_or_spacing_is_found(text, where):
    assert found(text)[where] == 1  # (an IBAN also reads as a phone: this check errs on the safe side)


def test_placeholders_and_look_alikes_are_not_residue():
    text = "Call <PHONE> or write to <EMAIL>; card <CREDIT_CARD>; order ORD-2024-118273, v2.14.3 at 10:32"
    assert found(text) == {}


def test_counts_rows_per_column_and_type_never_values():
    frame = pd.DataFrame({"subject": ["a@b.example.com", "ok"], "body": ["+44 7911 466473", "x@y.example.org"]})
    counts = residue_counts(frame.astype("str"), ["subject", "body"])
    assert counts["subject/email"] == 1 and counts["body/email"] == 1 and counts["body/phone"] == 1
    assert all(isinstance(n, int) for n in counts.values())
