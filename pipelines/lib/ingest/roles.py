"""Guessing which role each column of an unknown export plays, from its name and its shape.

Each guess carries the reason it was made, in words, so the engineer who reviews the drafted
`defs.yaml` can see why a column was taken (or left out). Names are matched by word: a column
name is cut into lowercase words (`Ticket Number` -> ticket, number; `createdAt` -> created, at).
Columns that hold PII, name a person or a sensitive attribute, or match no role are proposed
for dropping: minimisation keeps only what a role names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: words that name a column of each role, in order of preference within the role
ID_WORDS = ("id", "number", "no", "nr", "key", "ref", "reference", "uuid", "guid", "code")
USER_WORDS = ("user", "customer", "client", "account", "requester", "member", "reporter", "author", "contact")
TIMESTAMP_WORDS = ("created", "opened", "submitted", "received", "reported", "timestamp", "ts", "datetime", "date")
LABEL_WORDS = ("label", "category", "class", "intent", "topic", "queue", "type")
TEXT_WORDS = (
    "subject", "title", "summary", "description", "body", "text", "message", "comment", "details",
    "content", "question", "issue", "request", "note", "notes",
)  # fmt: skip
SEGMENT_WORDS = ("channel", "product", "priority", "region", "country", "status", "tier", "plan", "device", "platform")
#: a person's name or contact: never a role, whatever its shape
PERSON_WORDS = (
    "name", "firstname", "lastname", "fullname", "surname", "email", "mail", "phone", "mobile", "address",
    "agent", "assignee", "sender", "recipient", "signature",
)  # fmt: skip
#: special-category and sensitive attributes (GDPR art. 9 and the like): minimised away
SENSITIVE_WORDS = (
    "gender", "sex", "age", "birth", "dob", "birthday", "ethnicity", "race", "religion", "nationality",
    "health", "salary", "income", "ssn", "passport", "iban", "card",
)  # fmt: skip
#: most categories a label or a segment may have
MAX_CATEGORIES = 50
#: longest value an id, a user id or a category may have, in characters
MAX_SHORT = 64


def words(name: str) -> list[str]:
    """The lowercase words of a column name: split at case changes, digits and punctuation."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def hint(name: str, vocabulary: tuple[str, ...]) -> int | None:
    """Position in `vocabulary` of the first of its words the name holds (lower is preferred),
    or None when it holds none."""
    found = [vocabulary.index(w) for w in words(name) if w in vocabulary]
    return min(found) if found else None


@dataclass(frozen=True)
class Shape:
    """What role guessing reads of one column: counts over its non-blank values, lengths in
    characters, shares in 0..1 of the non-blank values."""

    name: str
    filled: int
    blank_share: float
    distinct: int
    max_chars: int
    median_chars: float
    median_words: float
    spaced_share: float
    date_share: float
    iso_language_share: float
    pii_share: float
    pii_kinds: tuple[str, ...]

    @property
    def unique(self) -> bool:
        return self.filled > 0 and self.distinct == self.filled

    @property
    def nearly_unique(self) -> bool:
        """Unique but for a few repeats (at most 1%): an export's duplicated tickets, which a run
        quarantines as `duplicate_id`, do not make its ticket number something else."""
        return self.filled > 0 and self.distinct >= 0.99 * self.filled

    @property
    def id_shaped(self) -> bool:
        """Short and without spaces: a code, not words."""
        return 0 < self.max_chars <= MAX_SHORT and self.spaced_share == 0 and self.date_share < 0.5

    @property
    def few_values(self) -> bool:
        """Few distinct, short values: a category."""
        return 2 <= self.distinct <= MAX_CATEGORIES and self.max_chars <= MAX_SHORT

    @property
    def repeating(self) -> bool:
        """Values repeat: at most half as many distinct values as filled ones."""
        return self.few_values and self.distinct * 2 <= self.filled


@dataclass(frozen=True)
class Guess:
    """One column's guessed role (`id`, `user`, `timestamp`, `label`, `text`, `language`,
    `segment`, or `drop`) and why."""

    column: str
    role: str
    reason: str


def guess_roles(shapes: list[Shape], label: str | None = None) -> list[Guess]:
    """A role for every column, in the columns' order. `label` names the label column (`--label`);
    without it the label is guessed. One column each for id, user, timestamp, label and language;
    several for text and segments; every other column is proposed for dropping."""
    taken: dict[str, Guess] = {}

    def take(shape: Shape, role: str, reason: str) -> None:
        taken[shape.name] = Guess(shape.name, role, reason)

    def free() -> list[Shape]:
        return [s for s in shapes if s.name not in taken]

    for shape in shapes:
        if shape.name == label:
            take(shape, "label", f"named by --label; {shape.distinct} distinct values")
        elif shape.filled == 0:
            take(shape, "drop", "always blank")
        elif shape.pii_share >= 0.5 and not _free_text(shape):
            # A contact column is dropped; free text that mentions contacts is text, redacted.
            take(shape, "drop", f"holds {', '.join(shape.pii_kinds)} in {shape.pii_share:.0%} of its values")
        elif hint(shape.name, PERSON_WORDS) is not None:
            take(shape, "drop", "named like a person's name or contact details")
        elif hint(shape.name, USER_WORDS) is not None and shape.spaced_share >= 0.5:
            # `Requester: Jane Doe`: a person named in words, not an id to pseudonymise.
            take(shape, "drop", "names a person in words, not by an id: dropped (minimisation)")
        elif hint(shape.name, SENSITIVE_WORDS) is not None:
            take(shape, "drop", "named like a sensitive attribute of a person")
    if label is None:
        # A class or two is still a label to review: a tiny export may hold only a few.
        labels = [
            s
            for s in free()
            if hint(s.name, LABEL_WORDS) is not None and s.distinct <= MAX_CATEGORIES and s.max_chars <= MAX_SHORT
        ]
        if labels:
            best = min(labels, key=lambda s: (hint(s.name, LABEL_WORDS), s.distinct))
            take(best, "label", f"named like a label, {best.distinct} distinct values")
    ids = [s for s in free() if s.nearly_unique and s.blank_share == 0 and s.id_shaped]
    if ids:
        best = min(ids, key=lambda s: (not s.unique, hint(s.name, USER_WORDS) is not None, _rank(s.name, ID_WORDS)))
        copies = best.filled - best.distinct
        unique = "unique" if not copies else f"unique but for {copies} repeated value(s) (a run quarantines them)"
        take(best, "id", f"{unique} and never blank, at most {best.max_chars} characters, no spaces")
    dates = [s for s in free() if s.date_share >= 0.9]
    if dates:
        best = min(dates, key=lambda s: (_rank(s.name, TIMESTAMP_WORDS), s.blank_share))
        take(best, "timestamp", f"{best.date_share:.0%} of its values parse as ISO-8601 dates")
    languages = [s for s in free() if s.iso_language_share == 1 and s.distinct <= MAX_CATEGORIES]
    if languages:
        take(languages[0], "language", "its values are ISO 639-1 language codes")
    users = [
        s
        for s in free()
        if s.id_shaped and s.distinct >= 2 and (hint(s.name, USER_WORDS) is not None or s.distinct < s.filled)
    ]
    users = [s for s in users if hint(s.name, USER_WORDS) is not None or s.distinct > MAX_CATEGORIES]
    if users:
        best = min(users, key=lambda s: (_rank(s.name, USER_WORDS), -s.distinct))
        repeats = "its values repeat" if best.distinct < best.filled else "no value repeats in this export"
        named = "; named like a person id" if hint(best.name, USER_WORDS) is not None else ""
        take(best, "user", f"id-shaped, {best.distinct} distinct values, {repeats}{named}")
    for shape in free():
        if _free_text(shape):
            mentions = f"; mentions {', '.join(shape.pii_kinds)}: redacted" if shape.pii_kinds else ""
            take(
                shape,
                "text",
                f"free text: median {shape.median_words:g} words, {shape.median_chars:g} characters{mentions}",
            )
    for shape in free():
        if shape.repeating or (shape.few_values and hint(shape.name, SEGMENT_WORDS) is not None):
            take(shape, "segment", f"a category: {shape.distinct} distinct values")
    for shape in free():
        why = "a second timestamp" if shape.date_share >= 0.9 else "matches no role"
        take(shape, "drop", f"{why}: not needed for training (minimisation)")
    return [taken[s.name] for s in shapes]


def _rank(name: str, vocabulary: tuple[str, ...]) -> int:
    found = hint(name, vocabulary)
    return len(vocabulary) if found is None else found


def _free_text(shape: Shape) -> bool:
    """Words rather than codes: most values hold spaces; long, or in a column named like text."""
    if shape.spaced_share < 0.5 or shape.median_words < 2:
        return hint(shape.name, TEXT_WORDS) is not None and shape.median_chars >= 3 and not shape.repeating
    # (Many distinct values of two or three words are more often names than free text.)
    many = not shape.few_values and shape.median_words >= 4
    return hint(shape.name, TEXT_WORDS) is not None or shape.median_chars >= 25 or many
