"""PII redaction of text columns: typed placeholders, vectorised with RE2 (pyarrow.compute).

Each detector has a capture-free `body` that RE2 scans as a DFA to find the few rows that may hold
that kind of PII; only those rows go through the (slower) capturing replace, or, for kinds whose
shape alone is weak (cards, IBANs, IPv6, bare digit runs that may be phones), through a checksum
or `phonenumbers` validation of each candidate. RE2 has no look-around, so replacing patterns
capture the character before and after a match and put it back: a match must not be glued to
letters, digits or id punctuation, which keeps order ids, versions and dates intact.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import get_cc_module, luhn, numdb
from stdnum import iban as stdnum_iban

from pipelines.lib import checksums

# Phone numbers whose punctuation makes them unambiguous; bare digit runs are validated instead.
_PHONE_SHAPES = [
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,4}",  # +CC, optional (area)
    r"\(\d{2,4}\)[ .-]?\d{3,5}[ .-]?\d{3,4}",  # (415) 623-1234, (11) 91234-5678
    r"0\d{1,5}(?:[ .-]\d{2,8}){1,4}",  # trunk 0: 020 7946 0123, 01 23 45 67 89, 098123 45678
    r"\d{3}[.-]\d{3}[.-]\d{4}",  # North American plain: 212-664-5425, 312.664.5425
]
_SSN_AREA = r"(?:00[1-9]|0[1-9]\d|[1-578]\d\d|6[0-57-9]\d|66[0-57-9])"
_SSN_GROUP = r"(?:0[1-9]|[1-9]\d)"
_SSN_SERIAL = r"(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CARD_ISSUER = r"4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2)"  # Visa, Mastercard, Amex, Diners, Discover...

T = TypeVar("T")

# Validation regions for bare digit runs: the markets the product serves.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IN", "BR", "IT", "PT")


@dataclass(frozen=True)
class Detector:
    """One kind of PII: how to find candidates, and how to confirm them."""

    pii_type: str
    placeholder: str
    #: capture-free RE2 pattern matching every candidate (used as a fast row filter)
    body: str
    #: characters that may not touch a match on the left / right (regex class content)
    left: str = r"\w"
    right: str = r"\w"
    #: nor may a match start after a digit and one space: it would be the tail of a longer
    #: space-grouped number ("034 863" of "612 034 863"), which a later detector judges whole
    not_after_digit_space: bool = False
    #: confirms a candidate string; None means the shape is proof enough
    validate: Callable[[str], bool] | None = None
    #: the same check on many candidates at once (True only where `validate` is True); rows
    #: with one candidate use it, any other row goes through `validate`
    validate_many: Callable[[pa.Array], np.ndarray] | None = None
    #: seldom in tickets: consecutive rare detectors share one combined scan, then each scans
    #: only the rows it flagged (a full scan of the text costs as much as everything else)
    rare: bool = True
    #: a cheap shape that every value contains (checked by `test_hints_are_necessary`): scans
    #: that only pick rows use it, at twice the speed of the full shapes with their many DFA
    #: states; a common kind whose hint is a plain string rewrites only the rows holding it (RE2
    #: finds a literal with memchr; a pattern scan would cost about what it saves)
    hint: str = ""

    @property
    def row_filter(self) -> str:
        """Capture-free pattern found in every row that holds a value of this kind."""
        return self.hint or self.body

    @property
    def pattern(self) -> str:
        """RE2 pattern with three groups: (left context)(match)(right context)."""
        return self._contextual(("", "", ""))

    @property
    def named_pattern(self) -> str:
        """`pattern` with its groups named left, value and right (for `extract_regex`)."""
        return self._contextual(("?P<left>", "?P<value>", "?P<right>"))

    def _contextual(self, names: tuple[str, str, str]) -> str:
        left, value, right = names
        if not self.left:
            return rf"({left})({value}{self.body})({right})"
        before = rf"^|[^\s{self.left}]|(?:^|\D)\s" if self.not_after_digit_space else rf"^|[^{self.left}]"
        # A trailing '.' or '-' is sentence punctuation when no word character follows it.
        return rf"({left}{before})({value}{self.body})({right}$|[^{self.right}.-]|[.-](?:$|[^\w]))"

    @property
    def python_pattern(self) -> re.Pattern[str]:
        """The same match for Python's `re`, with look-arounds instead of captured context."""
        if not self.left:
            return re.compile(f"({self.body})")
        gap = r"(?<!\d\s)" if self.not_after_digit_space else ""
        return re.compile(rf"(?<![{self.left}]){gap}({self.body})(?=$|[^{self.right}.-]|[.-](?:$|[^\w]))")


def _valid_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    # Luhn alone passes one random number in ten: also require a known issuer prefix.
    issuer = re.match(_CARD_ISSUER, digits)
    return 13 <= len(digits) <= 19 and issuer is not None and luhn.is_valid(digits)


@functools.cache
def _iban_country(country: str) -> tuple[re.Pattern[str] | None, bool]:
    """The BBAN shape of a country's IBANs (from python-stdnum's registry), and whether the
    country adds a national check digit. Looked up once per country: stdnum's own per-call
    lookup costs more than everything else in validating an IBAN."""
    info = numdb.get("iban").info(country + "00")[0][1]
    if "bban" not in info:
        return None, False
    classes = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}
    shape = "".join(f"{classes[kind]}{{{n}}}" for n, kind in re.findall(r"(\d+)!([nac])", info["bban"]))
    return re.compile(shape + "$"), get_cc_module(country.lower(), "iban") is not None


def _valid_iban(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    bban_shape, national_check = _iban_country(compact[:2])
    if bban_shape is None or not bban_shape.match(compact[4:]):
        return False
    rearranged = compact[4:] + compact[:4]
    if int("".join(str(int(c, 36)) for c in rearranged)) % 97 != 1:  # ISO 7064 mod 97-10
        return False
    return stdnum_iban.is_valid(compact) if national_check else True


def _valid_cards(candidates: pa.Array) -> np.ndarray:
    """`_valid_card` of many candidates at once."""
    digits = pc.replace_substring_regex(candidates, r"\D", "")
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    issuer = pc.match_substring_regex(digits, f"^(?:{_CARD_ISSUER})").to_numpy(zero_copy_only=False)
    return (length >= 13) & (length <= 19) & issuer & checksums.luhn_valid(digits)


def _valid_ibans(candidates: pa.Array) -> np.ndarray:
    """`_valid_iban` of many candidates at once, for countries without a national check digit
    (the others are left to `_valid_iban`)."""
    compact = pc.replace_substring(candidates, " ", "")
    shapes = []
    for country in sorted(set(pc.utf8_slice_codeunits(compact, 0, 2).to_pylist())):
        bban, national_check = _iban_country(country) if re.fullmatch("[A-Z]{2}", country) else (None, True)
        if bban is not None and not national_check:
            shapes.append(f"{country}[0-9]{{2}}{bban.pattern}")
    if not shapes:
        return np.zeros(len(candidates), dtype=bool)
    shape = pc.match_substring_regex(compact, f"^(?:{'|'.join(shapes)})").to_numpy(zero_copy_only=False)
    return shape & checksums.iban_valid(compact)


def _valid_ipv6(candidate: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(candidate), ipaddress.IPv6Address) and candidate.count(":") >= 2
    except ValueError:
        return False


def _valid_phone(candidate: str, regions: Sequence[str] = PHONE_REGIONS) -> bool:
    tried: Sequence[str | None] = (None,) if candidate.startswith("+") else regions
    for region in tried:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


# Applied in this order: each placeholder holds no digits, so later detectors never re-match it.
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        "<EMAIL>",
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        left="",
        rare=False,
        hint="@",
    ),
    Detector(
        "iban",
        "<IBAN>",
        r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?",
        validate=_valid_iban,
        validate_many=_valid_ibans,
        hint=r"[A-Z]{2}\d\d ?[A-Z0-9]{4}",
    ),
    Detector(
        "credit_card",
        "<CREDIT_CARD>",
        r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{4,5}",
        left=r"\w.,/#+-",
        right=r"\w/",
        validate=_valid_card,
        validate_many=_valid_cards,
        hint=r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d|\d{4}[ -]?\d{6}[ -]?\d{4}",
    ),
    Detector(
        "us_ssn",
        "<US_SSN>",
        rf"{_SSN_AREA}-{_SSN_GROUP}-{_SSN_SERIAL}|{_SSN_AREA} {_SSN_GROUP} {_SSN_SERIAL}",
        left=r"\w.+/#-",
        right=r"\w/",
        hint=r"\d{3}[- ]\d\d[- ]\d{4}",
    ),
    Detector(
        "ip_address",
        "<IP_ADDRESS>",
        rf"{_OCTET}(?:\.{_OCTET}){{3}}",
        left=r"\w.",
        right=r"\w",
        hint=r"\d\.\d{1,3}\.\d{1,3}\.\d",
    ),
    Detector(
        "ip_address",
        "<IP_ADDRESS>",
        r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
        left=r"\w:",
        right=r"\w:",
        validate=_valid_ipv6,
        hint=r":[0-9A-Fa-f]{0,4}:",
    ),
    Detector(
        "phone",
        "<PHONE>",
        "|".join(_PHONE_SHAPES),
        left=r"\w.+/#-",
        right=r"\w/",
        rare=False,
        not_after_digit_space=True,
        hint=r"\+\d|\d\)[ .-]?\d{3}|0\d{1,5}[ .-]\d\d|\d{3}[.-]\d{3}[.-]\d",
    ),
    Detector("phone", "<PHONE>", r"\+?\d{10,14}", left=r"\w.+/#-", right=r"\w/", validate=_valid_phone, hint=r"\d{10}"),
    # digit groups with spaces only (415 612 2778, 612 180 250): valid numbers somewhere, or not
    Detector(
        "phone",
        "<PHONE>",
        r"\d{2,4}(?: \d{2,4}){2,4}",
        left=r"\w.+/#-",
        right=r"\w/",
        validate=_valid_phone,
        hint=r"\d\d \d{2,4} \d\d",
    ),
)
PII_TYPES = tuple(dict.fromkeys(d.pii_type for d in DETECTORS))
PLACEHOLDERS = {d.pii_type: d.placeholder for d in DETECTORS}


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and, per row, how many values of each PII type were replaced (no values)."""

    text: pa.ChunkedArray
    counts: dict[str, np.ndarray]

    @property
    def replaced(self) -> dict[str, int]:
        """Total replacements per PII type."""
        return {pii_type: int(n.sum()) for pii_type, n in self.counts.items()}


def redact(
    text: pa.Array | pa.ChunkedArray,
    pii_types: Sequence[str],
    threads: int = 2,
    regions: Sequence[str] | None = None,
) -> RedactionResult:
    """Replace every value of the given PII types in `text` with its typed placeholder.

    `regions` (ISO 3166 codes) are where national phone numbers are validated; international
    forms are validated in every region. Large inputs are cut in `threads` slices redacted
    concurrently (pyarrow releases the GIL).
    """
    unknown = set(pii_types) - set(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII types {sorted(unknown)}; known: {list(PII_TYPES)}")
    array = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    array = array.cast(pa.large_string()) if array.type != pa.large_string() else array
    array = pc.fill_null(array, "")
    detectors = [d for d in DETECTORS if d.pii_type in pii_types]
    if regions:
        phone = functools.partial(_valid_phone, regions=tuple(r.upper() for r in regions))
        detectors = [dataclasses.replace(d, validate=phone) if d.validate is _valid_phone else d for d in detectors]
    threads = threads if len(array) >= 8_192 else 1
    sizes = pc.binary_length(array).to_numpy()
    # One capture-free scan for every kind at once finds the rows that may hold PII; the others
    # (most rows of real traffic) are never touched again. A scan costs what its bytes cost...
    prefilter = "|".join(f"(?:{d.row_filter})" for d in detectors)
    flagged = np.concatenate(
        _in_slices(sizes, threads, lambda rows: pc.match_substring_regex(array[rows], prefilter).to_numpy(False))
    )
    # ...but rewriting costs what the flagged rows' bytes cost, and those are not spread like the
    # text (bodies hold more PII per byte than subjects): slice again by them.
    parts = _in_slices(sizes * flagged, threads, lambda rows: _redact_flagged(array[rows], flagged[rows], detectors))
    counts = {pii_type: np.concatenate([found[pii_type] for _, found in parts]) for pii_type in parts[0][1]}
    return RedactionResult(pa.chunked_array([part for part, _ in parts]), counts)


def _in_slices(weights: np.ndarray, threads: int, work: Callable[[slice], T]) -> list[T]:
    """`work` on `threads` consecutive slices of rows of equal total weight, concurrently."""
    if threads <= 1:
        return [work(slice(0, len(weights)))]
    ends = np.cumsum(weights)
    cuts = np.searchsorted(ends, np.linspace(0, ends[-1], threads + 1)[1:-1]).tolist()
    bounds = [0, *cuts, len(weights)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))


def _redact_flagged(
    array: pa.Array, flagged: np.ndarray, detectors: list[Detector]
) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Redact the flagged rows of `array`; the others are returned as they are."""
    counts = {d.pii_type: np.zeros(len(array), dtype="int64") for d in detectors}
    rows = np.flatnonzero(flagged)
    if not len(rows):
        return array, counts
    mask = pa.array(flagged)
    view, found = _redact_candidates(pc.filter(array, mask), detectors)
    for pii_type, n in found.items():
        counts[pii_type][rows] += n
    return pc.replace_with_mask(array, mask, view), counts


def _redact_candidates(array: pa.Array, detectors: list[Detector]) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Redact rows that may hold PII: common kinds over all of them, rare kinds where they occur."""
    counts = {d.pii_type: np.zeros(len(array), dtype="int64") for d in detectors}
    for group in _groups(detectors):
        if not group[0].rare:
            array = _replace_everywhere(array, group[0], counts[group[0].pii_type])
            continue
        # Consecutive rare detectors share one combined scan, then work on the rows it flagged.
        flagged = pc.match_substring_regex(array, "|".join(f"(?:{d.row_filter})" for d in group))
        rows = np.flatnonzero(flagged.to_numpy(zero_copy_only=False))
        if not len(rows):
            continue
        view = pc.filter(array, flagged)
        for detector in group:
            candidates = pc.match_substring_regex(view, detector.body)
            if not pc.any(candidates).as_py():
                continue
            subset, found = _replace(pc.filter(view, candidates), detector)
            counts[detector.pii_type][rows[np.flatnonzero(candidates.to_numpy(zero_copy_only=False))]] += found
            view = pc.replace_with_mask(view, candidates, subset)
        array = pc.replace_with_mask(array, flagged, view)
    return array, counts


def _replace_everywhere(array: pa.Array, detector: Detector, counts: np.ndarray) -> pa.Array:
    """A common kind: replace over all rows at once (cheaper than scan + filter + scatter when
    many rows hold one) or over those holding its literal hint, then count and fix up only the
    rows that changed."""
    if detector.hint and re.escape(detector.hint) == detector.hint:
        holds = pc.match_substring_regex(array, detector.hint)
        rows = np.flatnonzero(holds.to_numpy(zero_copy_only=False))
        if not len(rows):
            return array
        found = np.zeros(len(rows), dtype="int64")
        subset = _replace_and_count(pc.filter(array, holds), detector, found)
        counts[rows] += found
        return pc.replace_with_mask(array, holds, subset)
    return _replace_and_count(array, detector, counts)


def _replace_and_count(array: pa.Array, detector: Detector, counts: np.ndarray) -> pa.Array:
    replaced = _replace_pass(array, detector)
    changed = pc.not_equal(replaced, array)
    if not pc.any(changed).as_py():
        return array
    before, after = pc.filter(array, changed), pc.filter(replaced, changed)
    if detector.left:
        # Adjacent values share the separator the first pass consumed, so a second pass is needed
        # where a value starts at most three characters after a placeholder: two of context the
        # first match consumed on its right, one the next one needs on its left.
        adjacent = pc.match_substring_regex(after, rf"(?s){re.escape(detector.placeholder)}.{{1,3}}(?:{detector.body})")
        if pc.any(adjacent).as_py():
            after = pc.replace_with_mask(after, adjacent, _replace_pass(pc.filter(after, adjacent), detector))
    found = pc.subtract(_count(after, detector.placeholder), _count(before, detector.placeholder))
    counts[np.flatnonzero(changed.to_numpy(zero_copy_only=False))] += found.to_numpy()
    # Without left context nothing was consumed around a match: the first pass is the result.
    return pc.replace_with_mask(replaced, changed, after) if detector.left else replaced


def _count(array: pa.Array, placeholder: str) -> pa.Array:
    """Placeholders per row (RE2 finds a literal with memchr: ~3x faster than `count_substring`)."""
    return pc.count_substring_regex(array, re.escape(placeholder))


def _replace_pass(array: pa.Array, detector: Detector) -> pa.Array:
    if not detector.left:  # no context to keep: the capture-free pattern is twice as fast
        return pc.replace_substring_regex(array, detector.body, detector.placeholder)
    return pc.replace_substring_regex(array, detector.pattern, rf"\1{detector.placeholder}\3")


def _groups(detectors: list[Detector]) -> list[list[Detector]]:
    """Runs of consecutive rare detectors, and each common detector on its own."""
    groups: list[list[Detector]] = []
    for detector in detectors:
        if detector.rare and groups and groups[-1][0].rare:
            groups[-1].append(detector)
        else:
            groups.append([detector])
    return groups


def _replace(subset: pa.Array, detector: Detector) -> tuple[pa.Array, np.ndarray]:
    """Replace a rare detector's values in its candidate rows; return them and counts per row."""
    if detector.validate is not None:
        return _validated_replace(subset, detector)
    before = _count(subset, detector.placeholder)
    subset = _replace_pass(_replace_pass(subset, detector), detector)
    return subset, pc.subtract(_count(subset, detector.placeholder), before).to_numpy()


def _validated_replace(subset: pa.Array, detector: Detector) -> tuple[pa.Array, np.ndarray]:
    """Replace only candidates that validate: at once for rows holding a single candidate that
    `validate_many` confirms, one by one in Python for the rest (only candidate rows reach here)."""
    found = np.zeros(len(subset), dtype="int64")
    slow = np.ones(len(subset), dtype=bool)
    if detector.validate_many is not None:
        single = pc.equal(pc.count_substring_regex(subset, detector.body), 1)
        value = pc.fill_null(pc.struct_field(pc.extract_regex(subset, detector.named_pattern), "value"), "")
        fast = pc.and_(pc.fill_null(single, False), pa.array(detector.validate_many(value)))
        if pc.any(fast).as_py():
            rows = pc.filter(subset, fast)
            out = pc.replace_substring_regex(rows, detector.pattern, rf"\1{detector.placeholder}\3", max_replacements=1)
            # Anything left that still looks like a candidate: that row is done one by one instead.
            done = pc.invert(pc.match_substring_regex(out, detector.body)).to_numpy(zero_copy_only=False)
            mask = fast.to_numpy(zero_copy_only=False)
            mask[np.flatnonzero(mask)[~done]] = False
            subset = pc.replace_with_mask(subset, pa.array(mask), pc.filter(out, pa.array(done)))
            found[mask] = 1
            slow = ~mask
    if slow.any():
        rows = np.flatnonzero(slow)
        out, n = _validated_replace_each(pc.take(subset, pa.array(rows)), detector)
        subset = pc.replace_with_mask(subset, pa.array(slow), out)
        found[rows] += n
    return subset, found


def _validated_replace_each(subset: pa.Array, detector: Detector) -> tuple[pa.Array, np.ndarray]:
    """Replace the candidates that `validate` confirms, row by row (rows of candidates only)."""
    pattern = detector.python_pattern
    found = np.zeros(len(subset), dtype="int64")
    out = []
    for i, value in enumerate(subset.to_pylist()):
        pieces, last = [], 0
        for match in pattern.finditer(value):
            start = match.start(1)
            cut = _longest_valid(match.group(1), detector.validate)
            if cut:
                pieces += [value[last:start], detector.placeholder]
                last = start + cut
                found[i] += 1
        out.append("".join(pieces) + value[last:])
    return pa.array(out, type=pa.large_string()), found


def _longest_valid(candidate: str, validate: Callable[[str], bool] | None) -> int:
    """Length of the longest prefix of `candidate`, ending before a separator or at its end, that
    validates (a greedy match may swallow a following number or word); 0 if none does."""
    assert validate is not None
    ends = [len(candidate)] + [m.start() for m in re.finditer(r"[ -](?=\S)", candidate)][::-1]
    for end in ends:
        if validate(candidate[:end]):
            return end
    return 0
