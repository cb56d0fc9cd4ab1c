"""PII values written by Faker: every phone locale, card type, IBAN country and email locale it has.

Faker's values are made up, and written by other hands than trainset's detectors: they carry the
formats of Faker's 70-odd locale providers (`+7 (914) 177-76-31`, `+43 (0) 680 69074391`,
`০১৭০৬-৬৯০৭৪৩`, `206.269.0743x9150`), which is the point of evaluating on them.

Two stated rules drop or set apart values that are not what they claim to be; neither looks at
what any redactor finds:

- Phone numbers (`phone_status`) are judged by libphonenumber's numbering plans (the
  `phonenumbers` package), parsed in the locale's region (international forms: in their own).
  A value that is not even a *possible* number there (a wrong length: short codes such as `1439`
  or `100`) is not a phone number in any sense and is dropped. A possible number outside the
  plan's assigned ranges (Faker draws area codes at random: `291 417 7763` in Canada) is kept,
  labelled, but not held to the targets (`counted=False`): nobody has such a number, and a
  redactor that validates numbers is right to leave it. Faker writes a few locales' numbers with
  a `(0)` trunk marker after the country code (`+49 (0) 9141 777631`); libphonenumber would read
  the 0 as a digit, so the marker is dropped before judging (not from the text).
- IBANs are kept when python-stdnum accepts them (ISO 13616 registry: the country uses IBANs, the
  length and BBAN format are the country's, mod 97 and national check digits hold). Faker also
  writes IBAN-shaped strings for countries without IBANs (BD, PH, AR, CO, TH, IR) and, for some
  locales, GB IBANs one character short: those are not IBANs and are dropped.

Deterministic: each locale's Faker is seeded from (seed, locale, purpose) alone.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import pkgutil
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import faker.providers.bank
import faker.providers.internet
import faker.providers.phone_number
import phonenumbers
from faker import Faker
from faker.providers.credit_card import Provider as CreditCardProvider
from stdnum import iban as stdnum_iban

#: methods of a locale's phone provider that write a subscriber's number (service and toll-free
#: numbers, and msisdn's bare digits, are left out: they are nobody's personal number)
PHONE_METHODS = ("phone_number", "cellphone_number", "mobile_number", "landline_number", "telephone_number")
CARD_GROUPINGS = {"plain": "", "spaces": " ", "dashes": "-"}
IBAN_FORMS = ("compact", "grouped", "lowercase", "lowercase grouped")
EMAIL_METHODS = ("free_email", "company_email")
#: draws per wanted value before a locale is given up on (es_AR writes no valid number at all)
MAX_DRAWS = 40
_TRUNK_MARK = re.compile(r"^(\+\d{1,3})\s*\(0\)\s*")


@dataclass(frozen=True)
class PiiValue:
    """One value Faker wrote, with what it is an example of."""

    value: str
    pii_type: str
    #: e.g. "phone ru_RU", "credit_card amex dashes", "iban DE lowercase grouped"
    kind: str
    #: the locale's language ("en", "ru" ...), for the sentence around the value
    language: str = "en"
    #: phones: the locale's ISO 3166 region, where the number is national
    region: str | None = None
    #: held to the targets (phones outside their numbering plan are not, see the module docstring)
    counted: bool = True


def draw_values(seed: int, per_kind: int) -> list[PiiValue]:
    """Every kind of value, `per_kind` of each (IPs and SSNs: ten times that, having few kinds)."""
    return [
        *phones(seed, per_kind),
        *cards(seed, per_kind),
        *ibans(seed, per_kind),
        *emails(seed, per_kind),
        *ip_addresses(seed, 10 * per_kind),
        *ssns(seed, 10 * per_kind),
    ]


def _submodules(package: object) -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__))  # type: ignore[attr-defined]


def phone_locales() -> list[str]:
    """Locales with a phone provider of their own (any other locale falls back to en_US's)."""
    return _submodules(faker.providers.phone_number)


def region_of(locale: str) -> str:
    """ISO 3166 region of a Faker locale: "RU" for "ru_RU", "PH" for "fil_PH"."""
    return locale.rsplit("_", 1)[-1]


def phone_status(value: str, region: str) -> str | None:
    """ "valid" (in the region's numbering plan), "unassigned" (a possible number, outside the
    plan's assigned ranges) or None (not a possible number there: not a phone number)."""
    try:
        number = phonenumbers.parse(_TRUNK_MARK.sub(r"\1 ", value), region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return "valid"
    return "unassigned" if phonenumbers.is_possible_number(number) else None


def phones(seed: int, per_locale: int) -> list[PiiValue]:
    """Per phone locale, `per_locale` valid numbers and up to as many outside the plan."""
    values = []
    for locale in phone_locales():
        fake = _faker(locale, seed, "phone")
        methods = [m for m in PHONE_METHODS if hasattr(fake, m)]
        region = region_of(locale)
        found: dict[str, list[str]] = {"valid": [], "unassigned": []}
        for draw in range(MAX_DRAWS * per_locale):
            if all(len(bucket) >= per_locale for bucket in found.values()):
                break
            value = getattr(fake, methods[draw % len(methods)])()
            status = phone_status(value, region)
            if status and len(found[status]) < per_locale and value not in found[status]:
                found[status].append(value)
        language = locale.split("_")[0]
        for status, bucket in found.items():
            kind = f"phone {locale}" + ("" if status == "valid" else " (outside the numbering plan)")
            values += [PiiValue(v, "phone", kind, language, region, status == "valid") for v in bucket]
    return values


def card_types() -> list[str]:
    """Every card type Faker knows ("maestro", "visa13", "jcb15" ...)."""
    return list(CreditCardProvider.credit_card_types)


def group_card(number: str, separator: str) -> str:
    """A card number in the groups it is printed in: 4-6-5 (15 digits), 4-6-4 (14), 4-4-5 (13),
    fours otherwise."""
    sizes = {15: [4, 6, 5], 14: [4, 6, 4], 13: [4, 4, 5]}.get(len(number))
    if sizes is None:
        return separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    cuts = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    return separator.join(number[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True))


def cards(seed: int, per_kind: int) -> list[PiiValue]:
    """Every card type, plain and grouped by spaces and by dashes."""
    fake = _faker("en_US", seed, "card")
    values = []
    for card_type in card_types():
        for grouping, separator in CARD_GROUPINGS.items():
            for _ in range(per_kind):
                number = fake.credit_card_number(card_type=card_type)
                value = group_card(number, separator) if separator else number
                values.append(PiiValue(value, "credit_card", f"credit_card {card_type} {grouping}"))
    return values


def bank_locales() -> list[str]:
    """en_US (the base bank provider, GB IBANs) and every locale with a bank provider of its own."""
    return ["en_US", *_submodules(faker.providers.bank)]


def ibans(seed: int, per_kind: int) -> list[PiiValue]:
    """IBANs of every country Faker's bank providers write, in four forms (python-stdnum-valid only)."""
    by_country: dict[str, list[str]] = {}
    wanted = per_kind * len(IBAN_FORMS)
    for locale in bank_locales():
        fake = _faker(locale, seed, "iban")
        with _quiet("faker.providers.bank"):
            drawn = [fake.iban() for _ in range(wanted)]
        for value in drawn:
            if stdnum_iban.is_valid(value):
                by_country.setdefault(value[:2], []).append(value)
    values = []
    for country, valid in sorted(by_country.items()):
        unique = list(dict.fromkeys(valid))[:wanted]
        for i, value in enumerate(unique):
            form = IBAN_FORMS[i % len(IBAN_FORMS)]
            written = " ".join(value[j : j + 4] for j in range(0, len(value), 4)) if "grouped" in form else value
            written = written.lower() if "lowercase" in form else written
            values.append(PiiValue(written, "iban", f"iban {country} {form}"))
    return values


def email_locales() -> list[str]:
    """Locales with an internet provider of their own."""
    return _submodules(faker.providers.internet)


def emails(seed: int, per_kind: int) -> list[PiiValue]:
    """Free-mail and company addresses of every email locale, and the Unicode ones Faker writes
    (Ukrainian company domains under .укр)."""
    values = []
    for locale in email_locales():
        fake = _faker(locale, seed, "email")
        language = locale.split("_")[0]
        for method in EMAIL_METHODS:
            values += [
                PiiValue(getattr(fake, method)(), "email", f"email {locale} {method}", language)
                for _ in range(per_kind)
            ]
        unicode = [v for v in (fake.company_email() for _ in range(MAX_DRAWS * per_kind)) if not v.isascii()]
        values += [PiiValue(v, "email", f"email {locale} unicode", language) for v in unicode[:per_kind]]
    return values


def ip_addresses(seed: int, per_kind: int) -> list[PiiValue]:
    """Public and private IPv4 addresses, and IPv6 addresses as Faker writes them (eight groups)."""
    fake = _faker("en_US", seed, "ip")
    values = []
    for kind, method in (("ipv4 public", fake.ipv4_public), ("ipv4 private", fake.ipv4_private)):
        values += [PiiValue(method(), "ip_address", f"ip_address {kind}") for _ in range(per_kind)]
    for _ in range(per_kind):
        value = fake.ipv6()
        assert isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
        values.append(PiiValue(value, "ip_address", "ip_address ipv6"))
    return values


def ssns(seed: int, per_kind: int) -> list[PiiValue]:
    """en_US social security numbers, with dashes (as Faker writes them) and with spaces."""
    fake = _faker("en_US", seed, "ssn")
    values = []
    for _ in range(per_kind):
        values.append(PiiValue(fake.ssn(), "us_ssn", "us_ssn dashes"))
        values.append(PiiValue(fake.ssn().replace("-", " "), "us_ssn", "us_ssn spaces"))
    return values


#: the Faker providers each purpose draws from (loading all ~25 for each of 100 locales takes
#: seconds; these few, a fraction of one)
PROVIDERS = {
    "phone": ("phone_number",),
    "card": ("credit_card",),
    "iban": ("bank",),
    "email": ("internet", "person", "company", "date_time"),
    "ip": ("internet",),
    "ssn": ("ssn",),
}


def _faker(locale: str, seed: int, purpose: str) -> Faker:
    fake = _instance(locale, PROVIDERS[purpose])
    fake.seed_instance(zlib.crc32(f"{seed}/{locale}/{purpose}".encode()))
    return fake


@functools.cache
def _instance(locale: str, providers: tuple[str, ...]) -> Faker:
    return Faker(locale, providers=[f"faker.providers.{name}" for name in providers])


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a logger's warnings for a while (en_PH's bank provider warns on every IBAN that its
    numbers are hypothetical: they are all made up, that is the point)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
