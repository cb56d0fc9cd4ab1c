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
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import get_cc_module, isbn, numdb
from stdnum import iban as stdnum_iban

from pipelines.lib.privacy import checksums
from pipelines.lib.privacy.pii_shapes import (
    CARD_BRANDS,
    CURRENCY,
    EXTENSION,
    ID_WORDS,
    PHONE_WORDS,
    SECTION_WORDS,
    SEPARATOR,
    VERSION_WORDS,
    country_codes_by_length,
    id_words_before,
    national_lengths,
    national_pattern,
    words_before,
)

KEEP = "keep"
# Characters the rules' cheap tests ask about (`Rule.any_of`), one bit each.
_TRACKED = "@[({<:./- ,'"
_TRACKED_BITS = np.zeros(256, dtype=np.uint32)
for _bit, _char in enumerate(_TRACKED):
    _TRACKED_BITS[ord(_char)] = 1 << _bit


@dataclass(frozen=True)
class Spans:
    """Candidate spans and what surrounds them (all arrays of one length), plus the regions whose
    national phone numbers count."""

    text: pa.Array
    left: pa.Array
    right: pa.Array
    regions: tuple[str, ...]

    @functools.cached_property
    def lower_left(self) -> pa.Array:
        return pc.utf8_lower(self.left)

    @functools.cached_property
    def _bytes(self) -> tuple[np.ndarray, np.ndarray]:
        """(UTF-8 bytes, offsets) of the spans."""
        return buffers(self.text)

    @functools.cached_property
    def digit_count(self) -> np.ndarray:
        """ASCII digits per span, counted over the Arrow buffers at once."""
        data, offsets = self._bytes
        if not len(data):
            return np.zeros(len(offsets) - 1, dtype=np.int64)
        digit = ((data >= 48) & (data <= 57)).astype(np.int32)
        return np.add.reduceat(digit, np.minimum(offsets[:-1], len(data) - 1)) * (offsets[1:] > offsets[:-1])

    @functools.cached_property
    def _held(self) -> np.ndarray:
        """Per span, a bit per character of `_TRACKED` that it holds (one pass over the bytes)."""
        data, offsets = self._bytes
        if not len(data):
            return np.zeros(len(offsets) - 1, dtype=np.uint32)
        bits = _TRACKED_BITS[data]
        return np.bitwise_or.reduceat(bits, np.minimum(offsets[:-1], len(data) - 1)) * (offsets[1:] > offsets[:-1])

    def holds(self, chars: str) -> np.ndarray:
        """Whether each span holds any of the ASCII characters `chars` (each in `_TRACKED`)."""
        mask = sum(1 << _TRACKED.index(c) for c in chars)
        return (self._held & mask) > 0

    @functools.cached_property
    def first_byte(self) -> np.ndarray:
        data, offsets = self._bytes
        return np.where(offsets[1:] > offsets[:-1], data[np.minimum(offsets[:-1], max(len(data) - 1, 0))], 0)

    def head(self, rows: np.ndarray, n: int = 8) -> np.ndarray:
        """The first `n` digits of the spans at `rows` as numbers, -1 past the last: (rows, n),
        gathered from the Arrow buffers (no string is built)."""
        data, offsets = self._bytes
        starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
        owner = np.repeat(np.arange(len(rows)), lengths)
        before = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        chars = data[np.arange(int(lengths.sum())) - before[owner] + starts[owner]] if len(owner) else data[:0]
        digit = (chars >= 48) & (chars <= 57)
        running = np.cumsum(digit)
        rank = running - np.concatenate([[0], running])[before[owner]] - 1  # 0 for a span's first digit
        keep = digit & (rank < n)
        head = np.full((len(rows), n), -1, dtype=np.int64)
        head[owner[keep], rank[keep]] = chars[keep].astype(np.int64) - 48
        return head

    @functools.cached_property
    def left_last(self) -> np.ndarray:
        """The last byte of each left context (0 for none): a cheap test before a pattern."""
        data, offsets = buffers(self.left)
        return np.where(offsets[1:] > offsets[:-1], data[np.maximum(offsets[1:] - 1, 0)] if len(data) else 0, 0)

    @functools.cached_property
    def right_first(self) -> np.ndarray:
        """The first byte of each right context (0 for none)."""
        data, offsets = buffers(self.right)
        return np.where(
            offsets[1:] > offsets[:-1], data[np.minimum(offsets[:-1], max(len(data) - 1, 0))] if len(data) else 0, 0
        )

    def digits(self, rows: np.ndarray) -> pa.Array:
        """The digits of the spans at `rows`, nothing else."""
        return pc.replace_substring_regex(pc.take(self.text, rows), r"\D", "")

    @functools.cached_property
    def length(self) -> np.ndarray:
        return pc.utf8_length(self.text).to_numpy(zero_copy_only=False)


# A confirmation gets the spans and the indices of those of the rule's shape and context; it
# returns, for each, how many leading characters are the value (0: not one).
Confirm = Callable[[Spans, np.ndarray], np.ndarray]


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


def buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, offsets) of a string array, without copying."""
    text = text.cast(pa.large_string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    return (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets


def _whole(check: Callable[[Spans, np.ndarray], np.ndarray]) -> Confirm:
    """A confirmation of whole spans from a boolean check."""
    return lambda spans, rows: np.where(check(spans, rows), spans.length[rows], 0)


def _each(check: Callable[[str], int]) -> Confirm:
    """A confirmation run in Python on each span of the rule's shape (those are few)."""
    return lambda spans, rows: np.array([check(s) for s in pc.take(spans.text, rows).to_pylist()], dtype=np.int64)


def _luhn_brand(spans: Spans, rows: np.ndarray) -> np.ndarray:
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


def _ibans(spans: Spans, rows: np.ndarray) -> np.ndarray:
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


def _before_prefix_length(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """An address with a CIDR prefix length (10.0.0.0/24): the address is the value."""
    slash = pc.find_substring(pc.take(spans.text, rows), "/").to_numpy(zero_copy_only=False)
    return np.where(slash >= 0, slash, spans.length[rows])


def _ipv6(span: str) -> int:
    try:
        ok = isinstance(ipaddress.ip_address(span), ipaddress.IPv6Address) and bool(re.search(r"\d", span))
    except ValueError:
        ok = False
    return len(span) if ok else 0


def _consecutive(spans: Spans, rows: np.ndarray) -> np.ndarray:
    """Numbers counting up by one: `10 11 12 13`."""
    groups = pc.split_pattern(pc.take(spans.text, rows), " ")
    numbers = pc.cast(pc.list_flatten(groups), pa.int64()).to_numpy()
    offsets = groups.offsets.to_numpy()
    steps = np.diff(numbers) == 1
    # a list counts up when every step inside it does: count its breaks
    breaks = np.concatenate([[0], np.cumsum(~steps)])
    inside = breaks[offsets[1:] - 1] - breaks[offsets[:-1]]
    return inside == 0


def _isbn(span: str) -> int:
    return len(span) if isbn.is_valid(re.sub(r"\D", "", span)) else 0


def _international(spans: Spans, rows: np.ndarray) -> np.ndarray:
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


def _possible_national(spans: Spans, rows: np.ndarray) -> np.ndarray:
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


def _valid_national(spans: Spans, rows: np.ndarray) -> np.ndarray:
    # the bare shape holds digits only: the span is its digits
    return pc.match_substring_regex(pc.take(spans.text, rows), national_pattern(spans.regions)).to_numpy(
        zero_copy_only=False
    )


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
    Rule("iban", "iban", starts=_ASCII_LETTERS, shape=r"(?i)[a-z]{2}\d\d[a-z0-9 \r\n-]+", confirm=_ibans),
    Rule("creditor reference", KEEP, starts="Rr", shape=r"(?i)rf\d\d[a-z0-9 -]+"),  # ISO 11649: RF18 5390 0754 7034
    Rule("ipv6", "ip_address", any_of=":", shape=r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", not_left=f"{_WORD_OR_COLON}$", not_right=f"^{_WORD_OR_COLON}", confirm=_each(_ipv6)),
    # order and ticket ids, hex codes, tracking numbers: digits glued to letters (not to a phone word)
    Rule("id glued to letters", KEEP, starts=_DIGITS, left_ends=_ASCII_LETTERS + "_-/#.\x80", left=rf"{_LATIN}[-_/#.]?$", not_left=_phone_words(1)),
    Rule("id glued to letters", KEEP, "", right_starts=_ASCII_LETTERS + "_-\x80", right=rf"^-?{_LATIN}"),  # 31473b9821d1, 70655158-b8e2
    Rule("code literal", KEEP, starts=_DIGITS, left_ends="=(", left=r"(?:[a-z_]\(|=) ?$"),  # range(1000000), id = 2025...
    Rule("time", KEEP, "", left_ends=":h", left=r"\d[:h]$"),  # 10:32.585292, 14h30
    Rule("reference number", KEEP, starts=_DIGITS, left=r"(?:#|№|(?i:\bn[or°º]|\bref|\bid)\.?) ?$"),
    Rule("date", KEEP, digits=(6, 10), shape=rf"(?:{_DATES})(?:[ T]\d{{1,2}})?|{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"),
    Rule("decimal", KEEP, any_of=".", shape=r"[1-9]\d{0,2}\.\d{4,}", not_left=_phone_words()),  # GPS 52.520008, measurements
    Rule("year-led id", KEEP, starts="12", any_of="/-.", shape=r"(?:19|20)\d\d(?:[/-]\d+)+|(?:19|20)\d\d[01]\d[0-3]\d(?:\.\d+)+"),  # 2024/00815, 2026-11-27-0042, build 20240327.8
    Rule("number run", KEEP, any_of=" ", shape=r"\d{1,4}(?: \d{1,4}){3,}", confirm=_whole(_consecutive)),
    Rule("ZIP+4", KEEP, digits=(9, 9), shape=r"\d{5}-\d{4}", not_left=_phone_words(3)),
    Rule("amount", KEEP, any_of=" .,'", shape=r"\d{1,3}(?:[ .,']\d{3})+(?:[.,]\d{1,2})?", left=rf"(?:{CURRENCY}) ?$"),
    Rule("amount", KEEP, any_of=" .,'", shape=r"\d{1,3}(?:[ .,']\d{3})+(?:[.,]\d{1,2})?", right=rf"^ ?(?:{CURRENCY})"),
    Rule("amount", KEEP, shape=r"\d{1,9}(?:[.,]\d{1,2})?", right=rf"^ ?(?:{CURRENCY})"),  # 240575 cents
    Rule("ISBN", KEEP, digits=(13, 13), shape=r"97[89](?:[- ]?\d){10}", confirm=_each(_isbn)),
    # a dotted North American or French number is a phone whatever words come before it
    Rule("dotted phone", "phone", any_of=".", shape=rf"(?:(?:\+?1\.)?\d{{3}}\.\d{{3}}\.\d{{4}}|0\d(?:\.\d\d){{4}}){_EXT}"),
    Rule("version or section", KEEP, any_of=".", shape=r"\d+(?:\.\d+)+", left=words_before(VERSION_WORDS + SECTION_WORDS)),
    Rule("ipv4", "ip_address", any_of=".", shape=rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,3}})?", not_right=r"^\.\d", confirm=_before_prefix_length),
    Rule("us_ssn", "us_ssn", _SSN, digits=(9, 9), any_of=" -"),
    Rule("card", "credit_card", r"\d(?:(?:[ .-]|\r?\n)?\d)+", digits=(12, 19), confirm=_whole(_luhn_brand)),
    Rule("dated id", KEEP, starts="12", digits=(10, 19), shape=r"(?:199\d|20[0-3]\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d+", not_left=_phone_words()),
    Rule("identifier after an id word", KEEP, starts=_DIGITS + "(", left=id_words_before(ID_WORDS)),
    Rule("international phone", "phone", starts="+(0", shape=rf"(?:\+ ?\(? ?|\( ?\+ ?|00 ?|011 ?)\d[\d ./()\r\n-]*{_EXT}", confirm=_whole(_international)),
    Rule("North American phone", "phone", digits=(10, 17), shape=rf"(?:\+?1[ .-]?)?(?:\(\d{{3}}\)[ .-]?|\d{{3}}[ .-])\d{{3}}[ .-]\d{{4}}{_EXT}"),
    Rule("trunk-prefixed phone", "phone", starts="(0", shape=rf"(?:\(0\d{{1,5}}\)|0\d{{1,5}}){SEPARATOR}{_GROUPS}{_EXT}", digits=(7, 16), confirm=_whole(_possible_national)),
    Rule("dotted version", KEEP, any_of=".", shape=r"\d+(?:\.\d+){2,}"),
    Rule("grouped phone", "phone", rf"\(?\d{{1,5}}\)?{SEPARATOR}{_GROUPS}{_EXT}", digits=(8, 16), confirm=_whole(_possible_national)),
    Rule("phone after a phone word", "phone", rf"\(?{_GROUPS}{_EXT}", digits=(6, 16), left=_phone_words()),
    Rule("bare phone", "phone", r"\d{7,15}", starts=_DIGITS, confirm=_whole(_valid_national)),
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
