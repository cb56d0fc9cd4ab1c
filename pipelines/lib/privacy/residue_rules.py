"""The rules of the PII residue check: what counts as residue, and which look-alikes do not.

Written apart from the redactor on purpose (its own patterns, folding and checksums, nothing
imported from `redaction.py`), and broader than it: any run of 7+ digits, any `@` between word
characters (and `[at]`-style spellings), any IBAN-shaped run passing ISO 7064 mod 97, any
Luhn-valid 12-19 digit run, any IP address that parses, any SSN shape. Two stages:

- `FILTERS`, one RE2 pattern per family of kinds, run by `pyarrow.compute` over whole columns,
  pick the rows that may hold residue. Their classes spell Unicode out (`\\p{Nd}`, `\\p{Pd}`,
  `\\p{Z}`): RE2's own `\\d` and `\\s` are ASCII, and a number written in full-width or
  Arabic-Indic digits must not slip past. Each is a superset of what stage 2 reports.
- `scan_text`, in Python on those rows only, folds the text one character for one character
  (digits of any script to ASCII, dashes to `-`, spaces to ` `, full-width forms to ASCII), so
  an offset in the folded text is the offset in the original, and reports (kind, offset) pairs.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Collection
from typing import Literal, cast

from pipelines.lib.privacy.residue_numbers import NUMBERING_WORDS, PHONE_WORDS, find_numbers

ResidueKind = Literal["email", "iban", "ip_address", "credit_card", "us_ssn", "digit_run"]
Family = Literal["email", "iban", "ipv6", "numbers"]

# -- stage 1: RE2 filters (class contents, Unicode spelled out) --------------------------------
_D = r"\p{Nd}"
_SPACE = r"\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}"
_DASH = r"\p{Pd}\x{00AD}\x{2212}\x{2043}\x{30FC}\x{FF70}"
_SEP = rf"{_SPACE}{_DASH}./()\x{{FF0E}}\x{{FF0F}}\x{{FF08}}\x{{FF09}}"
_GLUE = rf"#/_\x{{FF03}}\x{{FF0F}}{_DASH}"
_AT = r"@\x{FF20}\x{FE6B}"
_LATIN = r"A-Za-z\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}"
_HEX = r"\p{Nd}A-Fa-f\x{FF21}-\x{FF26}\x{FF41}-\x{FF46}"
_OPEN = r"\[({<\x{FF3B}\x{FF08}\x{FF5B}\x{FF1C}"
_CLOSE = r"\])}>\x{FF3D}\x{FF09}\x{FF5D}\x{FF1E}"


def _full_width(words: list[str]) -> list[str]:
    """The words, and the same in full-width letters (which the rules fold to ASCII)."""
    return [*words, *("".join(chr(ord(c) + 0xFEE0) if c.isascii() else c for c in w) for w in words)]


_AT_WORD = rf"(?i:{'|'.join(_full_width(['at', 'ät', 'arroba']))}|[@\x{{FF20}}\x{{FE6B}}])"
_DOT_WORD = rf"(?i:{'|'.join(_full_width(['dot', 'punkt', 'punto', 'point', 'ponto']))})"
# A digit run may start anywhere but glued to letters (an id), unless the letters say phone.
_PHONE_WORD = f"(?i:{'|'.join(_full_width(list(PHONE_WORDS)))})"
_RUN_START = rf"(?:^|[^\p{{L}}\p{{Nd}}{_GLUE}]|(?:^|[^\p{{L}}])[{_GLUE}]|{_PHONE_WORD}[{_GLUE}]?)"
FILTERS: dict[Family, str] = {
    "email": "|".join(
        [
            rf"[^{_SPACE}<>{_AT}][{_AT}][^{_SPACE}<>{_AT}]",  # an @ between two non-spaces
            rf"[^{_SPACE}<>]<EMAIL>",  # a local part left glued to the placeholder
            rf"[{_OPEN}][{_SPACE}]*{_AT_WORD}[{_SPACE}]*[{_CLOSE}]",  # name [at] example
            rf"[{_SPACE}]{_AT_WORD}[{_SPACE}]+[\p{{L}}\p{{N}}_{_DASH}]+"  # name at example dot com
            rf"(?:[{_SPACE}]*[{_OPEN}][{_SPACE}]*{_DOT_WORD}[{_SPACE}]*[{_CLOSE}]|[{_SPACE}]+{_DOT_WORD}[{_SPACE}])",
        ]
    ),
    "iban": rf"[{_LATIN}]{{2}}{_D}{{2}}",  # country and check digits
    "ipv6": rf"[{_HEX}]{{1,4}}[:\x{{FF1A}}][{_HEX}]{{0,4}}[:\x{{FF1A}}]",  # two colons
    "numbers": rf"{_RUN_START}{_D}(?:[{_SEP}]{{0,3}}{_D}){{6,}}|{_D}{{1,3}}(?:[.\x{{FF0E}}]{_D}{{1,3}}){{3}}",
}
#: every row any family may flag: the one scan over a whole column
ROW_FILTER = "|".join(f"(?:{pattern})" for pattern in FILTERS.values())
# The commonest look-alikes, in forms `residue_numbers` always leaves alone (ASCII, a clear
# boundary on each side): removed from candidate rows before the `numbers` filter decides which
# rows need Python. `(pattern, replacement)` pairs for `pyarrow.compute.replace_substring_regex`.
_WORD_END = r"(?:$|[.,;:!?]?(?:$|[ \t]+[\p{L}<]))"
LOOK_ALIKES: list[tuple[str, str]] = [
    # 2026-03-14 (a valid day in every month)
    (
        r"(^|[ \t\n,;:(\[\"'])(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
        r"($|[ \t\n,;:)\]\"'!?]|[.](?:$|[ \t\n]))",
        r"\1!\2",
    ),
    # 10:32, 09:30:15 (not where a date could end at the hour, 2026-03-10:32, or begin at the
    # minutes, 30:14.03.2026: the rules take the date first)
    (
        rf"(^|[^\p{{Nd}}:\x{{FF1A}}./{_DASH}\x{{FF0E}}\x{{FF0F}}]|[^\p{{Nd}}][./{_DASH}\x{{FF0E}}\x{{FF0F}}])"
        r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
        rf"($|[^\p{{Nd}}:\x{{FF1A}}./{_DASH}\x{{FF0E}}\x{{FF0F}}]|[./{_DASH}\x{{FF0E}}\x{{FF0F}}](?:$|\P{{Nd}}|\p{{Nd}}{{3}}))",
        r"\1!\2",
    ),
    # version 2.14.3, build: 10.0.19045.2965 (then a word, or the end)
    (
        rf"(^|[^\p{{L}}])((?i:{'|'.join(sorted(NUMBERING_WORDS))})[ :#=.]{{1,3}})[0-9]+(?:\.[0-9]+)+({_WORD_END})",
        r"\1\2!\3",
    ),
]


# -- stage 2: folding ------------------------------------------------------------------------
class _Folding(dict):
    """str.translate table filled as characters are met: one code point always maps to one."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        digit = unicodedata.decimal(char, None)
        if digit is not None:
            folded = 0x30 + digit
        elif 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
            folded = code - 0xFEE0
        elif char.isspace() or code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF):
            folded = 0x20
        elif unicodedata.category(char) == "Pd" or code in (0x00AD, 0x2212, 0x2043, 0x30FC, 0xFF70):
            folded = 0x2D
        elif code == 0xFE6B:  # small commercial at
            folded = 0x40
        else:
            folded = code
        self[code] = folded
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """The text with any script's digits, dashes, spaces and full-width forms as ASCII; same length."""
    return text if text.isascii() else text.translate(_FOLDING)


# -- stage 2: detectors on folded text (ASCII classes are enough now) -------------------------
_LOCAL = re.compile(r"[^\s<>()\[\]{},;:@\x00]")
_EMAIL_AT = re.compile(r"[\w\"'.+\u2019-]@[\w\[]")
_EMAIL_REMNANT = re.compile(r"[\w.%+'\u2019-]+<EMAIL>")
_AT_BRACKETED = r"\s*[\[({<]\s*(?:at|ät|arroba|@)\s*[\])}>]\s*"
_DOT_BRACKETED = r"\s*[\[({<]\s*(?:dot|punkt|punto|point|ponto)\s*[\])}>]\s*"
_OBFUSCATED = re.compile(
    rf"[\w.+-]+(?:(?:{_DOT_BRACKETED}|\s+(?:dot|punkt|punto|point|ponto)\s+)[\w+-]+)*"
    rf"(?:(?P<bat>{_AT_BRACKETED})|\s+at\s+)[\w-]+"
    rf"(?:(?P<bdot>{_DOT_BRACKETED})|(?P<wdot>\s+(?:dot|punkt|punto|point|ponto)\s+)|\.)[A-Za-z]{{2,}}",
    re.IGNORECASE,
)
# Every address `_OBFUSCATED` accepts holds one of these: a cheap test before the costly pattern.
_OBFUSCATION_HINT = re.compile(
    r"[\[({<]\s*(?:at|ät|arroba|@|dot|punkt|punto|point|ponto)\s*[\])}>]|\s(?:dot|punkt|punto|point|ponto)\s",
    re.IGNORECASE,
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]){11,40}")
_IPV6 = re.compile(r"(?<![\w:.])\[?((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3})?)")


def scan_text(text: str, families: Collection[Family] = tuple(FILTERS)) -> list[tuple[ResidueKind, int]]:
    """Residue in one text value: (kind, character offset) pairs in offset (then kind) order. `families`
    are those whose RE2 filter flagged the row (default: all)."""
    folded = fold(text)
    found: list[tuple[str, int]] = []
    if "email" in families:
        folded = _emails(folded, found)
    if "iban" in families:
        folded = _ibans(folded, found)
    if "ipv6" in families:
        folded = _ipv6(folded, found)
    if "numbers" in families:
        find_numbers(folded, found)
    return sorted(cast(list[tuple[ResidueKind, int]], found), key=lambda item: (item[1], item[0]))


def _blank(text: str, start: int, end: int) -> str:
    """Text with [start, end) as NULs: reported once, so no later rule sees it again."""
    return text[:start] + "\x00" * (end - start) + text[end:]


def _emails(text: str, found: list) -> str:
    for match in _OBFUSCATED.finditer(text) if _OBFUSCATION_HINT.search(text) else ():
        # A plain " at " is English; only with a bracket or a spelled-out "dot" is it an address.
        if match["bat"] is not None or match["bdot"] is not None or match["wdot"] is not None:
            found.append(("email", match.start()))
            text = _blank(text, match.start(), match.end())
    for match in _EMAIL_REMNANT.finditer(text):
        found.append(("email", match.start()))
    for match in _EMAIL_AT.finditer(text):
        at = match.end() - 2
        start = at
        if text[at - 1] == '"' and '"' in text[: at - 1]:
            start = text.rindex('"', 0, at - 1)  # a quoted local part may hold spaces
        while start > 0 and _LOCAL.match(text[start - 1]):
            start -= 1
        end = at + 1
        while end < len(text) and not text[end].isspace() and text[end] not in "<>(),;":
            end += 1
        found.append(("email", start))
        text = _blank(text, start, end)
    return text


def _mod97(compact: str) -> bool:
    """ISO 7064 MOD 97-10 over the IBAN with its first four characters moved to the end."""
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ibans(text: str, found: list) -> str:
    match = _IBAN.search(text)
    while match is not None:
        value, resume = match.group().upper(), match.start() + 1
        # Try where a group ends (before a separator, or at the end): the greedy match may run on
        # into the next words, but an IBAN never ends inside a group.
        ends = [i for i in range(len(value), 0, -1) if i == len(value) or value[i] in " -"]
        for end in ends:
            compact = value[:end].replace(" ", "").replace("-", "")
            if 15 <= len(compact) <= 34 and _mod97(compact):
                found.append(("iban", match.start()))
                text = _blank(text, match.start(), match.start() + end)
                resume = match.start() + end
                break
        match = _IBAN.search(text, resume)
    return text


def _ipv6(text: str, found: list) -> str:
    for match in _IPV6.finditer(text):
        candidate = match.group(1) if match.group(1).endswith("::") else match.group(1).rstrip(":")
        after = match.end(1)
        if after < len(text) and (text[after].isalnum() or text[after] == "_"):
            continue  # std::fs::Path, a::b::c: code, not an address
        try:
            address = ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        if len([g for g in candidate.split(":") if g]) >= 3 and not (address.is_loopback or address.is_unspecified):
            found.append(("ip_address", match.start(1)))
            text = _blank(text, match.start(1), after)
    return text
