"""Precision and recall of trainset's redaction per PII type, on the project's labelled set.

    python benchmarks/eval_redaction.py [--size 3000]

Exits 1 when a target is missed: recall 1.00 on email; >= 0.99 on cards, IBAN, IP and SSN;
>= 0.95 on phone; precision >= 0.95 on every type.
"""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa

from pipelines.lib.pii_eval import build_eval_set, evaluate
from pipelines.lib.redaction import PII_TYPES, redact

RECALL_TARGETS = {"email": 1.0, "credit_card": 0.99, "iban": 0.99, "ip_address": 0.99, "us_ssn": 0.99, "phone": 0.95}
PRECISION_TARGET = 0.95


def trainset_redactor(texts: list[str]) -> list[str]:
    return redact(pa.array(texts, type=pa.large_string()), list(PII_TYPES)).text.to_pylist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--show-misses", action="store_true", help="print up to 5 missed values per type")
    args = parser.parse_args()
    texts = build_eval_set(args.size)
    scores = evaluate(trainset_redactor, texts)
    print(f"redaction on {len(texts)} labelled texts ({sum(len(t.spans) for t in texts)} PII values, 6 languages)")
    print(f"{'type':<12} {'gold':>5} {'tp':>5} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}  target")
    failed = False
    for pii_type in PII_TYPES:
        s = scores[pii_type]
        ok = s.recall >= RECALL_TARGETS[pii_type] and s.precision >= PRECISION_TARGET
        failed |= not ok
        target = f"R>={RECALL_TARGETS[pii_type]:.2f} P>={PRECISION_TARGET:.2f} {'ok' if ok else 'MISSED'}"
        counts = f"{s.tp + s.fn:>5} {s.tp:>5} {s.fp:>4} {s.fn:>4}"
        print(f"{pii_type:<12} {counts} {s.precision:>9.3f} {s.recall:>7.3f}  {target}")
        if args.show_misses and s.missed_examples:
            print(f"{'':<12} missed: {s.missed_examples}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
