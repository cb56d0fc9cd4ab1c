"""The labeling guideline: a markdown file of rules and gold examples with their rationales,
written by people for people, and read here so gold items can be scored against it.

The format (headings are what is read; any other section, such as an introduction, is free text):

    # Ticket triage labeling guideline          <- the title: the first `# ` heading
    ## Rules                                     <- numbered (`1.`, `1)`) or bulleted (`-`) items;
    1. Billing: charges, invoices, refunds...       an indented or following line continues one
    ## Gold examples
    ### G1 — Billing                             <- id, a dash (— – or " - ") or a colon, the class
    I was charged twice this month.              <- the ticket's text (`> ` quoting is dropped)
    Rationale: a duplicate charge is billing...  <- why the class is right; may run on

A gold example becomes the item `gold:<id>` in every batch (`annotations.GOLD_PREFIX`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipelines.lib.labeling.annotations import GOLD_PREFIX

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.*\S)\s*$")
_GOLD = re.compile(r"^(?P<id>\S+?)\s*(?:[—–:]|\s-\s)\s*(?P<label>\S.*?)$")
_RATIONALE = re.compile(r"^\s*(?:\*\*|__)?rationale(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")


class GuidelineError(ValueError):
    """A guideline that cannot be used: `problems` lists (line, what is wrong and what to do)."""

    exit_code = 2  # like a spec that does not validate: fix the guideline

    def __init__(self, path: Path, problems: list[tuple[int | None, str]]):
        self.path, self.problems = path, problems
        where = [f"{path}:{line}: {what}" if line else f"{path}: {what}" for line, what in problems]
        many = f"{len(where)} problems in the guideline:\n" + "\n".join(where)
        super().__init__(where[0] if len(where) == 1 else many)


class GoldExample(BaseModel):
    """One worked example of the guideline: a ticket text, its class and why."""

    model_config = ConfigDict(frozen=True)

    id: str  #: as written in its heading (`G1`); the item is `gold:G1`
    label: str  #: one of the dataset's classes
    text: str  #: the ticket's text: a paragraph's lines joined by spaces (markdown's soft wrap), paragraphs by \n
    rationale: str  #: why the label is right, lines joined with spaces
    line: int  #: the line of its `###` heading in the file


class Guideline(BaseModel):
    """A guideline as loaded: which bytes (sha256), its rules and its gold examples, in file order."""

    model_config = ConfigDict(frozen=True)

    path: Path
    sha256: str  #: of the file's bytes: which version of the guideline a batch was labelled under
    title: str
    rules: list[str]
    gold: list[GoldExample]

    def answers(self) -> dict[str, str]:
        """Gold item id (`gold:G1`) -> its label: what `agreement.gold_scores` scores against."""
        return {GOLD_PREFIX + example.id: example.label for example in self.gold}


def load_guideline(path: Path, classes: Sequence[str]) -> Guideline:
    """Read and check the guideline at `path` for a dataset labelled with `classes`.

    Checked: a title; at least one rule; every class has at least one gold example; every gold
    example has a heading `### <id> — <class>` naming one of `classes`, a text and a rationale;
    ids are unique. Raises GuidelineError (exit code 1) listing every problem found with its line
    and what to do, or naming the file when it is missing or not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GuidelineError(
            path, [(None, "no such file; write the guideline there or fix labeling.guideline in the spec")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        at = raw[: error.start].count(b"\n") + 1
        raise GuidelineError(path, [(at, "not UTF-8 text; save the file as UTF-8")]) from None
    lines = text.splitlines()
    parsed = _Parsed()
    for number, line in enumerate(lines, start=1):
        parsed.read(number, line)
    return parsed.guideline(path, hashlib.sha256(raw).hexdigest(), list(classes), max(len(lines), 1))


@dataclass
class _Draft:
    """A gold example as read so far."""

    id: str
    label: str
    line: int
    text: list[str] = field(default_factory=list)
    why: list[str] | None = None  # None until its `Rationale:` line
    open: bool = True  # until the next heading


class _Parsed:
    """What a single pass over the lines found, and the problems on the way."""

    def __init__(self) -> None:
        self.title: str | None = None
        self.section: str | None = None
        self.headings: dict[str, int] = {}  # section -> line of its heading
        self.rules: list[list[str]] = []
        self.rule_open = False
        self.examples: list[_Draft] = []
        self.fenced = False
        self.problems: list[tuple[int | None, str]] = []

    def read(self, number: int, line: str) -> None:
        if _FENCE.match(line):
            self.fenced = not self.fenced
            return
        heading = None if self.fenced else _HEADING.match(line)
        if heading:
            self._heading(number, len(heading[1]), heading[2])
        elif self.section == "rules":
            self._rule_line(line)
        elif self.section == "gold" and self.examples and self.examples[-1].open:
            self._example_line(line)

    def _heading(self, number: int, level: int, words: str) -> None:
        self.rule_open = False
        if self.examples:
            self.examples[-1].open = False
        if level == 1 and self.title is None:
            self.title = words
        elif level == 2:
            key = "rules" if words.lower() == "rules" else "gold" if words.lower().startswith("gold") else "other"
            if key != "other" and key in self.headings:
                self.problems.append(
                    (
                        number,
                        f"a second '## {words}' section (the first is on line "
                        f"{self.headings[key]}); merge them into one",
                    )
                )
            self.headings.setdefault(key, number)
            self.section = key
        elif level == 3 and self.section == "gold":
            match = _GOLD.match(words)
            if match is None:
                self.problems.append(
                    (
                        number,
                        f"gold example heading '### {words}' is not '### <id> — <class>'; "
                        "write e.g. '### G1 — Billing'",
                    )
                )
                return
            self.examples.append(_Draft(match["id"], match["label"], number))

    def _rule_line(self, line: str) -> None:
        item = _ITEM.match(line)
        if item:
            self.rules.append([item[1]])
            self.rule_open = True
        elif not line.strip():
            self.rule_open = False
        elif self.rules and (self.rule_open or line[:1].isspace()):
            self.rules[-1].append(line.strip())
            self.rule_open = True

    def _example_line(self, line: str) -> None:
        example = self.examples[-1]
        rationale = _RATIONALE.match(line)
        if rationale and example.why is None:
            example.why = [rationale[1]]
        elif example.why is not None:
            example.why.append(line.strip())
        else:
            example.text.append(re.sub(r"^\s*>\s?", "", line).rstrip())

    def guideline(self, path: Path, sha256: str, classes: list[str], last: int) -> Guideline:
        problems = self.problems
        if self.title is None:
            problems.append((1, "no title; start the file with '# <title of the guideline>'"))
        if "rules" not in self.headings:
            problems.append((last, "no '## Rules' section; add one with numbered rules ('1. ...')"))
        elif not self.rules:
            problems.append((self.headings["rules"], "the Rules section has no rule; add numbered rules ('1. ...')"))
        gold = self._gold(classes, problems)
        if "gold" not in self.headings:
            problems.append((last, "no '## Gold examples' section; add one with at least one example per class"))
        else:
            for name in classes:
                if not any(example.label == name for example in gold):
                    problems.append(
                        (
                            self.headings["gold"],
                            f"class {name!r} has no gold example; add "
                            f"'### G<n> — {name}' with a ticket text and a 'Rationale:' line",
                        )
                    )
        if problems:
            raise GuidelineError(path, sorted(problems, key=lambda problem: problem[0] or 0))
        return Guideline(
            path=path, sha256=sha256, title=self.title or "", rules=[" ".join(rule) for rule in self.rules], gold=gold
        )

    def _gold(self, classes: list[str], problems: list[tuple[int | None, str]]) -> list[GoldExample]:
        gold: list[GoldExample] = []
        seen: dict[str, int] = {}
        for example in self.examples:
            number, name, label = example.line, example.id, example.label
            text = _paragraphs(example.text)
            why = " ".join(part for part in (example.why or []) if part).strip()
            if name in seen:
                problems.append(
                    (
                        number,
                        f"gold example id {name!r} is already used on line {seen[name]}; give each example its own id",
                    )
                )
            seen.setdefault(name, number)
            if label not in classes:
                problems.append(
                    (number, f"gold example {name}: class {label!r} is not one of {classes}; use one of them")
                )
            if not text:
                problems.append((number, f"gold example {name} has no text; write the ticket's text under its heading"))
            if not why:
                problems.append(
                    (
                        number,
                        f"gold example {name} has no rationale; add a line 'Rationale: <why "
                        f"{label} is right>' after its text",
                    )
                )
            gold.append(GoldExample(id=name, label=label, text=text, rationale=why, line=number))
        return gold


def _paragraphs(lines: list[str]) -> str:
    """Markdown lines -> text: lines of a paragraph joined by spaces, paragraphs by a newline."""
    paragraphs = re.split(r"\n\s*\n", "\n".join(lines).strip())
    return "\n".join(" ".join(part.split()) for part in paragraphs if part.strip())
