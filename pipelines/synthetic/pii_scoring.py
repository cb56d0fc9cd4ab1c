"""Scoring a redactor on labelled texts: recall and precision per PII type, look-alikes kept.

A redactor's output is aligned to its input: the output must be the input with some substrings
replaced by placeholders (`<EMAIL>`, `<PHONE>` ...), and the alignment says which characters each
placeholder stands for. Then, per type:

- recall: share of gold values replaced *whole by their own placeholder*, the characters around
  them untouched (the placeholder stands for exactly the gold span);
- precision: share of placeholders that stand for exactly a gold value of their type; any other
  placeholder (over-redaction, a value cut short or run long, a mislabelled value) is a false
  positive. `over` counts the false positives that touch no gold value at all;
- look-alikes kept: share of look-alike strings present verbatim in the output.

An output that is not the input with substrings replaced cannot be aligned: its gold values count
as missed, its placeholders as false positives, and the text is counted as `unaligned`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.lib.privacy.redaction import PLACEHOLDERS

#: how many examples of each kind of error a score keeps for reports
EXAMPLES = 5


@dataclass(frozen=True)
class GoldSpan:
    """A PII value at text[start:end] (character offsets), with the kind it was drawn as."""

    start: int
    end: int
    pii_type: str
    #: what the value is an example of, for reports ("phone ru_RU", "credit_card amex dashes")
    kind: str = ""
    #: held to the targets; False for values scored apart (see `faker_pii`: phone numbers outside
    #: their region's numbering plan)
    counted: bool = True


@dataclass(frozen=True)
class EvalText:
    """One labelled text: gold PII spans, look-alikes that must survive, and its market."""

    text: str
    gold: tuple[GoldSpan, ...]
    keep: tuple[str, ...] = ()
    #: ISO 3166 region where national phone numbers are validated; None: the engine's default
    region: str | None = None

    def value(self, span: GoldSpan) -> str:
        return self.text[span.start : span.end]


@dataclass
class TypeScore:
    """Counts for one PII type. Rates are 1.0 when there is nothing to count."""

    tp: int = 0  # gold values replaced whole by their own placeholder
    fn: int = 0  # gold values not
    fp: int = 0  # placeholders that are not exactly a gold value of their type
    over: int = 0  # of which: placeholders touching no gold value
    uncounted: int = 0  # gold values scored apart (not held to the targets)
    uncounted_found: int = 0
    missed_examples: list[str] = field(default_factory=list)
    spurious_examples: list[str] = field(default_factory=list)

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        correct = self.tp + self.uncounted_found
        return correct / (correct + self.fp) if correct + self.fp else 1.0


@dataclass
class SetScore:
    """A redactor's score on one set: per type, look-alikes kept, texts that did not align."""

    types: dict[str, TypeScore]
    lookalikes: int = 0
    lookalikes_kept: int = 0
    lost_lookalikes: list[str] = field(default_factory=list)
    unaligned: int = 0

    @property
    def kept(self) -> float:
        return self.lookalikes_kept / self.lookalikes if self.lookalikes else 1.0


_TYPE_OF = {placeholder: pii_type for pii_type, placeholder in PLACEHOLDERS.items()}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in _TYPE_OF))


def align(source: str, output: str, gold: Iterable[GoldSpan] = ()) -> list[tuple[int, int, str]] | None:
    """(start, end, type) of the span of `source` each placeholder in `output` replaced, in order;
    None when `output` is not `source` with substrings replaced by placeholders.

    Where several alignments exist ("<PHONE> <PHONE>" over three space-separated groups), the one
    whose placeholders stand for the most gold spans of their type is taken: the scorer must not
    blame the redactor for its own choice of reading.
    """
    literals = _PLACEHOLDER.split(output)
    types = [_TYPE_OF[m.group()] for m in _PLACEHOLDER.finditer(output)]
    if not source.startswith(literals[0]) or not source.endswith(literals[-1]):
        return None
    wanted = {(g.start, g.end, g.pii_type) for g in gold}
    # best[pos] = (gold matched, spans so far) for literal i placed at source position pos
    best: dict[int, tuple[int, list[tuple[int, int, str]]]] = {0: (0, [])}
    for i, pii_type in enumerate(types, start=1):
        literal, previous = literals[i], literals[i - 1]
        last = i == len(types)
        positions = [len(source) - len(literal)] if last else list(_occurrences(source, literal))
        step: dict[int, tuple[int, list[tuple[int, int, str]]]] = {}
        for pos in positions:
            for start_of_previous, (matched, spans) in best.items():
                start = start_of_previous + len(previous)
                if start > pos:
                    continue
                hit = (start, pos, pii_type) in wanted
                if pos not in step or matched + hit > step[pos][0]:
                    step[pos] = (matched + hit, [*spans, (start, pos, pii_type)])
        if not step:
            return None
        best = step
    if not types:
        return [] if source == output else None
    return max(best.values(), key=lambda found: found[0])[1]


def _occurrences(text: str, literal: str) -> Iterable[int]:
    pos = text.find(literal)
    while pos != -1:
        yield pos
        pos = text.find(literal, pos + 1)


def score(texts: Sequence[EvalText], outputs: Sequence[str]) -> SetScore:
    """Score a redactor's `outputs` (one per text, in order) against the labelled `texts`."""
    result = SetScore({pii_type: TypeScore() for pii_type in PLACEHOLDERS})
    for labelled, output in zip(texts, outputs, strict=True):
        _score_text(labelled, output, result)
    return result


def _score_text(labelled: EvalText, output: str, result: SetScore) -> None:
    spans = align(labelled.text, output, labelled.gold)
    if spans is None:
        result.unaligned += 1
        spans = []
        for match in _PLACEHOLDER.finditer(output):
            result.types[_TYPE_OF[match.group()]].fp += 1
    replaced = set(spans)
    for gold in labelled.gold:
        counts = result.types[gold.pii_type]
        found = (gold.start, gold.end, gold.pii_type) in replaced
        if not gold.counted:
            counts.uncounted += 1
            counts.uncounted_found += found
        elif found:
            counts.tp += 1
        else:
            counts.fn += 1
            _example(counts.missed_examples, f"{gold.kind or gold.pii_type}: {labelled.value(gold)!r}")
    golds = {(g.start, g.end, g.pii_type) for g in labelled.gold}
    for start, end, pii_type in spans:
        if (start, end, pii_type) in golds:
            continue
        counts = result.types[pii_type]
        counts.fp += 1
        touches = any(g.start < end and start < g.end for g in labelled.gold)
        counts.over += not touches
        _example(counts.spurious_examples, repr(labelled.text[start:end]))
    for keep in labelled.keep:
        result.lookalikes += 1
        if keep in output:
            result.lookalikes_kept += 1
        else:
            _example(result.lost_lookalikes, repr(keep))


def _example(examples: list[str], example: str) -> None:
    if len(examples) < EXAMPLES and example not in examples:
        examples.append(example)


def field_rule_failures(remove: Sequence[tuple[str, str]], keep: Sequence[str], output: str) -> list[str]:
    """Why `output` fails the field-case rule, or [] when it passes.

    Every value of `remove` ((value, type) pairs) must be gone whole, and no fragment of it of 4 or
    more word characters (the value split on non-word characters) may be left; every `keep` string
    must be present verbatim.
    """
    why = []
    for value, pii_type in remove:
        fragments = [w for w in re.split(r"[^\w]+", value) if len(w) >= 4]
        if value in output or any(fragment in output for fragment in fragments):
            why.append(f"left {pii_type} {value!r}")
    why += [f"changed look-alike {k!r}" for k in keep if k not in output]
    return why
