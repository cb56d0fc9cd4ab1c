"""Partner samples as two partners would write them, and the data of ours they are assessed against.

Faker writes every text and PII value, in several locales: e-mail addresses, phone numbers in
national formats (kept only when libphonenumber's plan for the locale's region says they are
valid: `synthetic.faker_values.phone_status`), IBANs written lowercase in groups of four (kept
only when python-stdnum accepts them). Neither rule asks the redaction engine anything.

- `our_tickets`: the dataset's own tickets (raw; the tests redact and store them): Account and
  the `web` channel short of their bars.
- `acme_sample`: a German partner's CSV (UTF-8 with a byte-order mark, `;` delimiter, its own
  column and class names, local times) whose rows close both gaps.
- `globex_sample`: a US partner's JSONL (ids as JSON numbers, one null) whose rows close neither.

Each returns a `Planted`: the file and every figure the assessment must find in it, by design.
Seeded: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker
from stdnum import iban as stdnum_iban

from pipelines.synthetic.faker_values import phone_status

AS_OF = date(2026, 10, 31)
#: our tickets per class: Account is short of a 100-example bar by 40
OUR_CLASSES = {"Billing": 150, "Technical": 140, "Account": 60, "Other": 110}
#: our tickets from the web channel: 3.3%, short of a 5% bar by 9 examples
OUR_WEB = 15
LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR", "us": "en_US"}
REGIONS = {"en": "GB", "de": "DE", "fr": "FR", "us": "US"}
#: how each PII value is introduced in a text, by language
LEADS = {
    "email": {
        "en": "Write to me at {}",
        "de": "Meine Adresse ist {}",
        "fr": "Mon adresse est {}",
        "us": "Email me: {}",
    },
    "phone": {"en": "Call me on {}", "de": "Rufen Sie mich an unter {}", "fr": "Appelez-moi au {}", "us": "Call {}"},
    "iban": {"en": "Refund to {}", "de": "Bitte erstatten auf {}", "fr": "Remboursez sur {}", "us": "Account {}"},
}
#: the gold examples of the guideline, by id: (class, text)
GOLD = {
    "G1": ("Billing", "I was charged twice for the same subscription this month."),
    "G2": ("Technical", "The app closes by itself every time I open the settings page."),
    "G3": ("Account", "I cannot log in since I changed my password yesterday."),
    "G4": ("Other", "Do you have an office where I can drop off a letter?"),
}
GUIDELINE = (
    "# Support triage labeling guideline\n\n## Rules\n\n1. Billing: charges, invoices, refunds.\n"
    "2. Technical: errors, crashes, things that do not work.\n3. Account: logging in, passwords, profiles.\n"
    "4. Other: everything else.\n\n## Gold examples\n\n"
    + "".join(
        f"### {gid} — {label}\n\n{text}\n\nRationale: it is about {label.lower()}.\n\n"
        for gid, (label, text) in GOLD.items()
    )
)
ACME_CLASSES = {"Billing": "Rechnung", "Technical": "Technik", "Account": "Konto", "Other": "Sonstiges"}
GLOBEX_CLASSES = {
    "Billing": "billing_question",
    "Technical": "bug_report",
    "Account": "login_problem",
    "Other": "feedback",
}
#: a class another partner's label is confused with
CONFUSED = {"Billing": "Technical", "Technical": "Other", "Account": "Billing", "Other": "Billing"}


@dataclass(repr=False)
class Planted:
    """A sample and what it holds by design."""

    path: Path
    records: int = 0
    #: every PII value written anywhere in the file (the outputs are scanned for each)
    values: list[str] = field(default_factory=list)
    #: every id, user id, subject and body written (the outputs are scanned for each)
    cells: list[str] = field(default_factory=list)
    #: export column -> PII type -> values written in the records that parse
    pii: dict[str, dict[str, int]] = field(default_factory=dict)
    #: partner class -> rows (parsed, labelled)
    classes: dict[str, int] = field(default_factory=dict)
    #: (the partner's label as our class, our label) of every item both label
    compared: list[tuple[str, str]] = field(default_factory=list)
    #: our class -> rows that reach the training set; and those of the web channel
    usable: dict[str, int] = field(default_factory=dict)
    usable_web: int = 0
    #: rows taken out before scaling, by reason
    removed: dict[str, int] = field(default_factory=dict)
    relabelled: Path | None = None
    #: (record id, our label) of the records our annotators re-labelled
    relabels: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        # A failing test prints its fixtures: the values written are PII-shaped, never shown.
        return f"Planted({self.path.name}, {self.records} records)"

    def count(self, column: str, kind: str, n: int = 1) -> None:
        self.pii.setdefault(column, {}).setdefault(kind, 0)
        self.pii[column][kind] += n


class Writer:
    """Faker per language, seeded; PII values judged by the locale's own rules."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fakers = {lang: Faker(locale) for lang, locale in LOCALES.items()}
        for offset, fake in enumerate(self.fakers.values()):
            fake.seed_instance(seed + offset)
        self.seen: set[str] = set()

    def email(self, lang: str) -> str:
        return self.fakers[lang].email()

    def phone(self, lang: str) -> str:
        """A valid number of the language's region, written nationally (no + or 00 prefix)."""
        fake = self.fakers[lang]
        while True:
            value = fake.phone_number()
            if not value.startswith(("+", "00")) and phone_status(value, REGIONS[lang]) == "valid":
                return value

    def iban(self, lang: str) -> str:
        """A valid IBAN of the language's country, lowercase in groups of four."""
        fake = self.fakers["de" if lang == "us" else lang]
        while True:
            value = fake.iban()
            if stdnum_iban.is_valid(value):
                return " ".join(value[i : i + 4] for i in range(0, len(value), 4)).lower()

    def value(self, kind: str, lang: str) -> str:
        return {"email": self.email, "phone": self.phone, "iban": self.iban}[kind](lang)

    def text(self, lang: str) -> tuple[str, str]:
        """A (subject, body) pair no earlier pair repeats."""
        fake = self.fakers[lang]
        while True:
            subject, body = fake.sentence(nb_words=6), fake.paragraph(nb_sentences=2)
            if (subject, body) not in self.seen:
                self.seen.add((subject, body))  # type: ignore[arg-type]
                return subject, body


def our_tickets(seed: int = 7) -> pd.DataFrame:
    """Our tickets, raw: `ticket_id`, `user_id`, `created_at` (UTC, the 60 days up to AS_OF),
    `language`, `channel`, `subject`, `body` (every third quoting a PII value: `kind`, written into
    the body's `{}` of `template`), `category`."""
    writer, rows, n = Writer(seed), [], 0
    for category, count in OUR_CLASSES.items():
        for _ in range(count):
            lang = ("en", "de", "fr")[n % 3]
            subject, body = writer.text(lang)
            kind = ("email", "phone", "iban")[n % 9 // 3] if n % 3 == 0 else ""
            template = f"{body} {LEADS[kind][lang]}" if kind else body
            rows.append(
                {
                    "ticket_id": f"T{n:05d}",
                    "user_id": f"U{n % 97:04d}",
                    "created_at": pd.Timestamp(AS_OF, tz="UTC") - pd.Timedelta(hours=1 + 3 * n),
                    "language": lang,
                    "channel": "web" if n < OUR_WEB else ("email", "chat")[n % 2],
                    "subject": subject,
                    "template": template,
                    "kind": kind,
                    "body": template.format(writer.value(kind, lang)) if kind else template,
                    "category": category,
                }
            )
            n += 1
    return pd.DataFrame(rows)


def acme_sample(folder: Path, ours: pd.DataFrame, seed: int = 11) -> Planted:
    """ACME's export: `;`-delimited CSV with a byte-order mark, German column and class names, local
    times (Europe/Berlin, some with offsets), PII in its own columns (E-Mail, Telefon, IBAN) and in
    the text. 202 records: 60 repeat our texts (6 labelled otherwise than ours), 50 are re-labelled
    by our annotators (5 otherwise), 3 are gold examples, 70 new, 5 Spam (no counterpart), 4 of a
    class nobody mapped, 3 too old, 2 undated, 2 unlabelled, 2 repeats, 1 malformed."""
    writer = Writer(seed)
    planted = Planted(path=folder / "acme-sample.csv")
    groups: list[dict] = []

    def new(lang: str, index: int, **more) -> None:
        subject, body = writer.text(lang)
        kind = ("email", "phone", "iban", "")[index % 4]
        value = writer.value(kind, lang) if kind else ""
        body = f"{body} {LEADS[kind][lang].format(value)}" if kind else body
        groups.append(dict(lang=lang, subject=subject, body=body, kind=kind, value=value, **more))

    for n, ticket in enumerate(ours.iloc[::7].head(60).itertuples()):  # our texts, with new PII values
        value = writer.value(ticket.kind, ticket.language) if ticket.kind else ""
        body = ticket.template.format(value) if ticket.kind else ticket.template
        theirs = CONFUSED[ticket.category] if n < 6 else ticket.category
        groups.append(
            dict(
                lang=ticket.language,
                subject=ticket.subject,
                body=body,
                kind=ticket.kind,
                value=value,
                label=theirs,
                removed="already_in_our_data",
            )
        )
        planted.compared.append((theirs, ticket.category))
    for n, label in enumerate(["Account"] * 20 + ["Billing"] * 10 + ["Technical"] * 10 + ["Other"] * 10):
        ours_label = CONFUSED[label] if n % 10 == 9 else label
        new(("de", "fr", "en")[n % 3], n, label=label, relabel=ours_label, usable=True)
        planted.compared.append((label, ours_label))
    for gid in ("G1", "G2", "G4"):
        label, text = GOLD[gid]
        groups.append(dict(lang="en", subject="", body=text, kind="", value="", label=label, usable=True))
        planted.compared.append((label, label))
    web = {0, 1, 2, 3, 4, 5, 30, 31, 32, 50, 51, 60}  # 12 of the new rows come from the web
    for n, label in enumerate(["Account"] * 30 + ["Billing"] * 20 + ["Technical"] * 10 + ["Other"] * 10):
        channel = "web" if n in web else ("email", "chat")[n % 2]
        new(("de", "en", "fr")[n % 3], n, label=label, usable=True, channel=channel)
    originals = [g for g in groups if g.get("channel") == "chat"][:2]
    for n in range(5):
        new("de", n, raw="Spam", removed="quarantined:unmapped_label")
    for n in range(4):
        new("de", n + 1, raw="Vertrieb", removed="quarantined:unknown_label")
    for n in range(3):
        new("fr", n, label="Account", created=f"2024-0{n + 3}-11 09:30:00", removed="outside_freshness_window")
    for n in range(2):
        new("en", n + 2, label="Billing", created="gestern", removed="quarantined:unparseable_timestamp")
    for n in range(2):
        new("de", n + 3, raw="", removed="unlabelled")
    writer.rng.shuffle(groups)
    # After the shuffle: a repeat comes later than the row it repeats (same text, class and channel).
    groups += [dict(g, usable=False, removed="repeated_in_sample") for g in originals]

    header = ["Ticket-Nr", "Kundennummer", "E-Mail", "Telefon", "IBAN", "Erstellt", "Betreff", "Nachricht"]
    header += ["Sprache", "Kanal", "Kategorie"]
    lines = io.StringIO()
    out = csv.writer(lines, delimiter=";", lineterminator="\r\n")
    out.writerow(header)
    for n, group in enumerate(groups):
        lang = group["lang"]
        at = datetime.combine(AS_OF, datetime.min.time()) - timedelta(hours=7 * (n + 1))
        row = {
            "Ticket-Nr": f"ACME-{n + 1:04d}",
            "Kundennummer": "kd-" + "".join(writer.rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(8)),
            "E-Mail": writer.email(lang),
            "Telefon": writer.phone(lang),
            "IBAN": writer.iban(lang),
            "Erstellt": group.get("created") or (at.isoformat(sep=" ") if n % 2 else at.isoformat() + "+01:00"),
            "Betreff": group["subject"],
            "Nachricht": group["body"],
            "Sprache": lang,
            "Kanal": group.get("channel", "email"),
            "Kategorie": group["raw"] if "raw" in group else ACME_CLASSES[group["label"]],
        }
        out.writerow(row.values())
        planted.records += 1
        planted.cells += [row["Ticket-Nr"], row["Kundennummer"], row["Betreff"], row["Nachricht"]]
        planted.values += [row["E-Mail"], row["Telefon"], row["IBAN"], *([group["value"]] if group["value"] else [])]
        for column, kind in (("E-Mail", "email"), ("Telefon", "phone"), ("IBAN", "iban")):
            planted.count(column, kind)
        if group["kind"]:
            planted.count("Nachricht", group["kind"])
        if row["Kategorie"]:
            planted.classes[row["Kategorie"]] = planted.classes.get(row["Kategorie"], 0) + 1
        if group.get("usable"):
            planted.usable[group["label"]] = planted.usable.get(group["label"], 0) + 1
            planted.usable_web += row["Kanal"] == "web"
        if group.get("removed"):
            planted.removed[group["removed"]] = planted.removed.get(group["removed"], 0) + 1
        if group.get("relabel"):
            planted.relabels.append((row["Ticket-Nr"], group["relabel"]))
        if n == 99:  # a record with one field too many: a `;` in a value nobody quoted
            email, phone = writer.email("de"), writer.phone("de")
            planted.values += [email, phone]
            lines.write(
                f"ACME-X;kd-malformed;{email};{phone};;{at.isoformat()};Rückruf;bitte; zurückrufen;de;email;Technik\r\n"
            )
            planted.records += 1
    planted.path.parent.mkdir(parents=True, exist_ok=True)
    planted.path.write_bytes("\ufeff".encode() + lines.getvalue().encode("utf-8"))
    planted.relabelled = folder / "acme-relabelled.csv"
    planted.relabelled.write_text("Ticket-Nr,label\n" + "".join(f"{i},{label}\n" for i, label in planted.relabels))
    return planted


def globex_sample(folder: Path, ours: pd.DataFrame, seed: int = 13) -> Planted:
    """Globex's export: JSONL with its own keys and class names, ids and customers as JSON numbers
    (one id null), times in UTC, contact fields, the channel written its own way (portal, mail,
    chat: never `web`) and in three records the customer's e-mail address where the channel should
    be; two messages quote an IP address. 75 records: 10 repeat our texts (2 labelled otherwise),
    64 new (6 login problems: a sensitive class, under a contract rather than consent), 1 without
    an id."""
    writer = Writer(seed)
    planted = Planted(path=folder / "globex-sample.jsonl")
    groups: list[dict] = []
    for n, ticket in enumerate(ours.iloc[3::11].head(10).itertuples()):
        value = writer.value(ticket.kind, "us") if ticket.kind else ""
        body = ticket.template.format(value) if ticket.kind else ticket.template
        theirs = CONFUSED[ticket.category] if n < 2 else ticket.category
        groups.append(dict(subject=ticket.subject, body=body, kind=ticket.kind, value=value, label=theirs))
        planted.compared.append((theirs, ticket.category))
        planted.removed["already_in_our_data"] = planted.removed.get("already_in_our_data", 0) + 1
    labels = ["Billing"] * 30 + ["Technical"] * 20 + ["Other"] * 8 + ["Account"] * 6
    for n, label in enumerate(labels):
        subject, body = writer.text("us")
        kind = ("email", "phone", "iban", "")[n % 4]
        value = writer.value(kind, "us") if kind else ""
        body = f"{body} {LEADS[kind]['us'].format(value)}" if kind else body
        medium = ("portal", "mail", "chat")[n % 3]
        ip = writer.fakers["us"].ipv4_public() if n in (5, 9) else ""  # which the dataset does not redact
        body = f"{body} Logged from {ip}." if ip else body
        group = dict(subject=subject, body=body, kind=kind, value=value, label=label, medium=medium, usable=True)
        groups.append(group | ({"ip": ip} if ip else {}))
    for group in [g for g in groups if g.get("label") == "Other" and g.get("usable")][:3]:
        group["medium"] = writer.email("us")  # the customer's address where the channel should be
        group["medium_pii"] = True
    subject, body = writer.text("us")
    groups.append(dict(subject=subject, body=body, kind="", value="", label="Billing", no_id=True))
    planted.removed["quarantined:missing_required_field"] = 1
    writer.rng.shuffle(groups)
    lines = []
    for n, group in enumerate(groups):
        at = datetime.combine(AS_OF, datetime.min.time()) - timedelta(hours=5 * (n + 1))
        row = {
            "ref": None if group.get("no_id") else 5000 + n,
            "customer": 10_000 + writer.rng.randrange(500),
            "opened": at.isoformat() + "Z",
            "title": group["subject"],
            "message": group["body"],
            "lang": "en",
            "medium": group.get("medium", "mail"),
            "topic": GLOBEX_CLASSES[group["label"]],
            "contact_email": writer.email("us"),
            "contact_phone": writer.phone("us"),
        }
        lines.append(json.dumps(row, ensure_ascii=False))
        planted.records += 1
        planted.cells += [*([str(row["ref"])] if row["ref"] is not None else []), row["title"], row["message"]]
        planted.values += [row["contact_email"], row["contact_phone"], *([group["value"]] if group["value"] else [])]
        planted.count("contact_email", "email")
        planted.count("contact_phone", "phone")
        if group["kind"]:
            planted.count("message", group["kind"])
        if group.get("ip"):
            planted.values.append(group["ip"])
            planted.count("message", "ip_address")
        if group.get("medium_pii"):
            planted.values.append(row["medium"])
            planted.count("medium", "email")
        planted.classes[row["topic"]] = planted.classes.get(row["topic"], 0) + 1
        if group.get("usable"):
            planted.usable[group["label"]] = planted.usable.get(group["label"], 0) + 1
    planted.path.parent.mkdir(parents=True, exist_ok=True)
    planted.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return planted
