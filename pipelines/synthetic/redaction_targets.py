"""The redaction targets, and trainset's engine run and judged against them on a labelled set.

Targets (issue 10, "Redaction that holds on text nobody here wrote"), on every evaluation set and
per PII type: recall 1.00 on email, >= 0.99 on cards, IBANs, IP addresses and SSNs, >= 0.97 on
phone numbers; precision >= 0.97; look-alikes kept >= 0.99. Recall and precision are as
`pii_scoring` counts them: a value is found only when its own placeholder replaced it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from pipelines.lib.privacy.redaction import PII_TYPES, redact
from pipelines.synthetic.pii_scoring import EvalText, SetScore, score

#: share of gold values replaced whole by their own placeholder, per type
RECALL_TARGETS = {"email": 1.0, "phone": 0.97, "credit_card": 0.99, "iban": 0.99, "ip_address": 0.99, "us_ssn": 0.99}
#: share of placeholders that stand for exactly a gold value of their type, every type
PRECISION_TARGET = 0.97
#: share of look-alike strings present verbatim in the output
LOOKALIKES_KEPT_TARGET = 0.99


@dataclass(frozen=True)
class Verdict:
    """One measure beside its target."""

    name: str  # "phone recall", "look-alikes kept" ...
    measured: float
    target: float
    count: str  # what the share is of, e.g. "697 of 710"

    @property
    def met(self) -> bool:
        return self.measured >= self.target


def redact_texts(texts: Sequence[EvalText], pii_types: Sequence[str] = PII_TYPES) -> list[str]:
    """trainset's engine on every text, in order: one call per market, national phone numbers
    validated in the text's region (the engine's default regions where a text names none)."""
    outputs: list[str] = [""] * len(texts)
    for region in dict.fromkeys(t.region for t in texts):
        rows = [i for i, t in enumerate(texts) if t.region == region]
        column = pa.array([texts[i].text for i in rows], type=pa.large_string())
        redacted = redact(column, list(pii_types), regions=[region] if region else None).text.to_pylist()
        for i, text in zip(rows, redacted, strict=True):
            outputs[i] = text
    return outputs


def evaluate(texts: Sequence[EvalText], pii_types: Sequence[str] = PII_TYPES) -> SetScore:
    """Redact the texts with trainset's engine and score the outputs."""
    return score(texts, redact_texts(texts, pii_types))


def verdicts(result: SetScore) -> list[Verdict]:
    """Every target of a set: recall and precision per type, then look-alikes kept."""
    found = []
    for pii_type, target in RECALL_TARGETS.items():
        s = result.types[pii_type]
        placeholders = s.tp + s.uncounted_found + s.fp
        found.append(Verdict(f"{pii_type} recall", s.recall, target, f"{s.tp} of {s.gold}"))
        correct = f"{placeholders - s.fp} of {placeholders}"
        found.append(Verdict(f"{pii_type} precision", s.precision, PRECISION_TARGET, correct))
    kept = f"{result.lookalikes_kept} of {result.lookalikes}"
    found.append(Verdict("look-alikes kept", result.kept, LOOKALIKES_KEPT_TARGET, kept))
    return found
