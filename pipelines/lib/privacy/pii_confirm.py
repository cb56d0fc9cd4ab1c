"""Confirmations of the rule table (`pii_rules`): checksums, registries and phone metadata that
decide whether a span of the right shape is a value. Each gets the spans and the indices of those
of its rule's shape and context, and returns for each how many leading characters are the value
(0: not one). Vectorised where the check allows (Luhn, mod 97, IIN ranges, calling codes); the
few that need Python (an IPv6 parse, an IBAN cut from a longer span) run on those spans alone.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import get_cc_module, isbn, numdb
from stdnum import iban as stdnum_iban

from pipelines.lib.privacy import checksums
from pipelines.lib.privacy.pii_shapes import (
    CARD_BRANDS,
    EXTENSION,
    country_codes_by_length,
    national_lengths,
    national_pattern,
)
from pipelines.lib.privacy.pii_spans import Spans

# A confirmation gets the spans and the indices of those of the rule's shape and context; it
# returns, for each, how many leading characters are the value (0: not one).
Confirm = Callable[[Spans, np.ndarray], np.ndarray]


def whole(check: Callable[[Spans, np.ndarray], np.ndarray]) -> Confirm:
    """A confirmation of whole spans from a boolean check."""
    return lambda spans, rows: np.where(check(spans, rows), spans.length[rows], 0)


def each(check: Callable[[str], int]) -> Confirm:
    """A confirmation run in Python on each span of the rule's shape (those are few)."""
    return lambda spans, rows: np.array([check(s) for s in pc.take(spans.text, rows).to_pylist()], dtype=np.int64)


def luhn_brand(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Per span at `rows`, whether its digits are a card number: an IIN range and length of a
    brand in `CARD_BRANDS`, and Luhn (bool array)."""
    digits = spans.head(rows, 6)
    count = spans.digit_count[rows]
    prefixes = {n: (digits[:, :n] * 10 ** np.arange(n - 1, -1, -1)).sum(axis=1) for n in range(1, 7)}
    brand = np.zeros(len(rows), dtype=bool)
    for ranges, (low, high) in CARD_BRANDS.values():
        length_ok = (count >= low) & (count <= high)
        for first, last in ranges:
            prefix = prefixes[len(first)]
            brand |= length_ok & (prefix >= int(first)) & (prefix <= int(last))
    return brand & checksums.luhn_valid(spans.digits(rows))


@functools.cache
def _iban_country(country: str) -> tuple[re.Pattern[str] | None, bool]:
    """A country's BBAN shape (python-stdnum's IBAN registry) and whether it adds a national check."""
    info = numdb.get("iban").info(country + "00")[0][1]
    if "bban" not in info:
        return None, False
    classes = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
    shape = "".join(f"{classes[kind]}{{{n}}}" for n, kind in re.findall(r"(\d+)!([nac])", info["bban"]))
    return re.compile(shape), get_cc_module(country.lower(), "iban") is not None


@functools.cache
def _iban_shapes() -> tuple[str, str]:
    """RE2 patterns of whole IBANs of every country in the registry: (all, those whose country
    adds national check digits)."""
    shapes, national = [], []
    for country in sorted({entry[1] for entry in numdb.get("iban").prefixes}):
        bban, has_check = _iban_country(country) if re.fullmatch("[A-Z]{2}", country) else (None, False)
        if bban is not None:
            shapes.append(f"{country}[0-9]{{2}}{bban.pattern}")
            national += [country] if has_check else []
    return f"^(?:{'|'.join(shapes)})$", f"^(?:{'|'.join(national)})"


def ibans(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Whole IBANs checked at once (BBAN shape, ISO 7064 mod 97-10), the country's own check
    digits by python-stdnum; a span that is more than an IBAN is cut one by one."""
    text = pc.take(spans.text, rows)
    compact = pc.utf8_upper(pc.replace_substring_regex(text, r"[ \r\n-]", ""))
    every, with_check = _iban_shapes()
    exact = pc.match_substring_regex(compact, every).to_numpy(zero_copy_only=False)
    exact &= checksums.iban_valid(compact)
    national = np.flatnonzero(exact & pc.match_substring_regex(compact, with_check).to_numpy(zero_copy_only=False))
    for i, value in zip(national, pc.take(compact, national).to_pylist(), strict=True):
        exact[i] = stdnum_iban.is_valid(value)
    out = np.where(exact, spans.length[rows], 0)
    rest = np.flatnonzero(~exact)
    out[rest] = [_iban_prefix(s) for s in pc.take(text, rest).to_pylist()]
    return out


def _iban_prefix(span: str) -> int:
    """Characters of the longest prefix of `span`, ending at a group, that is a valid IBAN."""
    compact_at, compact = [], []
    for i, char in enumerate(span):
        if char.isalnum():
            compact.append(char.upper())
            compact_at.append(i + 1)
    value = "".join(compact)
    bban, national = _iban_country(value[:2]) if re.fullmatch("[A-Z]{2}", value[:2]) else (None, False)
    if bban is None or not value[2:4].isdigit():
        return 0
    match = bban.match(value, 4)
    if match is None:
        return 0
    end = match.end()
    if end < len(value) and span[compact_at[end - 1]].isalnum():
        return 0  # the BBAN would end inside a group: not an IBAN followed by something else
    candidate = value[:end]
    if int("".join(str(int(c, 36)) for c in candidate[4:] + candidate[:4])) % 97 != 1:  # ISO 7064 mod 97-10
        return 0
    if national and not stdnum_iban.is_valid(candidate):  # the country's own check digits too
        return 0
    return compact_at[end - 1]


def before_prefix_length(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """An address with a CIDR prefix length (10.0.0.0/24): the address is the value."""
    slash = pc.find_substring(pc.take(spans.text, rows), "/").to_numpy(zero_copy_only=False)
    return np.where(slash >= 0, slash, spans.length[rows])


def ipv6(span: str) -> int:
    """The span's length if Python's `ipaddress` reads it as an IPv6 address holding a digit, else 0."""
    try:
        ok = isinstance(ipaddress.ip_address(span), ipaddress.IPv6Address) and bool(re.search(r"\d", span))
    except ValueError:
        ok = False
    return len(span) if ok else 0


def consecutive(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Numbers counting up by one: `10 11 12 13`."""
    groups = pc.split_pattern(pc.take(spans.text, rows), " ")
    numbers = pc.cast(pc.list_flatten(groups), pa.int64()).to_numpy()
    offsets = groups.offsets.to_numpy()
    steps = np.diff(numbers) == 1
    # a list counts up when every step inside it does: count its breaks
    breaks = np.concatenate([[0], np.cumsum(~steps)])
    inside = breaks[offsets[1:] - 1] - breaks[offsets[:-1]]
    return inside == 0


def isbn_value(span: str) -> int:
    """The span's length if its digits are a valid ISBN-13 (python-stdnum), else 0."""
    return len(span) if isbn.is_valid(re.sub(r"\D", "", span)) else 0


def international(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """A known country calling code after the prefix (+, 00 or 011), and a national number of
    4..14 digits (E.164: 15 digits in all)."""
    head = spans.head(rows, 6)
    plus = np.isin(spans.first_byte[rows], (ord("+"), ord("(")))
    skip = np.where(plus, 0, np.where((head[:, 1] == 1) & (head[:, 2] == 1), 3, 2))  # 011 or 00
    code = np.zeros(len(rows), dtype=np.int64)
    value = np.zeros(len(rows), dtype=np.int64)
    for n, codes in country_codes_by_length().items():
        digit = head[np.arange(len(rows)), np.minimum(skip + n - 1, 5)]
        value = value * 10 + digit
        code = np.where((code == 0) & (digit >= 0) & np.isin(value, list(codes)), n, code)
    count = spans.digit_count[rows] - _extension_digits(spans, rows) - skip
    national = count - code
    return (code > 0) & (national >= 4) & (national <= 14) & (count <= 15)


def possible_national(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Per span at `rows`, whether its digit count (extension left out) is a possible length of
    a national number in the spans' regions, trunk prefix included or not (bool array)."""
    lengths = np.array(sorted(national_lengths(spans.regions)), dtype=np.int64)
    count = spans.digit_count[rows] - _extension_digits(spans, rows)
    # Trunk prefix included, a national number has at most 13 digits; a longer grouped span is
    # two numbers (or a number and something else), which step 4 of redaction takes apart.
    return np.isin(count, lengths) & (count <= 13)


def _extension_digits(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Digits of each span's extension (x204, ext. 12, ;ext=33): not part of the number's length."""
    text = pc.take(spans.text, rows)
    found = np.zeros(len(rows), dtype=np.int64)
    has = np.flatnonzero(pc.match_substring_regex(text, f"{EXTENSION}$").to_numpy(zero_copy_only=False))
    if len(has):
        extension = pc.replace_substring_regex(pc.take(text, has), f"(?s)^.*?({EXTENSION})$", r"\1")
        found[has] = pc.utf8_length(pc.replace_substring_regex(extension, r"\D", "")).to_numpy(zero_copy_only=False)
    return found


def valid_national(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Per bare run of digits at `rows`, whether it fully matches a national number pattern of
    the spans' regions (phonenumbers' metadata; bool array)."""
    # the bare shape holds digits only: the span is its digits
    return pc.match_substring_regex(pc.take(spans.text, rows), national_pattern(spans.regions)).to_numpy(
        zero_copy_only=False
    )
