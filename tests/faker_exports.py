"""Support-ticket exports as someone else would write them: Faker's text in several locales, PII
in extra columns and in the text, column names unlike the demo's (a Kaggle-style help-desk dump)."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker

LOCALES = OrderedDict({"en_US": 0.5, "de_DE": 0.2, "fr_FR": 0.15, "es_ES": 0.15})
TYPES = OrderedDict(
    {"Billing inquiry": 0.4, "Technical issue": 0.35, "Refund request": 0.15, "Cancellation request": 0.1}
)
CHANNELS = ["Email", "Chat", "Web", "Phone"]
PRIORITIES = ["Low", "Medium", "High", "Critical"]


def help_desk_export(rows: int, newest: date, days: int = 120, seed: int = 5) -> pd.DataFrame:
    """`rows` tickets over the `days` days up to `newest`: a unique `Ticket Number`, a repeating
    `Customer ID`, a `Created` timestamp, PII columns (name, email, phone, gender, age), subject and
    description in Faker's locales (every fifth description quoting an email or a phone number),
    `Ticket Type` (the label), `Ticket Channel` and `Ticket Priority`."""
    picker = Faker()
    picker.seed_instance(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for offset, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + offset)
    records = []
    for number in range(rows):
        fake = fakers[picker.random_element(LOCALES)]
        description = fake.paragraph(nb_sentences=3)
        if number % 5 == 0:
            description += f" {fake.email() if number % 10 == 0 else fake.phone_number()}"
        created = datetime.combine(newest, datetime.min.time()) - timedelta(minutes=picker.random_int(0, days * 1440))
        records.append(
            {
                "Ticket Number": str(10_000 + number),
                "Customer ID": f"C{picker.random_int(1, max(rows // 3, 2)):06d}",
                "Customer Name": fake.name(),
                "Customer Email": fake.email(),
                "Customer Phone": fake.phone_number(),
                "Customer Gender": picker.random_element(["Male", "Female", "Other"]),
                "Customer Age": str(picker.random_int(18, 80)),
                "Created": created.isoformat() + "Z",
                "Ticket Type": picker.random_element(TYPES),
                "Ticket Subject": fake.sentence(nb_words=6),
                "Ticket Description": description,
                "Ticket Channel": picker.random_element(CHANNELS),
                "Ticket Priority": picker.random_element(PRIORITIES),
            }
        )
    return pd.DataFrame(records)


def write_export(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as CSV, JSONL or Parquet, by the path's suffix; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        lines = (json.dumps(r, ensure_ascii=False) for r in frame.to_dict(orient="records"))
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    else:
        frame.to_parquet(path, index=False)
    return path
