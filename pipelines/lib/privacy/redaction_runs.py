"""Step 4 of redaction: a span no rule takes whole (two phone numbers in a row, a date glued to a
number...) is looked at run by run of its digit groups, each run decided by the same rules.

These spans are few (a run of numbers the scan joined), so they are cut into runs in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.privacy.pii_rules import KEEP, PLACEHOLDERS, RULES, classify
from pipelines.lib.privacy.pii_spans import LEFT_CHARS, RIGHT_CHARS, Spans

#: digit groups in one run
MAX_RUN = 8
#: (start, end, placeholder) within a span
Edits = list[tuple[int, int, str]]


def decide_runs(spans: Spans, undecided: np.ndarray) -> dict[int, Edits]:
    """Per undecided span (index into `spans`), the values found in it: each run of up to
    MAX_RUN consecutive digit groups decided by the rules, the earliest run taken winning, the
    longest for a value and the shortest for a look-alike. Spans with one group are left out."""
    runs: list[tuple[int, int, int, int, int]] = []  # (span, first group, last group, start, end)
    texts, lefts, rights = [], [], []
    groups_of: dict[int, list[tuple[int, int]]] = {}
    for i, text, left, right in zip(
        undecided.tolist(),
        pc.take(spans.text, undecided).to_pylist(),
        pc.take(spans.left, undecided).to_pylist(),
        pc.take(spans.right, undecided).to_pylist(),
        strict=True,
    ):
        groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
        if len(groups) < 2:
            continue
        groups_of[i] = groups
        for first in range(len(groups)):
            lead = re.search(r"(?:\+ ?|\( ?\+? ?)$", text[: groups[first][0]])
            start = lead.start() if lead else groups[first][0]
            for last in range(first, min(len(groups), first + MAX_RUN)):
                end = groups[last][1]
                if "(" in text[start:end] and text[end : end + 1] == ")":
                    end += 1
                runs.append((i, first, last, start, end))
                texts.append(text[start:end])
                lefts.append((left + text[:start])[-LEFT_CHARS:])
                rights.append((text[end:] + right)[:RIGHT_CHARS])
    if not runs:
        return {}
    sub = Spans(pa.array(texts, pa.large_string()), pa.array(lefts, pa.large_string()),
                pa.array(rights, pa.large_string()), spans.regions)  # fmt: skip
    rule, cut = classify(sub)
    options: dict[int, dict[int, list[tuple[int, int, int, int]]]] = {}
    for (i, first, last, start, _), r, c in zip(runs, rule.tolist(), cut.tolist(), strict=True):
        if r >= 0:
            options.setdefault(i, {}).setdefault(first, []).append((r, last, start, start + c))
    edits: dict[int, Edits] = {}
    for i, by_first in options.items():
        first, groups = 0, groups_of[i]
        while first < len(groups):
            choices = by_first.get(first)
            if not choices:
                first += 1
                continue
            best = min(r for r, *_ in choices)
            verdict = RULES[best].verdict
            picked = [c for c in choices if c[0] == best]
            _, last, start, end = (min if verdict == KEEP else max)(picked, key=lambda c: c[1])
            if verdict != KEEP:
                edits.setdefault(i, []).append((start, end, PLACEHOLDERS[verdict]))
                last = max(last, next((g for g, (s, _) in enumerate(groups) if s >= end), len(groups)) - 1)
            first = last + 1
    return edits


def apply_edits(text: str, edits: Edits) -> str:
    """`text` with each (start, end, placeholder) of `edits` put in place of its characters."""
    out, last = [], 0
    for start, end, placeholder in sorted(edits):
        out += [text[last:start], placeholder]
        last = end
    return "".join(out) + text[last:]
