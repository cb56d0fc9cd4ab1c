"""Realistic, valid PII values for the generator and the redaction evaluation set.

Values are valid where validity is checkable (Luhn and issuer prefix for cards, ISO 7064 check
digits for IBANs, assignable SSN ranges), so that a redactor that checks them must still find
them. All numbers are random: none belongs to anyone.
"""

from __future__ import annotations

import numpy as np
from stdnum import iban as stdnum_iban
from stdnum import luhn

# Card: (issuer prefix, length, grouping of the printed form)
CARD_SCHEMES = [
    ("4", 16, (4, 4, 4, 4)),
    ("51", 16, (4, 4, 4, 4)),
    ("2221", 16, (4, 4, 4, 4)),
    ("37", 15, (4, 6, 5)),
    ("6011", 16, (4, 4, 4, 4)),
    ("4", 13, (4, 4, 5)),
]
# IBAN: country and BBAN shape ("9" a digit, "A" an upper-case letter). Countries whose BBAN
# carries a national check digit too (ES, BE) are left out: random BBANs would fail it.
IBAN_SHAPES = {
    "DE": "999999999999999999",
    "GB": "AAAA99999999999999",
    "NL": "AAAA9999999999",
    "IT": "A9999999999999999999999",
    "FR": "99999999999999999999999",
    "AT": "9999999999999999",
}


def card_number(rng: np.random.Generator) -> str:
    """A Luhn-valid card number with a real issuer prefix, printed as people type them."""
    prefix, length, groups = CARD_SCHEMES[rng.integers(len(CARD_SCHEMES))]
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, length - len(prefix) - 1))
    digits = body + luhn.calc_check_digit(body)
    style = rng.integers(3)
    if style == 2:
        return digits
    parts, start = [], 0
    for size in groups:
        parts.append(digits[start : start + size])
        start += size
    return (" " if style == 0 else "-").join(parts)


def iban(rng: np.random.Generator) -> str:
    """A checksum-valid IBAN, grouped in fours or compact."""
    country = list(IBAN_SHAPES)[rng.integers(len(IBAN_SHAPES))]
    bban = "".join(
        str(rng.integers(10)) if c == "9" else chr(ord("A") + int(rng.integers(26))) for c in IBAN_SHAPES[country]
    )
    value = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ip_address(rng: np.random.Generator) -> str:
    """An IPv4 address, or (one time in three) an IPv6 address, sometimes compressed."""
    if rng.random() < 2 / 3:
        return ".".join(str(int(x)) for x in [rng.integers(1, 224), *rng.integers(0, 256, 3)])
    groups = [f"{int(x):x}" for x in rng.integers(0, 65536, 8)]
    groups[0] = "2001"
    if rng.random() < 0.5:
        return ":".join(groups[:3]) + "::" + ":".join(groups[6:])
    return ":".join(groups)


def us_ssn(rng: np.random.Generator) -> str:
    """A US SSN in an assignable range (area not 000, 666 or 9xx; group and serial not zero)."""
    area = int(rng.integers(1, 900))
    while area == 666:
        area = int(rng.integers(1, 900))
    return f"{area:03d}-{int(rng.integers(1, 100)):02d}-{int(rng.integers(1, 10000)):04d}"


GENERATORS = {"credit_card": card_number, "iban": iban, "ip_address": ip_address, "us_ssn": us_ssn}
