"""The steward's decision on a partner source: `decisions/<dataset>/<source>.yaml` in the workspace,
committed and reviewed like code.

A record says approve, reject or conditional (approve under listed conditions), why, who signed it,
on which day, and until which day (inclusive) it holds. `trainset assess-partner` drafts one from
the assessment with the approver and date left as TODO: a draft cannot be used until a steward
signs it. A source's rows are usable only under an approval in force whose terms allow training.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.lib.errors import USAGE, describe_os_error, validation_problems
from pipelines.lib.partners.terms import PartnerTerms, Verdict, allows_training

if TYPE_CHECKING:
    from pipelines.lib.spec import DatasetSpec

#: where a workspace keeps the decision records, one `<dataset>/<source>.yaml` per partner source
DECISIONS_FOLDER = Path("decisions")
#: what a draft leaves for the steward to write
TODO = "TODO"


class DecisionRecordError(ValueError):
    """A decision record is invalid or unreadable; the message names the file and the key."""

    exit_code = USAGE


class Decision(StrEnum):
    """The steward's decision on a partner source."""

    APPROVE = "approve"
    REJECT = "reject"
    CONDITIONAL = "conditional"


class DecisionRecord(BaseModel):
    """One partner source's decision: what, why, under which conditions, by whom, when, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="The dataset the source feeds (the record's folder).")
    source: str = Field(description="The partner source (the record's file name).")
    decision: Decision = Field(description="approve, reject, or conditional (approve under `conditions`).")
    reasons: list[str] = Field(min_length=1, description="Why, in words: the assessment's findings that decided it.")
    conditions: list[str] = Field(
        default_factory=list, description="What must hold for a conditional approval (conditional only)."
    )
    approver: str = Field(min_length=2, description="The steward who signed the decision.")
    # `dt.date`: the field named `date` would shadow the type in the class body
    date: dt.date = Field(description="The day it was signed (YYYY-MM-DD).")
    expiry: dt.date | None = Field(default=None, description="Last day the decision holds (YYYY-MM-DD); absent: none.")

    @field_validator("reasons", "conditions")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not item.strip() or item.strip() == TODO for item in value):
            raise ValueError("an entry is blank or TODO: write it in words, or remove it")
        return value

    @field_validator("approver")
    @classmethod
    def _signed(cls, value: str) -> str:
        if value.strip() == TODO:
            raise ValueError("still TODO: the steward who signs the decision writes their name")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _dated(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() == TODO:
            raise ValueError("still TODO: write the day the decision is signed (YYYY-MM-DD)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DecisionRecord:
        if self.decision is Decision.CONDITIONAL and not self.conditions:
            raise ValueError("conditions: a conditional decision lists its conditions; or decide approve")
        if self.decision is not Decision.CONDITIONAL and self.conditions:
            raise ValueError(
                "conditions: only a conditional decision has conditions; decide conditional, or remove them"
            )
        if self.expiry is not None and self.expiry < self.date:
            raise ValueError(f"expiry: {self.expiry} is before the decision's date {self.date}")
        return self

    def in_force(self, as_of: dt.date) -> bool:
        """Whether the decision still holds at `as_of` (its expiry day included)."""
        return self.expiry is None or as_of <= self.expiry


def decision_path(root: Path, dataset: str, source: str) -> Path:
    """Where the decision record of one partner source lives in a workspace."""
    return root / DECISIONS_FOLDER / dataset / f"{source}.yaml"


def _relative(dataset: str, source: str) -> str:
    return (DECISIONS_FOLDER / dataset / f"{source}.yaml").as_posix()


def load_decision(root: Path, dataset: str, source: str) -> DecisionRecord | None:
    """The decision record of a partner source, or None if there is none yet."""
    path = decision_path(root, dataset, source)
    if not path.exists():
        return None
    return read_decision(path, dataset, source)


def check_decision_records(root: Path, spec: DatasetSpec) -> None:
    """Before a run: every record under `decisions/<dataset>/` is the record of one of the
    dataset's partner sources (a misnamed file would leave its source silently undecided), and
    every signed one can be read. Raises DecisionRecordError naming the file; drafts pass."""
    partners = [s.name for s in spec.sources if s.kind == "partner"]
    folder = decision_path(root, spec.name, "-").parent
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix in (".yaml", ".yml") and path.stem not in partners:
            named = ", ".join(partners) or "none"
            raise DecisionRecordError(
                f"{path}: names no partner source of {spec.name} (its partner sources: {named}); a record is "
                f"`decisions/{spec.name}/<source>.yaml`: rename it, or remove it"
            )
    for source in partners:
        signed_decision(root, spec.name, source)


def signed_decision(root: Path, dataset: str, source: str) -> DecisionRecord | None:
    """The source's record once signed; None while there is none, or only a draft awaiting its
    signature. Raises DecisionRecordError for a signed record that cannot be read."""
    return None if is_unsigned_draft(root, dataset, source) else load_decision(root, dataset, source)


def is_unsigned_draft(root: Path, dataset: str, source: str) -> bool:
    """Whether the source's record is a draft still waiting for its signature (approver or date
    left TODO, as `draft_record` writes them); False when there is none or it cannot be read."""
    try:
        document = yaml.safe_load(decision_path(root, dataset, source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    return isinstance(document, dict) and TODO in (str(document.get("approver")), str(document.get("date")))


def read_decision(path: Path, dataset: str, source: str) -> DecisionRecord:
    """Read and validate one decision record, which must be the record of `dataset`'s `source`."""
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except OSError as error:
        raise DecisionRecordError(f"{describe_os_error(error)}; check the file can be read") from None
    except UnicodeDecodeError:
        raise DecisionRecordError(f"{path}: not UTF-8 text; save the record as UTF-8") from None
    except ValueError as error:  # a date YAML reads but no calendar holds (2026-11-31)
        raise DecisionRecordError(f"{path}: {error}; write dates as real days, YYYY-MM-DD") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None)
        raise DecisionRecordError(f"{where}: not valid YAML{f' ({problem})' if problem else ''}; correct it") from None
    if not isinstance(document, dict):
        raise DecisionRecordError(
            f"{path}: expected a mapping of decision, reasons, approver, date (and conditions, expiry); "
            "draft one with `trainset assess-partner`"
        )
    lines = _key_lines(text)
    try:
        record = DecisionRecord.model_validate(document)
    except ValidationError as error:
        problems = []
        for problem in validation_problems(error.errors()):
            # the cross-key checks name their key themselves
            problem = problem.removeprefix("(the whole document): ")
            key = problem.split(":", 1)[0].split(".")[0].split("[")[0]
            line = f":{lines[key]}" if key in lines else ""
            if problem.endswith("Extra inputs are not permitted"):
                problem = f"{key}: not a key of a decision record (keys: {', '.join(DecisionRecord.model_fields)})"
            problems.append(f"{path}{line} {problem}")
        raise DecisionRecordError("; ".join(problems)) from None
    for key, expected in (("dataset", dataset), ("source", source)):
        if getattr(record, key) != expected:
            raise DecisionRecordError(
                f"{path}:{lines.get(key, '?')} {key}: the record says {getattr(record, key)!r} but the file is the "
                f"record of {expected!r}; a record is not copied from one source to another: draft this source's own"
            )
    return record


def _key_lines(text: str) -> dict[str, int]:
    """Line (from 1) of each top-level key, for messages."""
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def partner_usable(
    terms: PartnerTerms, record: DecisionRecord | None, as_of: date, *, dataset: str, source: str
) -> Verdict:
    """Whether a partner source's rows may be used at `as_of`: an approve (or conditional) record
    in force, and terms that allow training. The reasons say what decided it, record first."""
    training = allows_training(terms, as_of)
    problems: list[str] = []
    if record is None:
        problems.append(f"no decision record at {_relative(dataset, source)}: draft one with `trainset assess-partner`")
    elif record.decision is Decision.REJECT:
        problems.append(f"rejected by {record.approver} on {record.date}: {'; '.join(record.reasons)}")
    elif not record.in_force(as_of):
        problems.append(
            f"the {record.decision.value} decision of {record.date} expired on {record.expiry} (its last day in "
            f"force): a steward renews or replaces {_relative(dataset, source)}"
        )
    if not training.allowed:
        problems += [f"terms deny training: {reason}" for reason in training.reasons]
    if problems:
        return Verdict(allowed=False, reasons=problems)
    assert record is not None
    until = f", in force through {record.expiry}" if record.expiry else ""
    how = "approved on conditions" if record.decision is Decision.CONDITIONAL else "approved"
    signed = f"{how} by {record.approver} on {record.date}{until}"
    return Verdict(
        allowed=True,
        reasons=[
            signed,
            *(f"the record's reason: {reason}" for reason in record.reasons),
            *(f"the record's condition: {condition}" for condition in record.conditions),
            *(f"terms allow training: {reason}" for reason in training.reasons),
        ],
    )


def draft_record(
    dataset: str,
    source: str,
    verdict: Verdict,
    *,
    findings: Iterable[str] = (),
    conditions: Sequence[str] = (),
    expiry: date | None = None,
) -> str:
    """The YAML draft of a decision record a steward completes and signs: approve if `verdict`
    allows (conditional if `conditions` are given), else reject; the verdict's reasons and the
    assessment's `findings` as reasons; approver and date left as TODO."""
    decision = Decision.APPROVE
    if not verdict.allowed:
        decision = Decision.REJECT
    elif conditions:
        decision = Decision.CONDITIONAL
    body: dict[str, object] = {
        "dataset": dataset,
        "source": source,
        "decision": decision.value,
        "reasons": [*verdict.reasons, *findings],
    }
    if decision is Decision.CONDITIONAL:
        body["conditions"] = list(conditions)
    body |= {"approver": TODO, "date": TODO}
    if expiry is not None:
        body["expiry"] = expiry
    header = (
        f"# Decision record of partner source {source} of dataset {dataset} ({_relative(dataset, source)}).\n"
        "# Drafted from the assessment: read it, edit the decision and reasons if you decide otherwise,\n"
        "# then sign: approver (your name) and date (YYYY-MM-DD). Until both are written the draft is\n"
        "# refused and the source's rows are not used. decision: approve, reject, or conditional (with\n"
        "# conditions:). expiry: the last day the decision holds; after it the source is not used.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
