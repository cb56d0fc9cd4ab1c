"""A labelled evaluation set for PII redaction whose values Faker wrote, not trainset.

    texts = build_faker_set(seed=2026, per_kind=10)   # list[EvalText]

Values (`faker_values`): every Faker locale with a phone provider of its own (72 in Faker 40.63),
every card type Faker knows, plain and grouped, IBANs of every country its bank providers write
(compact, grouped in fours, lowercase), free-mail, company and Unicode email addresses of every
email locale, public and private IPv4, IPv6, en_US SSNs with dashes and with spaces. The rules
that drop or set apart some phone numbers and IBANs are stated there.

Texts: ticket-like sentences in eight languages (`ticket_phrases`), one to two values each, with
look-alikes (`lookalikes`) between and around them; one text in six holds look-alikes only. Each
text records its gold spans (start, end, type: text[start:end] is the value), the look-alikes that
must survive verbatim, and its market: a text holding a phone number is in the region of the
phone's locale, and is redacted with `regions=[that region]` (international forms are validated
everywhere); the other texts take the phone regions in turn, so look-alikes meet every market's
validation. Deterministic: the same seed and size give the same texts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pipelines.synthetic import faker_values
from pipelines.synthetic.faker_values import PiiValue
from pipelines.synthetic.lookalikes import GENERATORS
from pipelines.synthetic.pii_scoring import EvalText, GoldSpan
from pipelines.synthetic.ticket_phrases import CLOSERS, LANGUAGES, LOOKALIKE_LEADS, OPENERS, PII_LEADS, SEPARATORS

#: the seed of the evaluation `make eval-redaction` reports, and of the sample the tests hold
SEED = 2026


def build_faker_set(seed: int = SEED, per_kind: int = 10) -> list[EvalText]:
    """Labelled texts holding `faker_values.draw_values(seed, per_kind)`, each value once."""
    return place_values(faker_values.draw_values(seed, per_kind), seed)


def place_values(values: Sequence[PiiValue], seed: int) -> list[EvalText]:
    """Put every value in a ticket-like text among look-alikes (see the module docstring)."""
    rng = random.Random(seed)
    phones = [v for v in values if v.pii_type == "phone"]
    others = [v for v in values if v.pii_type != "phone"]
    rng.shuffle(phones)
    rng.shuffle(others)
    regions: list[str | None] = [*sorted({v.region for v in phones if v.region})] or [None]
    groups: list[list[PiiValue]] = []
    for phone in phones:
        # Half the phone texts also hold another value, so kinds meet in one text.
        groups.append([phone, others.pop()] if others and rng.random() < 0.5 else [phone])
    while others:
        groups.append([others.pop() for _ in range(min(len(others), rng.randint(1, 2)))])
    rng.shuffle(groups)
    texts = []
    for i, group in enumerate(groups):
        region = next((v.region for v in group if v.region), regions[i % len(regions)])
        texts.append(_ticket(rng, group, region))
        if i % 5 == 4:
            texts.append(_ticket(rng, [], regions[(i // 5) % len(regions)]))
    return texts


def _ticket(rng: random.Random, values: list[PiiValue], region: str | None) -> EvalText:
    """One text: opener, look-alikes between and around the values, closer."""
    language = next((v.language for v in values if v.language in LANGUAGES), None) or rng.choice(LANGUAGES)
    parts: list[PiiValue | None] = [None] * rng.randint(1, 3) if not values else []
    for n, value in enumerate(values):
        if n or rng.random() < 0.8:  # always a look-alike between two values
            parts.append(None)
        parts.append(value)
    if values and rng.random() < 0.8:
        parts.append(None)
    pieces: list[tuple[str, PiiValue | None, bool]] = [(rng.choice(OPENERS[language]) + " ", None, False)]
    for n, part in enumerate(parts):
        if n:
            pieces.append((rng.choice(SEPARATORS), None, False))
        pieces += _phrase(rng, part, language)
    pieces.append((rng.choice([". ", "\n"]) + rng.choice(CLOSERS[language]), None, False))
    return _assemble(pieces, region)


def _phrase(rng: random.Random, value: PiiValue | None, language: str) -> list[tuple[str, PiiValue | None, bool]]:
    """A value in a phrase that introduces it, or a look-alike in one: (text, value, look-alike?)."""
    if value is None:
        kind = rng.choice(list(GENERATORS))
        template, item, is_lookalike = LOOKALIKE_LEADS[kind][language], GENERATORS[kind](rng), True
    else:
        template, item, is_lookalike = rng.choice(PII_LEADS[value.pii_type][language]), value.value, False
    before, after = template.split("{}")
    return [(before, None, False), (item, value, is_lookalike), (after, None, False)]


def _assemble(pieces: list[tuple[str, PiiValue | None, bool]], region: str | None) -> EvalText:
    text, gold, keep = "", [], []
    for piece, value, is_lookalike in pieces:
        if value is not None:
            gold.append(GoldSpan(len(text), len(text) + len(piece), value.pii_type, value.kind, value.counted))
        elif is_lookalike:
            keep.append(piece)
        text += piece
    return EvalText(text, tuple(gold), tuple(keep), region)
