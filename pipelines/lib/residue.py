"""PII residue: a second opinion on redacted text, independent of the redactor.

Different patterns, and its own checksum code (Luhn, ISO 7064, octet ranges) instead of the
libraries the redactor validates with, so that one detector's blind spot is unlikely to be the
other's. It reports counts per column and type, never the values it found.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# RE2 patterns (scanned as `pyarrow.compute` kernels, a whole column at a time) with Python's
# Unicode classes spelled out: RE2's own \d, \s and \w are ASCII, and a phone number written in
# another script's digits must not slip through both the redactor and this check.
_DIGIT = r"\p{Nd}"
_NOT_DIGIT = r"\P{Nd}"
_SPACE = r"\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}"  # inside [...]
_WORD = r"\p{L}\p{N}_"  # inside [...]
CANDIDATES: dict[str, str] = {
    "email": rf"[^{_SPACE}@<>]+@[^{_SPACE}@<>]+\.[A-Za-z]{{2,}}",
    "phone": "|".join(
        [
            rf"\+(?:{_DIGIT}[{_SPACE}().-]?){{7,14}}{_DIGIT}",
            rf"(?:^|[{_SPACE}(:])0(?:{_DIGIT}[{_SPACE}.-]?){{8,11}}{_DIGIT}(?:$|{_NOT_DIGIT})",
            rf"\({_DIGIT}{{2,4}}\)[{_SPACE}]?{_DIGIT}{{3,5}}[{_SPACE}.-]?{_DIGIT}{{3,4}}",
            rf"(?:^|[^{_WORD}-]){_DIGIT}{{3}}[.-]{_DIGIT}{{3}}[.-]{_DIGIT}{{4}}(?:$|[^{_WORD}-])",
        ]
    ),
    "credit_card": rf"(?:^|[^{_WORD}-]){_DIGIT}(?:[ -]?{_DIGIT}){{12,18}}(?:$|[^{_WORD}-])",
    "iban": rf"[A-Z]{{2}}{_DIGIT}{{2}} ?(?:[A-Z0-9]{{4}} ?){{2,7}}[A-Z0-9]{{1,4}}",
    "ip_address": (
        rf"(?:^|[^{_WORD}.]){_DIGIT}{{1,3}}(?:\.{_DIGIT}{{1,3}}){{3}}(?:$|[^{_WORD}.]|\.(?:[{_SPACE}]|$))"
        r"|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
    ),
    "us_ssn": rf"(?:^|[^{_WORD}-]){_DIGIT}{{3}}-{_DIGIT}{{2}}-{_DIGIT}{{4}}(?:$|[^{_WORD}-])",
}
# The confirmations below run in Python's `re`, whose \d is already Unicode.
_IBAN = r"[A-Z]{2}\d{2} ?(?:[A-Z0-9]{4} ?){2,7}[A-Z0-9]{1,4}"


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _any_card(text: str) -> bool:
    for match in re.finditer(r"\d(?:[ -]?\d){12,18}", text):
        digits = "".join(str(unicodedata.decimal(c)) for c in re.sub(r"\D", "", match.group()))  # any script
        # every 13..19-digit window, since a greedy run may include a neighbouring number
        for size in range(19, 12, -1):
            if any(digits[i] in "23456" and _luhn(digits[i : i + size]) for i in range(len(digits) - size + 1)):
                return True
    return False


def _any_iban(text: str) -> bool:
    for match in re.finditer(_IBAN, text):
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
        values = pc.fill_null(pa.array(frame[column], type=pa.large_string(), from_pandas=True), "")
        for pii_type, pattern in CANDIDATES.items():
            hits = pc.match_substring_regex(values, pattern)
            found = pc.sum(hits).as_py() or 0
            if pii_type in CONFIRM and found:
                found = sum(map(CONFIRM[pii_type], pc.filter(values, hits).to_pylist()))
            counts[f"{column}/{pii_type}"] = int(found)
    return counts
