"""Field cases: redaction inputs rebuilt from public bug reports of PII tools and from public
ticket exports (every value made up), kept in `tests/fixtures/field_cases/redaction.jsonl`.

One JSON object a line: `id`, `kind`, `text`, `remove` (values that must be gone whole, each with
its type) and `keep` (look-alikes that must survive verbatim). The pass rule is
`pii_scoring.field_rule_failures`; for precision and recall each case is also an `EvalText`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.synthetic.pii_scoring import EvalText, GoldSpan

FIELD_CASES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "field_cases" / "redaction.jsonl"


@dataclass(frozen=True)
class FieldCase:
    """One case as written in the file."""

    id: str
    kind: str
    text: str
    remove: tuple[tuple[str, str], ...]  # (value, PII type)
    keep: tuple[str, ...]

    def to_eval(self) -> EvalText:
        """The case as the scorer takes it: each value at its first place in the text."""
        gold = []
        for value, pii_type in self.remove:
            start = self.text.index(value)
            gold.append(GoldSpan(start, start + len(value), pii_type, f"{pii_type} {self.kind}"))
        return EvalText(self.text, tuple(gold), self.keep)


def load_field_cases(path: Path = FIELD_CASES) -> list[FieldCase]:
    """Every case of a field-case file, in file order."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            remove = tuple((v["value"], v["type"]) for v in row["remove"])
            cases.append(FieldCase(row["id"], row["kind"], row["text"], remove, tuple(row["keep"])))
    return cases
