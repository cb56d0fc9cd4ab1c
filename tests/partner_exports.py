"""Partner deliveries as partners write them, for the tests of partner sources: their own column
names, their own class names (one with no counterpart of ours), local timestamps, text by Faker in
the partner's locales with PII written the locale's way. Seeded: the same files every time."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from faker import Faker


@dataclass
class Delivery:
    """What was written: the file, its rows per partner class, and the PII values planted."""

    path: Path
    classes: dict[str, int] = field(default_factory=dict)
    planted: list[str] = field(default_factory=list)


#: acme's columns -> the case_routing dataset's (its `rename`)
ACME_RENAME = {
    "Ref": "case_number",
    "Created": "opened",
    "Subject Line": "title",
    "Message": "description",
    "Product Line": "product",
    "Team": "queue",
}
#: acme's classes -> ours (its `label_map`): "Billing Dispute" has no counterpart
ACME_LABELS = {"SEC": "Security", "NET": "Network", "Billing Dispute": None}


def write_acme(folder: Path, last_day: date, rows: int = 60, seed: int = 31) -> Delivery:
    """acme's delivery: a `;`-delimited CSV with a byte-order mark and CRLF line ends, timestamps
    in Berlin time without an offset, 2/3 security incidents, the rest network and billing."""
    fakers = [Faker("de_DE"), Faker("en_GB")]
    for number, fake in enumerate(fakers):
        fake.seed_instance(seed + number)
    delivery = Delivery(folder / "acme-2026-10.csv")
    folder.mkdir(parents=True, exist_ok=True)
    with delivery.path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(list(ACME_RENAME))
        for n in range(rows):
            fake = fakers[n % 2]
            team = ("SEC", "SEC", "NET", "SEC", "SEC", "Billing Dispute")[n % 6]
            message = fake.paragraph(nb_sentences=3)
            if n % 4 == 0:
                value = fake.email() if n % 8 == 0 else fake.phone_number()
                delivery.planted.append(value)
                message = f"{message} Kontakt: {value}"
            day = last_day - timedelta(days=n % 20)
            writer.writerow(
                [
                    f"ACME-{n:05d}",
                    f"{day.isoformat()} {9 + n % 8:02d}:30:00",
                    fake.sentence(nb_words=6),
                    message,
                    ("Router", "Suite", "Laptop")[n % 3],
                    team,
                ]
            )
            delivery.classes[team] = delivery.classes.get(team, 0) + 1
    return delivery


def write_globex(folder: Path, last_day: date, rows: int = 40, seed: int = 47) -> Delivery:
    """globex's delivery: JSONL in the dataset's own column names, French and English text."""
    fakers = [Faker("fr_FR"), Faker("en_US")]
    for number, fake in enumerate(fakers):
        fake.seed_instance(seed + number)
    delivery = Delivery(folder / "globex.jsonl")
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for n in range(rows):
        fake = fakers[n % 2]
        queue = ("Hardware", "Software", "Security")[n % 3]
        text = fake.paragraph(nb_sentences=3)
        if n % 5 == 0:
            value = fake.iban()
            delivery.planted.append(value)
            text = f"{text} IBAN {value}"
        day = last_day - timedelta(days=n % 15)
        lines.append(
            {
                "case_number": f"{n + 1:07d}",  # numbered as the dataset's own cases are: the same ids
                "opened": f"{day.isoformat()}T10:00:00Z",
                "title": fake.sentence(nb_words=5),
                "description": text,
                "product": "Laptop",
                "queue": queue,
            }
        )
        delivery.classes[queue] = delivery.classes.get(queue, 0) + 1
    delivery.path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return delivery
