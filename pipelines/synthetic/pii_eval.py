"""A labelled evaluation set for PII redaction, built by the project itself, and its scoring.

Texts in six languages carry PII in many formats at known gold spans, mixed with hard negatives
(versions, order and invoice ids, dates, times, GUIDs, error codes, MAC addresses, tracking
numbers) that must survive. A redactor is scored by `pipelines.synthetic.pii_scoring`, as on
every other evaluation set: a gold value counts as found when its own placeholder replaced it
whole, the characters around it untouched; any other placeholder is a false positive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.synthetic import pii_scoring, pii_values
from pipelines.synthetic.pii_scoring import EvalText, GoldSpan, TypeScore

LANGUAGES = ["en", "es", "de", "fr", "pt", "it"]
LEADS = {
    "email": {
        "en": "Write to",
        "es": "Escriban a",
        "de": "Schreiben Sie an",
        "fr": "Écrivez à",
        "pt": "Escrevam para",
        "it": "Scrivete a",
    },
    "phone": {
        "en": "Call me on",
        "es": "Llámenme al",
        "de": "Rufen Sie mich unter",
        "fr": "Appelez-moi au",
        "pt": "Liguem para",
        "it": "Chiamatemi al",
    },
    "credit_card": {
        "en": "I paid with card",
        "es": "Pagué con la tarjeta",
        "de": "Bezahlt mit Karte",
        "fr": "Payé avec la carte",
        "pt": "Paguei com o cartão",
        "it": "Pagato con la carta",
    },
    "iban": {
        "en": "Refund to",
        "es": "Reembolso a",
        "de": "Erstattung auf",
        "fr": "Remboursement sur",
        "pt": "Reembolso para",
        "it": "Rimborso su",
    },
    "ip_address": {
        "en": "Login failed from",
        "es": "Error de acceso desde",
        "de": "Anmeldung fehlgeschlagen von",
        "fr": "Connexion refusée depuis",
        "pt": "Falha de login de",
        "it": "Accesso negato da",
    },
    "us_ssn": {
        "en": "My SSN is",
        "es": "Mi SSN es",
        "de": "Meine SSN ist",
        "fr": "Mon SSN est",
        "pt": "Meu SSN é",
        "it": "Il mio SSN è",
    },
}
TAILS = {"en": "thanks.", "es": "gracias.", "de": "danke.", "fr": "merci.", "pt": "obrigado.", "it": "grazie."}
HARD_NEGATIVES = [
    "I am on version 2.14.3",
    "build 10.0.19045.2965",
    "app v1.2.3.4",
    "order ORD-2024-118273",
    "invoice INV-2026-00123",
    "since 2026-03-14",
    "on 14/03/2026",
    "on 14.03.2026 at 10:32:15",
    "request id 123e4567-e89b-12d3-a456-426614174000",
    "error 0x80070005",
    "error code ERR-5021",
    "tracking 1Z999AA10123456784",
    "ticket #48213",
    "price 1,299.00 EUR",
    "ref T00012345",
    "customer number 12345678",
    "MAC 00:1A:2B:3C:4D:5E",
    "room 4-112",
    "batch 2026-11-27-0042",
    "serial SN-4412-8890-1123",
    "page 12 of 40",
    "ISBN 978-3-16-148410-0",
    "postcode 75008",
    "at 09:30-11:00",
]
PHONE_FORMATS = [
    "(415) 6{0:2}-{2:6}",
    "+1 212-6{0:2}-{2:6}",
    "312.6{0:2}.{2:6}",
    "+1 (646) 5{0:2}-{2:6}",
    "415 6{0:2} {2:6}",
    "+44 7911 {0:6}",
    "07700 9{0:5}",
    "020 7946 {0:4}",
    "+44 20 7946 {0:4}",
    "+447911{0:6}",
    "+49 30 {0:8}",
    "030 {0:8}",
    "0151 {0:8}",
    "+49 (0)151 {0:8}",
    "+33 6 {0:2} {2:4} {4:6} {6:8}",
    "06 {0:2} {2:4} {4:6} {6:8}",
    "01 {0:2} {2:4} {4:6} {6:8}",
    "+34 612 {0:3} {3:6}",
    "+34 91 {0:3} {3:5} {5:7}",
    "612 {0:3} {3:6}",
    "+91 98{0:3} {3:8}",
    "+91-98{0:8}",
    "098{0:3} {3:8}",
    "+55 11 9{0:4}-{4:8}",
    "(11) 9{0:4}-{4:8}",
    "+55 21 {0:4}-{4:8}",
    "07911{0:6}",
]
EMAIL_FORMATS = [
    "{f}.{l}@example.com",
    "{f}{n}@mail.example.org",
    "{f}+tickets@example.co.uk",
    "{F}.{L}@Example.DE",
    "{f}_{l}{n}@sub.example.es",
    "{l}.{f}@correo.example.com.br",
]
FIRST = ["anna", "ben", "carla", "david", "elena", "felix", "giulia", "hugo", "ines", "jonas"]
LAST = ["smith", "garcia", "muller", "martin", "silva", "rossi", "dubois", "schmidt"]


@dataclass(frozen=True)
class LabelledText:
    """A text, its gold PII spans (start, end, type) and the look-alikes placed in it."""

    text: str
    spans: tuple[tuple[int, int, str], ...]
    language: str
    keep: tuple[str, ...] = ()

    def values(self) -> list[tuple[str, str]]:
        return [(self.text[start:end], pii_type) for start, end, pii_type in self.spans]

    def to_eval(self) -> EvalText:
        """The text as the scorer takes it (every value counted; the engine's default regions)."""
        gold = tuple(GoldSpan(start, end, pii_type, pii_type) for start, end, pii_type in self.spans)
        return EvalText(self.text, gold, self.keep)


def build_eval_set(size: int = 3000, seed: int = 2026) -> list[LabelledText]:
    """Deterministic labelled texts: 1-2 PII values of different types, and hard negatives.

    One text in six holds no PII at all, only look-alikes.
    """
    rng = np.random.default_rng(seed)
    types = list(LEADS)
    texts = []
    for i in range(size):
        language = LANGUAGES[i % len(LANGUAGES)]
        count = 0 if i % 6 == 5 else int(rng.integers(1, 3))
        chosen: list[str] = [str(t) for t in rng.choice(types, size=count, replace=False)] if count else []
        segments: list[tuple[str, str | None]] = []
        for pii_type in chosen:
            segments += [(LEADS[pii_type][language] + " ", None), (pii_value(rng, pii_type), pii_type), (", ", None)]
        for _ in range(int(rng.integers(1, 3))):
            segments += [(HARD_NEGATIVES[rng.integers(len(HARD_NEGATIVES))], "keep"), (", ", None)]
        segments.append((TAILS[language], None))
        texts.append(_assemble(segments, language))
    return texts


def pii_value(rng: np.random.Generator, pii_type: str) -> str:
    """One realistic value of a PII type, in one of the formats the set covers."""
    if pii_type == "email":
        template = EMAIL_FORMATS[rng.integers(len(EMAIL_FORMATS))]
        first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
        return template.format(f=first, l=last, F=first.title(), L=last.title(), n=int(rng.integers(1, 99)))
    if pii_type == "phone":
        template = PHONE_FORMATS[rng.integers(len(PHONE_FORMATS))]
        digits = f"{int(rng.integers(0, 10**8)):08d}"
        out, cursor = "", 0
        while cursor < len(template):
            if template[cursor] == "{":
                close = template.index("}", cursor)
                start, end = (int(x) for x in template[cursor + 1 : close].split(":"))
                out += digits[start:end]
                cursor = close + 1
            else:
                out += template[cursor]
                cursor += 1
        return out
    return pii_values.GENERATORS[pii_type](rng)


def _assemble(segments: list[tuple[str, str | None]], language: str) -> LabelledText:
    """Join segments: (text, PII type), (look-alike, "keep") or (text, None)."""
    text, spans, keep = "", [], []
    for piece, label in segments:
        if label == "keep":
            keep.append(piece)
        elif label:
            spans.append((len(text), len(text) + len(piece), label))
        text += piece
    return LabelledText(text, tuple(spans), language, tuple(keep))


def score(texts: Sequence[LabelledText], outputs: Sequence[str]) -> dict[str, TypeScore]:
    """Precision and recall per PII type of a redactor's outputs for `texts`."""
    return pii_scoring.score([t.to_eval() for t in texts], outputs).types


def evaluate(redactor: Callable[[list[str]], list[str]], texts: Sequence[LabelledText]) -> dict[str, TypeScore]:
    """Run a redactor (list of texts in, list out) on the set and score it."""
    return score(texts, redactor([t.text for t in texts]))
