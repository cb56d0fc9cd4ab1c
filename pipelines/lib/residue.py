"""PII residue: a second opinion on redacted text, independent of the redactor.

Different patterns, and its own checksum code (Luhn, ISO 7064, octet ranges) instead of the
libraries the redactor validates with, so that one detector's blind spot is unlikely to be the
other's. It reports counts per column and type, never the values it found.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pandas as pd

CANDIDATES: dict[str, str] = {
    "email": r"[^\s@<>]+@[^\s@<>]+\.[A-Za-z]{2,}",
    "phone": "|".join(
        [
            r"\+(?:\d[\s().-]?){7,14}\d",
            r"(?:^|[\s(:])0(?:\d[\s.-]?){8,11}\d(?:$|\D)",
            r"\(\d{2,4}\)\s?\d{3,5}[\s.-]?\d{3,4}",
            r"(?:^|[^\w-])\d{3}[.-]\d{3}[.-]\d{4}(?:$|[^\w-])",
        ]
    ),
    "credit_card": r"(?:^|[^\w-])\d(?:[ -]?\d){12,18}(?:$|[^\w-])",
    "iban": r"[A-Z]{2}\d{2} ?(?:[A-Z0-9]{4} ?){2,7}[A-Z0-9]{1,4}",
    "ip_address": r"(?:^|[^\w.])\d{1,3}(?:\.\d{1,3}){3}(?:$|[^\w.]|\.(?:\s|$))|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
    "us_ssn": r"(?:^|[^\w-])\d{3}-\d{2}-\d{4}(?:$|[^\w-])",
}


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _any_card(text: str) -> bool:
    for match in re.finditer(r"\d(?:[ -]?\d){12,18}", text):
        digits = re.sub(r"\D", "", match.group())
        # every 13..19-digit window, since a greedy run may include a neighbouring number
        for size in range(19, 12, -1):
            if any(digits[i] in "23456" and _luhn(digits[i : i + size]) for i in range(len(digits) - size + 1)):
                return True
    return False


def _any_iban(text: str) -> bool:
    for match in re.finditer(CANDIDATES["iban"], text):
        compact = match.group().replace(" ", "")
        for end in range(len(compact), 14, -1):
            candidate = compact[4:end] + compact[:4]
            if int("".join(str(int(c, 36)) for c in candidate)) % 97 == 1:
                return True
    return False


def _any_ip(text: str) -> bool:
    for match in re.finditer(r"\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}", text):
        try:
            ipaddress.ip_address(match.group())
            return True
        except ValueError:
            continue
    return False


# Kinds whose shape alone is too weak: candidates are confirmed in Python (candidate rows only).
CONFIRM: dict[str, Callable[[str], bool]] = {"credit_card": _any_card, "iban": _any_iban, "ip_address": _any_ip}


def residue_counts(frame: pd.DataFrame, text_columns: list[str]) -> dict[str, int]:
    """Rows per `column/type` that still hold something that looks like PII."""
    counts: dict[str, int] = {}
    for column in text_columns:
        values = frame[column].fillna("").astype("str")
        for pii_type, pattern in CANDIDATES.items():
            hits = values.str.contains(pattern, regex=True)
            if pii_type in CONFIRM and hits.any():
                hits = values[hits].map(CONFIRM[pii_type])
            counts[f"{column}/{pii_type}"] = int(hits.sum())
    return counts
