"""Deterministic, seeded generator of realistic raw support-ticket data.

Produces what a ticketing system would export: tickets with PII planted in free text, two
annotators' labels on a subset, and a consent opt-out table. Assembly is vectorised (numpy
indices into phrase banks, pandas string concatenation), so 1M tickets take seconds; they also
take over 1 GB, held at once: `day_blocks` generates and lands an export a block of days at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from dateutil.relativedelta import relativedelta

from pipelines.synthetic import pii_values
from pipelines.synthetic import text_fragments as tf

# Phone numbers in national and international formats; {a:b} takes digits a..b of a random
# 8-digit string, the rest is literal.
PHONE_TEMPLATES = [
    "(415) 6{0:2}-{2:6}",  # US national
    "+1 212-6{0:2}-{2:6}",  # US international
    "+44 7911 {0:6}",  # GB mobile
    "020 7946 {0:4}",  # GB London, national
    "+49 30 {0:8}",  # DE Berlin
    "0151 {0:8}",  # DE mobile, national
    "+33 6 {0:2} {2:4} {4:6} {6:8}",  # FR mobile
    "01 {0:2} {2:4} {4:6} {6:8}",  # FR Paris, national
    "+34 612 {0:3} {3:6}",  # ES mobile
    "+91 98{0:3} {3:8}",  # IN mobile
    "+55 11 9{0:4}-{4:8}",  # BR São Paulo mobile
]


@dataclass(frozen=True)
class GeneratorConfig:
    """Knobs of the synthetic export; defaults give a dataset that passes the demo's gates."""

    rows: int = 60_000
    seed: int = 7
    as_of: date = field(default_factory=lambda: datetime.now(UTC).date())
    months: int = 18
    class_weights: dict[str, float] = field(
        default_factory=lambda: {"Billing": 0.36, "Technical": 0.34, "Account": 0.18, "Other": 0.12}
    )
    language_weights: dict[str, float] = field(
        default_factory=lambda: {"en": 0.55, "es": 0.14, "de": 0.12, "fr": 0.09, "pt": 0.06, "it": 0.04}
    )
    channel_weights: dict[str, float] = field(default_factory=lambda: {"email": 0.45, "chat": 0.35, "web": 0.20})
    #: share of tickets whose body gives an email or phone number
    contact_share: float = 0.6
    #: share of tickets that also give a card number, IBAN, IP address or SSN
    other_pii_share: float = 0.08
    #: share of tickets whose language field is wrong (real exports carry a few percent)
    language_label_noise: float = 0.03
    #: share of tickets labelled independently by two annotators
    annotated_share: float = 0.1
    #: probability that the second annotator agrees with the first
    label_agreement: float = 0.93
    #: share of users who opted out of model training
    opt_out_share: float = 0.02
    tickets_per_user: float = 3.0


@dataclass(frozen=True)
class RawExport:
    """The three tables a ticketing system hands over."""

    tickets: pd.DataFrame
    annotations: pd.DataFrame
    opt_outs: pd.DataFrame
    #: every PII value planted in a subject or body (ticket_id, field, pii_type, value): what a
    #: redaction benchmark scores recall against; kept in memory, never landed
    planted: pd.DataFrame


def generate(config: GeneratorConfig) -> RawExport:
    """Generate tickets, annotations and opt-outs; the same config always gives the same bytes."""
    rng = np.random.default_rng(config.seed)
    start, seconds = _window(config.as_of, config.months)
    rows = _draw_rows(rng, config, config.rows, start, seconds, user_count(config))
    tickets, planted = _assemble(rng, config, rows, np.arange(1, config.rows + 1))
    annotations = _annotations(rng, tickets, list(config.class_weights), config)
    users = tickets["user_id"].drop_duplicates().sort_values().to_numpy()
    opt_outs = _opt_outs(rng, users, config)
    return RawExport(tickets=tickets, annotations=annotations, opt_outs=opt_outs, planted=planted)


def user_count(config: GeneratorConfig) -> int:
    """How many users the tickets are drawn from (user numbers 0 .. count - 1)."""
    return max(1, int(config.rows / config.tickets_per_user))


def user_ids(user_num: np.ndarray) -> pd.Series:
    """The user ids the export writes for user numbers."""
    return "u" + _zero_padded(user_num, 7)


@dataclass(frozen=True)
class _Rows:
    """What each ticket is before its text is assembled, in order of creation."""

    class_idx: np.ndarray
    lang_idx: np.ndarray
    channel: np.ndarray
    created_at: np.ndarray
    user_num: np.ndarray


def _draw_rows(
    rng: np.random.Generator, config: GeneratorConfig, n: int, start: np.datetime64, seconds: int, n_users: int
) -> _Rows:
    """Class, language, channel, creation time (within `seconds` from `start`) and user of `n`
    tickets, sorted by creation time."""
    class_idx = rng.choice(len(config.class_weights), size=n, p=_normalised(config.class_weights))
    lang_idx = rng.choice(len(config.language_weights), size=n, p=_normalised(config.language_weights))
    channel = np.array(list(config.channel_weights))[
        rng.choice(len(config.channel_weights), size=n, p=_normalised(config.channel_weights))
    ]
    created_at = start + rng.integers(0, seconds, size=n).astype("timedelta64[s]")
    order = np.argsort(created_at, kind="stable")
    user_num = rng.integers(0, n_users, size=n)
    return _Rows(class_idx[order], lang_idx[order], channel[order], created_at[order], user_num)


def _assemble(
    rng: np.random.Generator, config: GeneratorConfig, rows: _Rows, ticket_num: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tickets' table (ids from `ticket_num`) with PII planted in subjects and bodies, and the
    table of what was planted where."""
    n = len(ticket_num)
    classes = list(config.class_weights)
    languages = list(config.language_weights)
    class_idx, lang_idx, user_num = rows.class_idx, rows.lang_idx, rows.user_num
    first = np.array(tf.FIRST_NAMES)[user_num % len(tf.FIRST_NAMES)]
    last = np.array(tf.LAST_NAMES)[(user_num // len(tf.FIRST_NAMES)) % len(tf.LAST_NAMES)]
    user_id = user_ids(user_num)

    subject = _pick_by_class_language(rng, tf.SUBJECTS, classes, languages, class_idx, lang_idx)
    problem = _pick_by_class_language(rng, tf.PROBLEMS, classes, languages, class_idx, lang_idx)
    greeting = _pick_by_language(rng, tf.GREETINGS, languages, lang_idx)
    closing = _pick_by_language(rng, tf.CLOSINGS, languages, lang_idx)
    contact = _pick_by_language(rng, tf.CONTACT_SENTENCES, languages, lang_idx)

    email = (
        pd.Series(first)
        + "."
        + pd.Series(last)
        + pd.Series(user_num % 97).astype(str)
        + "@"
        + pd.Series(np.array(tf.EMAIL_DOMAINS)[user_num % len(tf.EMAIL_DOMAINS)])
    )
    phone = _phones(rng, n)
    use_phone = rng.random(n) < 0.5
    pii = email.where(~use_phone, phone)
    has_contact = rng.random(n) < config.contact_share
    # Splice the PII in where the template's placeholder is (str.replace cannot take a vector).
    contact_text = _splice_pii(contact, pii).where(has_contact, "")

    negatives = np.array(tf.HARD_NEGATIVES)[rng.integers(0, len(tf.HARD_NEGATIVES), size=n)]
    negative_numbers = pd.Series(rng.integers(1000, 999_999, size=n)).astype(str)
    negative_text = _splice(pd.Series(negatives), "{n}", negative_numbers)
    has_negative = rng.random(n) < 0.5

    other_text, other_rows, other_kinds, other_values = _other_pii(rng, languages, lang_idx, config.other_pii_share)
    negative_text = (" " + negative_text).where(has_negative, "")
    body = greeting + " " + problem + contact_text + other_text + negative_text + " " + closing
    subject_pii = rng.random(n) < 0.05
    subject = subject.where(~subject_pii, subject + " (" + pii + ")")

    language = np.array(languages)[lang_idx]
    mislabelled = rng.random(n) < config.language_label_noise
    language = np.where(mislabelled, np.array(languages)[rng.integers(0, len(languages), size=n)], language)

    ticket_id = "T" + _zero_padded(ticket_num, 8)
    contact_type = np.where(use_phone, "phone", "email")
    planted = pd.concat(
        [
            pd.DataFrame(
                {"ticket_id": ticket_id[where], "field": field, "pii_type": contact_type[where], "value": pii[where]}
            )
            for where, field in ((has_contact, "body"), (subject_pii, "subject"))
        ]
        + [
            pd.DataFrame(
                {"ticket_id": ticket_id[other_rows], "field": "body", "pii_type": other_kinds, "value": other_values}
            )
        ],
        ignore_index=True,
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ticket_id,
            "user_id": user_id,
            "customer_name": pd.Series(first).str.capitalize() + " " + pd.Series(last).str.capitalize(),
            "customer_email": email,
            "created_at": pd.Series(rows.created_at).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "channel": rows.channel,
            "language": language,
            "subject": subject,
            "body": body,
            "category": np.array(classes)[class_idx],
        }
    )
    return tickets, planted


def write_landing(export: RawExport, root: Path) -> dict[str, Path]:
    """Write the export as a landing zone: one CSV of tickets per day, plus the two tables."""
    tickets_dir = root / "tickets"
    tickets_dir.mkdir(parents=True, exist_ok=True)
    day = export.tickets["created_at"].str.slice(0, 10)
    write_days(export.tickets, pd.date_range(day.min(), day.max(), freq="D"), tickets_dir)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "consent").mkdir(parents=True, exist_ok=True)
    _write_csv(export.annotations, root / "annotations" / "annotations.csv")
    _write_csv(export.opt_outs, root / "consent" / "opt_outs.csv")
    return landing_folders(root)


def landing_folders(root: Path) -> dict[str, Path]:
    """Where a landing zone under `root` keeps each table."""
    return {"tickets": root / "tickets", "annotations": root / "annotations", "consent": root / "consent"}


def write_days(tickets: pd.DataFrame, days: pd.DatetimeIndex, tickets_dir: Path) -> None:
    """One CSV per day of `days` (`YYYY-MM-DD.csv`) holding the tickets created that day."""
    by_day = dict(tuple(tickets.groupby(tickets["created_at"].str.slice(0, 10), sort=True)))
    # A quiet day still lands a file (header only), as a real daily export would.
    for value in days.strftime("%Y-%m-%d"):
        _write_csv(by_day.get(value, tickets.iloc[0:0]), tickets_dir / f"{value}.csv")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


def _zero_padded(numbers: np.ndarray, width: int) -> pd.Series:
    return pd.Series(numbers).astype("str").str.zfill(width)


def _normalised(weights: dict[str, float]) -> np.ndarray:
    values = np.array(list(weights.values()), dtype=float)
    if (values < 0).any() or values.sum() <= 0:
        raise ValueError(f"weights must be non-negative and not all zero, got {weights}")
    return values / values.sum()


def _window(as_of: date, months: int) -> tuple[np.datetime64, int]:
    """The start (midnight) and length in seconds of `months` of history ending with day `as_of`."""
    end = datetime.combine(as_of, time.min) + relativedelta(days=1)
    start = end - relativedelta(months=months)
    return np.datetime64(start, "s"), int((end - start).total_seconds())


def _pick_by_language(rng, bank: dict[str, list[str]], languages, lang_idx) -> pd.Series:
    per_language = len(next(iter(bank.values())))
    flat = np.array([phrase for lang in languages for phrase in bank[lang]], dtype=object)
    return pd.Series(flat[lang_idx * per_language + rng.integers(0, per_language, size=len(lang_idx))], dtype="str")


def _pick_by_class_language(rng, bank, classes, languages, class_idx, lang_idx) -> pd.Series:
    per_cell = len(bank[languages[0]][classes[0]])
    flat = np.array([p for c in classes for lang in languages for p in bank[lang][c]], dtype=object)
    cell = class_idx * len(languages) + lang_idx
    return pd.Series(flat[cell * per_cell + rng.integers(0, per_cell, size=len(cell))], dtype="str")


def _phones(rng: np.random.Generator, n: int) -> pd.Series:
    digits = _zero_padded(rng.integers(0, 10**8, size=n), 8)
    which = rng.integers(0, len(PHONE_TEMPLATES), size=n)
    out = pd.Series([""] * n, dtype="str")
    for i, template in enumerate(PHONE_TEMPLATES):
        mask = which == i
        out[mask] = _fill_digits(template, digits[mask])
    return out


def _fill_digits(template: str, digits: pd.Series) -> pd.Series:
    result = pd.Series([""] * len(digits), index=digits.index, dtype="str")
    for part in re.split(r"(\{\d+:\d+\})", template):
        slot = re.fullmatch(r"\{(\d+):(\d+)\}", part)
        result = result + (digits.str.slice(int(slot[1]), int(slot[2])) if slot else part)
    return result


def _splice(template: pd.Series, placeholder: str, values: pd.Series) -> pd.Series:
    head = template.str.split(placeholder, n=1, regex=False).str[0]
    tail = template.str.split(placeholder, n=1, regex=False).str[1].fillna("")
    return head + values + tail


def _splice_pii(contact: pd.Series, pii: pd.Series) -> pd.Series:
    return " " + _splice(contact, "{pii}", pii)


def _other_pii(
    rng: np.random.Generator, languages: list[str], lang_idx: np.ndarray, share: float
) -> tuple[pd.Series, np.ndarray, list[str], list[str]]:
    """A sentence with a card number, IBAN, IP address or SSN for `share` of the tickets; also
    the rows, kinds and values planted."""
    n = len(lang_idx)
    out = pd.Series([""] * n, dtype="str")
    chosen = np.flatnonzero(rng.random(n) < share)
    kinds = list(pii_values.GENERATORS)
    kind = rng.choice(len(kinds), size=len(chosen), p=[0.3, 0.3, 0.3, 0.1])
    # Python per chosen row only (a few percent): values need checksums, not worth vectorising.
    values = [pii_values.GENERATORS[kinds[k]](rng) for k in kind]
    sentences = [
        " " + tf.PII_SENTENCES[kinds[k]][languages[lang_idx[row]]].replace("{pii}", value)
        for row, k, value in zip(chosen, kind, values, strict=True)
    ]
    out.iloc[chosen] = sentences
    return out, chosen, [kinds[k] for k in kind], values


def _annotations(rng, tickets: pd.DataFrame, classes: list[str], config: GeneratorConfig) -> pd.DataFrame:
    chosen = tickets.loc[rng.random(len(tickets)) < config.annotated_share, ["ticket_id", "category"]]
    first = chosen["category"].to_numpy()
    # The second annotator agrees with probability label_agreement, else picks another class.
    shift = rng.integers(1, len(classes), size=len(chosen))
    class_pos = pd.Series(first).map({c: i for i, c in enumerate(classes)}).to_numpy()
    other = np.array(classes)[(class_pos + shift) % len(classes)]
    second = np.where(rng.random(len(chosen)) < config.label_agreement, first, other)
    ids = chosen["ticket_id"].to_numpy()
    return pd.DataFrame(
        {
            "ticket_id": np.concatenate([ids, ids]),
            "annotator": np.repeat(["annotator_a", "annotator_b"], len(ids)),
            "label": np.concatenate([first, second]),
        }
    )


def _opt_outs(rng, users: np.ndarray, config: GeneratorConfig) -> pd.DataFrame:
    """Opt-outs of `opt_out_share` of `users` (user ids), each on a day of the year before as_of."""
    chosen = users[rng.random(len(users)) < config.opt_out_share]
    end = datetime.combine(config.as_of, time.min)
    days_ago = rng.integers(0, 365, size=len(chosen))
    opted_out_at = pd.Series(np.datetime64(end, "s") - days_ago.astype("timedelta64[D]"))
    return pd.DataFrame({"user_id": chosen, "opted_out_at": opted_out_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ")})
