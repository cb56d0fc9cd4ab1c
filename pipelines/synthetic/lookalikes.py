"""Look-alikes: strings support tickets are full of that look like PII and must survive redaction.

Versions and section numbers shaped like IPv4 addresses, dates and ZIP+4 codes shaped like phone
numbers, code paths with `::` like IPv6, long status ids like card numbers (never Luhn-valid, so
they are not cards), counting runs like space-grouped numbers, prices, order and invoice ids, hex.
Each generator returns one string from a `random.Random`, so a seeded set is reproducible.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from stdnum import luhn

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d %b %Y",
)
CODE_PATHS = (
    "std::fs::Path",
    "std::vector::push_back",
    "std::io::Error",
    "tokio::fs::File",
    "serde_json::Value",
    "{Product_purchased::id}",
    "HashMap::new()",
    "App::Models::Invoice",
)


def version(rng: random.Random) -> str:
    """1.2.3, v2.14, 8.5.1.2 (four small parts: an IPv4 shape), 3.0.0-rc.2."""
    a, b, c, d = rng.randint(1, 20), rng.randint(0, 30), rng.randint(0, 99), rng.randint(0, 9)
    return rng.choice([f"{a}.{b}.{c}", f"v{a}.{b}", f"{a % 10}.{b % 10}.{c % 10}.{d}", f"{a}.0.0-rc.{d + 1}"])


def build(rng: random.Random) -> str:
    """Windows-style 10.0.19045.2965, or a dated build 20260314.1."""
    if rng.random() < 0.5:
        return f"10.0.{rng.randint(17000, 26100)}.{rng.randint(100, 5000)}"
    return f"{_day(rng):%Y%m%d}.{rng.randint(1, 9)}"


def calendar_date(rng: random.Random) -> str:
    """A date in one of the orders and separators people write."""
    return _day(rng).strftime(rng.choice(DATE_FORMATS))


def clock_time(rng: random.Random) -> str:
    """09:30, 17:05:42, 9:05 PM, a range 09:30-11:00, or an ISO timestamp."""
    hour, minute, second = rng.randint(0, 23), rng.choice([0, 5, 15, 30, 45]), rng.randint(0, 59)
    return rng.choice(
        [
            f"{hour:02d}:{minute:02d}",
            f"{hour:02d}:{minute:02d}:{second:02d}",
            f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}",
            f"{hour:02d}:{minute:02d}-{(hour + 1) % 24:02d}:00",
            f"{_day(rng):%Y-%m-%d}T{hour:02d}:{minute:02d}:{second:02d}Z",
        ]
    )


def price(rng: random.Random) -> str:
    """$1,299.99, 1.299,99 EUR, CHF 1'299.90, 129999 cents."""
    units, cents = rng.randint(1, 9999), rng.randint(0, 99)
    return rng.choice(
        [
            f"${units:,}.{cents:02d}",
            f"{units:,}.{cents:02d}".replace(",", "X").replace(".", ",").replace("X", ".") + " EUR",
            f"CHF {units:,}.{cents:02d}".replace(",", "'"),
            f"{units * 100 + cents} cents",
        ]
    )


def order_id(rng: random.Random) -> str:
    """ORD-2024-118273, #48213, A20240315-0042."""
    return rng.choice(
        [
            f"ORD-{rng.randint(2015, 2026)}-{rng.randint(100000, 999999)}",
            f"#{rng.randint(10000, 99999)}",
            f"A{_day(rng):%Y%m%d}-{rng.randint(1, 9999):04d}",
        ]
    )


def invoice_id(rng: random.Random) -> str:
    """INV-3345-6678-90, 2024/00815, RE-2026-00123."""
    return rng.choice(
        [
            f"INV-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
            f"{rng.randint(2015, 2026)}/{rng.randint(1, 99999):05d}",
            f"RE-{rng.randint(2015, 2026)}-{rng.randint(1, 99999):05d}",
        ]
    )


def zip_plus4(rng: random.Random) -> str:
    """US ZIP+4: 94105-1234."""
    return f"{rng.randint(1000, 99999):05d}-{rng.randint(1, 9999):04d}"


def guid(rng: random.Random) -> str:
    """A version-4 UUID."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_code(rng: random.Random) -> str:
    """0x80070005, 0x7ffd4a3b2c10, a short commit hash, a MAC address."""
    return rng.choice(
        [
            f"0x{rng.getrandbits(32):08X}",
            f"0x{rng.getrandbits(48):012x}",
            f"{rng.getrandbits(28):07x}",
            ":".join(f"{rng.getrandbits(8):02X}" for _ in range(6)),
        ]
    )


def number_run(rng: random.Random) -> str:
    """A counting run: 10 11 12 ... 30."""
    start = rng.randint(1, 40)
    return " ".join(str(n) for n in range(start, start + rng.randint(8, 21)))


def section(rng: random.Random) -> str:
    """4.2, 12.3.1, 1.3.2.1 (four small parts: an IPv4 shape)."""
    return ".".join(str(rng.randint(1, 12)) for _ in range(rng.randint(2, 4)))


def code_path(rng: random.Random) -> str:
    """A path in code: std::fs::Path, {Product_purchased::id}."""
    return rng.choice(CODE_PATHS)


def status_id(rng: random.Random) -> str:
    """An 18- or 19-digit post or status id that fails Luhn (so it cannot be a card number)."""
    digits = str(rng.randint(10**17, 10 ** rng.choice([18, 19]) - 1))
    if luhn.is_valid(digits):
        digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    return digits


def _day(rng: random.Random) -> date:
    return date(2015, 1, 1) + timedelta(days=rng.randint(0, 4380))


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "version": version,
    "build": build,
    "date": calendar_date,
    "time": clock_time,
    "price": price,
    "order": order_id,
    "invoice": invoice_id,
    "zip": zip_plus4,
    "guid": guid,
    "hex": hex_code,
    "run": number_run,
    "section": section,
    "code": code_path,
    "status": status_id,
}
