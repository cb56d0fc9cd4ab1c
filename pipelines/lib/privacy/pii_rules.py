"""Deciding what each candidate span is: a rule table read top to bottom, first match wins.

A candidate is a span the scan (`pii_shapes.CANDIDATE`) found, with up to 32 characters of text
before it and 12 after. Each rule names a verdict (`keep` for a look-alike, or a PII type), the
shape the whole span must have, what the text around it must (not) say, a digit count, and an
optional confirmation (a checksum, a parse, phonenumbers' metadata). Rules run over all
candidates at once (RE2 through `pyarrow.compute`); confirmations that need Python run only on
the spans of their shape.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from pipelines.lib.privacy.pii_confirm import (
    Confirm,
    before_prefix_length,
    consecutive,
    each,
    ibans,
    international,
    ipv6,
    isbn_value,
    luhn_brand,
    possible_national,
    valid_national,
    whole,
)
from pipelines.lib.privacy.pii_shapes import (
    CURRENCY,
    EXTENSION,
    ID_WORDS,
    PHONE_WORDS,
    SECTION_WORDS,
    SEPARATOR,
    VERSION_WORDS,
    id_words_before,
    words_before,
)
from pipelines.lib.privacy.pii_spans import Spans

KEEP = "keep"
#: the verdicts that are values, and what replaces them
PLACEHOLDERS = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "credit_card": "<CREDIT_CARD>",
    "iban": "<IBAN>",
    "ip_address": "<IP_ADDRESS>",
    "us_ssn": "<US_SSN>",
}


@dataclass(frozen=True)
class Rule:
    """One line of the table: which spans it decides, and as what."""

    name: str
    verdict: str
    #: RE2 pattern the whole span matches ("": any span)
    shape: str = ""
    #: RE2 pattern found somewhere in the span
    contains: str = ""
    #: RE2 patterns the text before / after the span must match, or must not
    left: str = ""  # (read lower-cased)
    not_left: str = ""
    right: str = ""
    not_right: str = ""
    #: inclusive range of the span's digit count
    digits: tuple[int, int] = (0, 99)
    #: cheap tests before any pattern: the span's first character is one of `starts`, and it
    #: holds at least one of `any_of` (ASCII characters; "" for no test)
    starts: str = ""
    any_of: str = ""
    #: the last character of the left context / first of the right one is among these ASCII
    #: characters, or is not ASCII when "\x80" is among them
    left_ends: str = ""
    right_starts: str = ""
    confirm: Confirm | None = None


def _phone_words(reach: int = 24) -> str:
    return words_before(PHONE_WORDS, reach)


# Cheap character classes for contexts (RE2's Unicode classes cost a DFA blow-up on every span):
# any character but ASCII punctuation, spaces and controls counts as a letter.
_LETTER = r"[^\x00-\x40\x5b-\x60\x7b-\x7f]"
# Latin letters only: an id glues digits to them; CJK text glues phone numbers to its words.
_LATIN = r"[A-Za-z\x{C0}-\x{24F}_]"
_WORD = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # letters, digits, _
_WORD_OR_COLON = r"[^\x00-\x2f\x3b-\x40\x5b-\x5e\x60\x7b-\x7f]"
_DIGITS = "0123456789"
_ASCII_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_MONTH, _DAY, _YEAR = r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])", r"(?:1[89]|2[01])\d\d"
_DATES = "|".join(
    f"{a}{sep}{b}{sep}{c}"
    for sep in (r"-", r"\.", r"/", r" ")
    for a, b, c in ((_YEAR, _MONTH, _DAY), (_DAY, _MONTH, _YEAR), (_MONTH, _DAY, _YEAR))
)
# Assignable areas, groups and serials, written with dashes or spaces (bare nine digits are as
# likely any other number).
_SSN = r"(?:00[1-9]|0[1-9]\d|[1-578]\d\d|6[0-57-9]\d|66[0-57-9])[- ](?:0[1-9]|[1-9]\d)[- ](?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
_GROUPS = rf"\d+(?:{SEPARATOR}\d+)*"
_EXT = f"{EXTENSION}?"

# Top to bottom, first match wins; a span no rule takes is looked at group by group (redaction).
RULES: tuple[Rule, ...] = (
    Rule("email", "email", any_of="@"),  # only an address of the scan holds an @
    Rule("bracketed email", "email", any_of="[({<", contains=r"[\[({<] ?(?i:at) ?[\])}>]"),
    Rule("spelled-out email", "email", "", any_of=" ", contains=r" (?i:at) .* (?i:dot) "),
    Rule("iban", "iban", starts=_ASCII_LETTERS, shape=r"(?i)[a-z]{2}\d\d[a-z0-9 \r\n-]+", confirm=ibans),
    Rule("creditor reference", KEEP, starts="Rr", shape=r"(?i)rf\d\d[a-z0-9 -]+"),  # ISO 11649: RF18 5390 0754 7034
    Rule("ipv6", "ip_address", any_of=":", shape=r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", not_left=f"{_WORD_OR_COLON}$", not_right=f"^{_WORD_OR_COLON}", confirm=each(ipv6)),
    # order and ticket ids, hex codes, tracking numbers: digits glued to letters (not to a phone word)
    Rule("id glued to letters", KEEP, starts=_DIGITS, left_ends=_ASCII_LETTERS + "_-/#.\x80", left=rf"{_LATIN}[-_/#.]?$", not_left=_phone_words(1)),
    Rule("id glued to letters", KEEP, "", right_starts=_ASCII_LETTERS + "_-\x80", right=rf"^-?{_LATIN}"),  # 31473b9821d1, 70655158-b8e2
    Rule("code literal", KEEP, starts=_DIGITS, left_ends="=(", left=r"(?:[a-z_]\(|=) ?$"),  # range(1000000), id = 2025...
    Rule("time", KEEP, "", left_ends=":h", left=r"\d[:h]$"),  # 10:32.585292, 14h30
    # `No 4471` and `nr 4471` are references; lower-case `no` without its dot is the Portuguese
    # and Spanish preposition (`me liguem no 11 2345-6789`: call me on), not an abbreviation.
    Rule("reference number", KEEP, starts=_DIGITS, left=r"(?:#|№|(?:\bN[oOrR°º]|\bn[rR°º]|(?i:\bref|\bid))\.?|\bno\.) ?$"),
    Rule("date", KEEP, digits=(6, 10), shape=rf"(?:{_DATES})(?:[ T]\d{{1,2}})?|{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"),
    Rule("decimal", KEEP, any_of=".", shape=r"[1-9]\d{0,2}\.\d{4,}", not_left=_phone_words()),  # GPS 52.520008, measurements
    Rule("year-led id", KEEP, starts="12", any_of="/-.", shape=r"(?:19|20)\d\d(?:[/-]\d+)+|(?:19|20)\d\d[01]\d[0-3]\d(?:\.\d+)+"),  # 2024/00815, 2026-11-27-0042, build 20240327.8
    Rule("number run", KEEP, any_of=" ", shape=r"\d{1,4}(?: \d{1,4}){3,}", confirm=whole(consecutive)),
    Rule("ZIP+4", KEEP, digits=(9, 9), shape=r"\d{5}-\d{4}", not_left=_phone_words(3)),
    Rule("amount", KEEP, any_of=" .,'", shape=r"\d{1,3}(?:[ .,']\d{3})+(?:[.,]\d{1,2})?", left=rf"(?:{CURRENCY}) ?$"),
    Rule("amount", KEEP, any_of=" .,'", shape=r"\d{1,3}(?:[ .,']\d{3})+(?:[.,]\d{1,2})?", right=rf"^ ?(?:{CURRENCY})"),
    Rule("amount", KEEP, shape=r"\d{1,9}(?:[.,]\d{1,2})?", right=rf"^ ?(?:{CURRENCY})"),  # 240575 cents
    Rule("ISBN", KEEP, digits=(13, 13), shape=r"97[89](?:[- ]?\d){10}", confirm=each(isbn_value)),
    # a dotted North American or French number is a phone whatever words come before it
    Rule("dotted phone", "phone", any_of=".", shape=rf"(?:(?:\+?1\.)?\d{{3}}\.\d{{3}}\.\d{{4}}|0\d(?:\.\d\d){{4}}){_EXT}"),
    Rule("version or section", KEEP, any_of=".", shape=r"\d+(?:\.\d+)+", left=words_before(VERSION_WORDS + SECTION_WORDS)),
    Rule("ipv4", "ip_address", any_of=".", shape=rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,3}})?", not_right=r"^\.\d", confirm=before_prefix_length),
    Rule("us_ssn", "us_ssn", _SSN, digits=(9, 9), any_of=" -"),
    Rule("card", "credit_card", r"\d(?:(?:[ .-]|\r?\n)?\d)+", digits=(12, 19), confirm=whole(luhn_brand)),
    Rule("dated id", KEEP, starts="12", digits=(10, 19), shape=r"(?:199\d|20[0-3]\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d+", not_left=_phone_words()),
    Rule("identifier after an id word", KEEP, starts=_DIGITS + "(", left=id_words_before(ID_WORDS)),
    Rule("international phone", "phone", starts="+(0", shape=rf"(?:\+ ?\(? ?|\( ?\+ ?|00 ?|011 ?)\d[\d ./()\r\n-]*{_EXT}", confirm=whole(international)),
    Rule("North American phone", "phone", digits=(10, 17), shape=rf"(?:\+?1[ .-]?)?(?:\(\d{{3}}\)[ .-]?|\d{{3}}[ .-])\d{{3}}[ .-]\d{{4}}{_EXT}"),
    Rule("trunk-prefixed phone", "phone", starts="(0", shape=rf"(?:\(0\d{{1,5}}\)|0\d{{1,5}}){SEPARATOR}{_GROUPS}{_EXT}", digits=(7, 16), confirm=whole(possible_national)),
    Rule("dotted version", KEEP, any_of=".", shape=r"\d+(?:\.\d+){2,}"),
    Rule("grouped phone", "phone", rf"\(?\d{{1,5}}\)?{SEPARATOR}{_GROUPS}{_EXT}", digits=(8, 16), confirm=whole(possible_national)),
    Rule("phone after a phone word", "phone", rf"\(?{_GROUPS}{_EXT}", digits=(6, 16), left=_phone_words()),
    Rule("bare phone", "phone", r"\d{7,15}", starts=_DIGITS, confirm=whole(valid_national)),
)  # fmt: skip


def _fullmatch(pattern: str) -> str:
    return f"^(?:{pattern})$"


@functools.cache
def _byte_table(chars: str) -> np.ndarray:
    """A lookup of 256 bytes: True at the ASCII characters `chars`."""
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in chars if c != "\x80"]] = True
    table[0x80:] = "\x80" in chars  # any byte of a character outside ASCII
    return table


def classify(spans: Spans, rules: Sequence[Rule] = RULES) -> tuple[np.ndarray, np.ndarray]:
    """(index of the rule that decided each span, -1 for none; characters of the span that are
    the value), rules tried top to bottom on the spans no earlier rule took."""
    n = len(spans.text)
    decided = np.full(n, -1, dtype=np.int64)
    cut = np.zeros(n, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    for index, rule in enumerate(rules):
        low, high = rule.digits
        wanted = open_ & (spans.digit_count >= low) & (spans.digit_count <= high)
        if rule.starts:
            wanted &= _byte_table(rule.starts)[spans.first_byte]
        if rule.any_of:
            wanted &= spans.holds(rule.any_of)
        if rule.left_ends:
            wanted &= _byte_table(rule.left_ends)[spans.left_last]
        if rule.right_starts:
            wanted &= _byte_table(rule.right_starts)[spans.right_first]
        rows = np.flatnonzero(wanted)
        # A context a rule asks for is rarer than its shape: it is tested first.
        for field, pattern, expected in (
            (spans.lower_left, rule.left, True),
            (spans.right, rule.right, True),
            (spans.text, _fullmatch(rule.shape) if rule.shape else "", True),
            (spans.text, rule.contains, True),
            (spans.lower_left, rule.not_left, False),
            (spans.right, rule.not_right, False),
        ):
            if pattern and len(rows):
                hits = pc.match_substring_regex(pc.take(field, rows), pattern).to_numpy(zero_copy_only=False)
                rows = rows[hits == expected]
        if not len(rows):
            continue
        length = rule.confirm(spans, rows) if rule.confirm else spans.length[rows]
        rows, length = rows[length > 0], length[length > 0]
        decided[rows], cut[rows] = index, length
        open_[rows] = False
    return decided, cut
