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


# -- shaped like three public exports ----------------------------------------------------------

#: a public IT-service-ticket export: nothing but the ticket's text and its topic group
TOPIC_GROUPS = OrderedDict(
    {"Hardware": 0.3, "HR Support": 0.22, "Access": 0.16, "Miscellaneous": 0.14, "Storage": 0.1, "Purchase": 0.08}
)
#: a public multilingual support-ticket export: locale -> the ISO 639-1 code its `language` column writes
MULTILINGUAL = OrderedDict({"en_US": "en", "de_DE": "de", "fr_FR": "fr", "es_ES": "es", "it_IT": "it"})
QUEUES = ["Technical Support", "Billing and Payments", "Customer Service", "Product Support", "IT Support"]
TICKET_KINDS = ["Incident", "Request", "Problem", "Change"]
TAGS = ["Security", "Outage", "Performance", "Billing", "Login", "Network", "Hardware", "Feedback"]
#: an issue tracker's CSV export
ISSUE_TYPES = ["Bug", "Task", "Service Request", "Incident"]
STATUSES = ["Open", "In Progress", "Resolved", "Closed"]


def _fakers(locales, seed: int) -> tuple[Faker, dict[str, Faker]]:
    picker = Faker()
    picker.seed_instance(seed)
    fakers = {locale: Faker(locale) for locale in locales}
    for offset, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + 1 + offset)
    return picker, fakers


def label_and_text_export(rows: int, seed: int = 21) -> pd.DataFrame:
    """`rows` tickets with only a `Document` (the text, in Faker's locales, every seventh quoting an
    email address) and its `Topic_group` (the label): no id, no user, no time, no channel."""
    picker, fakers = _fakers(LOCALES, seed)
    records = []
    for number in range(rows):
        fake = fakers[picker.random_element(LOCALES)]
        document = fake.paragraph(nb_sentences=4)
        if number % 7 == 0:
            document += f" {fake.email()}"
        records.append({"Document": document, "Topic_group": picker.random_element(TOPIC_GROUPS)})
    return pd.DataFrame(records)


def multilingual_export(rows: int, seed: int = 33) -> pd.DataFrame:
    """`rows` tickets in five languages: `subject` (sometimes blank), `body`, `answer`, `type`,
    `queue` (the label), `priority`, `language` (the locale's code) and `tag_1`..`tag_3` (the last
    often blank): no id, no user, no time."""
    picker, fakers = _fakers(MULTILINGUAL, seed)
    records = []
    for number in range(rows):
        locale = picker.random_element(list(MULTILINGUAL))
        fake = fakers[locale]
        body = fake.paragraph(nb_sentences=5)
        if number % 6 == 0:
            body += f" {fake.phone_number()}"
        records.append(
            {
                "subject": "" if number % 9 == 0 else fake.sentence(nb_words=6),
                "body": body,
                "answer": fake.paragraph(nb_sentences=3),
                "type": picker.random_element(TICKET_KINDS),
                "queue": picker.random_element(QUEUES),
                "priority": picker.random_element(["low", "medium", "high"]),
                "language": MULTILINGUAL[locale],
                "tag_1": picker.random_element(TAGS),
                "tag_2": picker.random_element(TAGS),
                "tag_3": "" if number % 3 else picker.random_element(TAGS),
            }
        )
    return pd.DataFrame(records)


def write_with_blank_rows(frame: pd.DataFrame, path: Path, blank: int) -> Path:
    """Write `frame` as CSV followed by `blank` all-empty rows (`,,,`), as a spreadsheet pads an export."""
    write_export(frame, path)
    with path.open("a", encoding="utf-8") as out:
        out.write(("," * (len(frame.columns) - 1) + "\n") * blank)
    return path


def issue_tracker_export(rows: int, newest: date, days: int = 10, seed: int = 45) -> pd.DataFrame:
    """`rows` issues over the `days` days up to `newest`: `Issue key` (PROJ-n), `Summary`,
    `Description` (several lines, in Faker's locales), `Issue Type` (the label), `Priority`,
    `Status`, `Reporter` (a person's name) and `Created` (`YYYY-MM-DD HH:MM`, no zone)."""
    picker, fakers = _fakers(LOCALES, seed)
    records = []
    for number in range(rows):
        fake = fakers[picker.random_element(LOCALES)]
        created = datetime.combine(newest, datetime.min.time()) + timedelta(
            minutes=picker.random_int(0, 1439) - picker.random_int(0, days - 1) * 1440
        )
        records.append(
            {
                "Issue key": f"PROJ-{100 + number}",
                "Summary": fake.sentence(nb_words=7),
                "Description": "\n".join(fake.sentences(nb=3)),
                "Issue Type": picker.random_element(ISSUE_TYPES),
                "Priority": picker.random_element(["Low", "Medium", "High"]),
                "Status": picker.random_element(STATUSES),
                "Reporter": fake.name(),
                "Created": created.strftime("%Y-%m-%d %H:%M"),
            }
        )
    return pd.DataFrame(records)


def write_cut_short(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as CSV whose last record is cut short: the file ends inside its quoted
    `Description`, the quote never closed (a download or a copy interrupted)."""
    write_export(frame.iloc[:-1], path)
    last = frame.iloc[-1]
    with path.open("a", encoding="utf-8") as out:
        out.write(f'{last["Issue key"]},"{last["Summary"]}","{last["Description"][:30]}')
    return path
