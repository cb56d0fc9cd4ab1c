"""Residue in numbers: IPv4 addresses, cards, SSNs and any other run of 7+ digits, and the
look-alikes that are not PII (dates, times, versions, section numbers, ids glued to letters,
ISBN-13, counting runs).

Works on folded text (`residue_rules.fold`: ASCII digits, `-` for every dash, ` ` for every space),
in which masked spans are NULs. Its own checksums (Luhn, ISBN-13) and its own look-alike rules,
written apart from the redactor's.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date

Found = list[tuple[str, int]]

_RUN = re.compile(r"(?<![0-9])[0-9](?:[\s\-./()]{0,3}[0-9])*")
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_SSN = re.compile(r"[0-9]{3}[ -][0-9]{2}[ -][0-9]{4}")
_IPV4 = re.compile(r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])")
_DATE = re.compile(
    r"(?<![0-9])(?<![0-9][-./])"
    r"(?:(?P<y1>[0-9]{4})(?P<s1>[-./])(?P<m1>[0-9]{1,2})(?P=s1)(?P<d1>[0-9]{1,2})"
    r"|(?P<a2>[0-9]{1,2})(?P<s2>[-./])(?P<b2>[0-9]{1,2})(?P=s2)(?P<y2>[0-9]{4}))"
    r"(?![0-9])(?![-./][0-9])"
)
_TIME = re.compile(r"(?<![0-9:])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?![0-9:])")
# Words after which a dotted number is a version or a section, not an address or a phone.
NUMBERING_WORDS = frozenset(
    ("v", "version", "versión", "versão", "versione", "ver", "build", "release", "firmware", "update")
    + ("patch", "rev", "revision", "section", "sección", "seção", "sezione", "abschnitt", "kapitel")
    + ("chapter", "step", "schritt", "article", "artikel", "art", "clause", "§", "punkt", "wersja")
    + ("версия", "пункт", "раздел")
)
# Stems that name a numbering a few words before it: "upgrading to WordPress 5.2.2.5".
NUMBERING_STEMS = ("upgrad", "updat", "aktualisier", "install", "firmware", "version", "release")
# Stems of the names of a business's own identifiers: "customer number 12345678", "Bestellnr.".
IDENTIFIER_STEMS = (
    "order", "invoice", "customer", "account", "ticket", "case", "reference", "ref", "batch", "tracking",
    "contract", "policy", "booking", "bestell", "rechnung", "kunden", "auftrag", "sendung", "pedido",
    "factura", "commande", "facture", "encomenda", "fatura", "post", "thread", "issue",
)  # fmt: skip
# A run glued to letters is an id (ORD-2024-118273, x80070005, 1Z999AA1012...), unless the
# letters say phone (tel0171..., whatsapp-0151...).
PHONE_WORDS: tuple[str, ...] = ("tel", "tél", "phone", "fon", "telefono", "teléfono", "telefone", "mobil")
PHONE_WORDS += ("mobile", "móvil", "movil", "cell", "fax", "handy", "whatsapp", "call", "anruf", "rückruf")


def find_numbers(text: str, found: Found) -> None:
    """Append (kind, offset) of every IPv4 address, card, SSN and 7+ digit run in folded text."""
    runs = [m for m in _RUN.finditer(text) if len(m.group()) >= 7]  # (a dotted quad has 7 characters)
    if all(_look_alike(text, m.group(), m.start()) for m in runs if m.group().count(".") >= 3 or _long(m.group())):
        return  # the common case: every long run is a date, a version or an id on its own
    text = _mask(text, _DATE, _valid_date)
    text = _mask(text, _TIME)
    text = _ipv4(text, found)
    for match in _RUN.finditer(text):
        run, start = match.group(), match.start()
        if not _long(run) or _look_alike(text, run, start):
            continue
        card = _card_offset(run, start)
        if card is not None:
            found.append(("credit_card", card))
        elif _SSN.fullmatch(run):
            found.append(("us_ssn", start))
        else:
            found.append(("digit_run", start))


def _long(run: str) -> bool:
    """Seven digits or more."""
    return len(run) >= 7 and sum(map(len, _DIGIT_GROUPS.findall(run))) >= 7


def _look_alike(text: str, run: str, start: int) -> bool:
    """A run that is not PII by itself: an id, a date, a version or section, an ISBN, a count."""
    groups = _DIGIT_GROUPS.findall(run)
    if _glued_id(text, start) or _isbn13("".join(groups)) or _glued_after(text, start + len(run)):
        return True
    if _named_identifier(text, start) or _dated(run):
        return True
    if run.isdigit() and len(run) > 15 and not (len(run) <= 19 and luhn(run)):
        return True  # longer than any E.164 number and not a card (cards stand whole): a post id
    if _ZIP4.fullmatch(run) and not _word_before(text, max(start - 1, 0)).endswith(PHONE_WORDS):
        return True
    if set(run) <= set("0123456789 ") and _counting(groups):
        return True
    match = _DATE.fullmatch(run)
    if match is not None and _valid_date(match):
        return True
    dotted = "." in run and set(run) <= set("0123456789.")
    if dotted and _numbering_before(text, start):
        return True  # version 2.14.3.118, section 1.3.2.1
    digits = "".join(groups)
    if 12 <= len(digits) <= 19 and luhn(digits):
        return False  # 4111.1111.1111.1111: a card however it is grouped
    return dotted and _dotted_version(groups)  # 10.0.19045.2965


_ZIP4 = re.compile(r"[0-9]{5}-[0-9]{4}")
_YEAR_LED = re.compile(r"(?:19|20)[0-9]{2}/[0-9]{3,}")  # Nr. 2024/00815


def _dated(run: str) -> bool:
    """A date that leads an id (2026-11-27-0042, 20240327.8, 2024/00815) or stands as 20170710."""
    if _YEAR_LED.fullmatch(run):
        return True
    head = re.match(r"([0-9]{4})-([0-9]{2})-([0-9]{2})-[0-9]+$|([0-9]{4})([0-9]{2})([0-9]{2})(?:\.[0-9]+)?$", run)
    if head is None:
        return False
    year, month, day = (int(g) for g in (head.groups()[:3] if head.group(1) else head.groups()[3:]))
    return _is_date(year, month, day)


def _glued_after(text: str, end: int) -> bool:
    """A run a Latin letter follows at once (31473b9821d1, 70655158-b8e2): hex or an id; not an
    extension (206.269.0743x9150, ...0150ext12)."""
    return bool(re.match(r"-?(?![xX][0-9]|[eE][xX][tT])[A-Za-z]", text[end : end + 5]))


def _named_identifier(text: str, start: int) -> bool:
    """`customer number 12345678`, `order no. 1234567`, `Kundennummer: 1234567`: the name of one of
    the business's identifiers among the two words before the run, and no phone word."""
    words = re.findall(r"[^\W\d_]+", text[max(0, start - 32) : start].lower())[-2:]
    if any(w.startswith(PHONE_WORDS) for w in words):
        return False
    return any(w.startswith(IDENTIFIER_STEMS) for w in words)


def _mask(text: str, pattern: re.Pattern[str], keep=None) -> str:
    for match in pattern.finditer(text):
        if keep is None or keep(match):
            text = text[: match.start()] + "\x00" * (match.end() - match.start()) + text[match.end() :]
    return text


def _valid_date(match: re.Match[str]) -> bool:
    if match["y1"]:
        return _is_date(int(match["y1"]), int(match["m1"]), int(match["d1"]))
    a, b, year = int(match["a2"]), int(match["b2"]), int(match["y2"])
    return _is_date(year, b, a) or _is_date(year, a, b)  # day-month-year or month-day-year


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def _word_before(text: str, end: int) -> str:
    """The letters (or §) ending at `end`, lower-cased; '' if none."""
    start = end
    while start > 0 and start > end - 24 and (text[start - 1].isalpha() or text[start - 1] == "§"):
        start -= 1
    return text[start:end].lower()


def _numbering_before(text: str, start: int) -> bool:
    """`version 2.14.3`, `section: 1.3.2.1`, `v.1.2.3.4`: a numbering word, then spaces or : # = .;
    or a word of upgrading or installing among the three before (`upgrading to WordPress 5.2.2.5`)."""
    end = start
    while end > 0 and start - end < 4 and text[end - 1] in " :#=.":
        end -= 1
    if _word_before(text, end) in NUMBERING_WORDS:
        return True
    clause = re.split(r"[.;!?\n]", text[max(0, start - 40) : start])[-1].lower()
    words = re.findall(r"[^\W\d_]+", clause)[-3:]
    return any(w.startswith(NUMBERING_STEMS) or w in NUMBERING_WORDS for w in words)


def _glued_id(text: str, start: int) -> bool:
    end = start - 1 if start > 0 and text[start - 1] in "-_#/" else start
    word = _word_before(text, end)
    return word.replace("§", "") != "" and not word.endswith(PHONE_WORDS)


def _dotted_version(groups: list[str]) -> bool:
    """10.0.19045.2965: a part above 255 (no address), no leading zero and not 3-3-4 (no phone)."""
    if any(len(g) > 1 and g[0] == "0" for g in groups) or [len(g) for g in groups[-3:]] == [3, 3, 4]:
        return False
    return any(int(g) > 255 for g in groups)


def _ipv4(text: str, found: Found) -> str:
    for match in _IPV4.finditer(text):
        try:
            address = ipaddress.IPv4Address(match.group())
        except ValueError:
            continue  # a part > 255 or a leading zero: a version or a date, not an address
        if address.is_loopback or address.is_unspecified or _numbering_before(text, match.start()):
            continue
        found.append(("ip_address", match.start()))
        text = text[: match.start()] + "\x00" * (match.end() - match.start()) + text[match.end() :]
    return text


def luhn(digits: str) -> bool:
    """ISO/IEC 7812 check digit (the last digit) is right."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _isbn13(digits: str) -> bool:
    if len(digits) != 13 or digits[:3] not in ("978", "979"):
        return False
    return sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10 == 0


def _counting(groups: list[str]) -> bool:
    """`10 11 12 13 ...` (space-separated): four or more numbers, each one more than the last."""
    if len(groups) < 4 or any(len(g) > 1 and g[0] == "0" for g in groups):
        return False
    numbers = [int(g) for g in groups]
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


def _card_offset(run: str, start: int) -> int | None:
    """Offset of a Luhn-valid 12-19 digit card in the run: the whole run, or whole groups of it."""
    groups = [(start + m.start(), m.group()) for m in _DIGIT_GROUPS.finditer(run)]
    for i in range(len(groups)):
        spans, digits = [], ""
        for _, group in groups[i:]:
            digits += group
            if len(digits) > 19:
                break
            spans.append(digits)
        # the longest card first, so that one number is always reported the same way
        if any(len(d) >= 12 and luhn(d) for d in reversed(spans)):
            return groups[i][0]
    return None
