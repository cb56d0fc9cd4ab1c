"""A steward's signed, dated decisions: `waivers.yaml` at the workspace root (committed and
reviewed like code).

Two sections. `waivers:` lets one failed gate of one dataset through until its expiry day
(inclusive). `residue_allow:` allows one PII-residue finding (dataset, row id, column, offset,
kind) that a steward reviewed and found not to be PII; residue as a whole can never be waived.
An expired entry no longer applies and is reported. Nothing in the file is ignored silently:
an unknown section or field, a gate that does not exist or cannot be waived, is an error that
names the line.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from pipelines.lib.privacy.residue_rules import ResidueKind

WAIVERS_FILE = "waivers.yaml"
#: checks that are not gates: privacy and completeness guards, never waived
UNWAIVABLE = {
    "pii_residue",
    "pii_residue_in_files",
    "row_accounting",
    "raw_contract",
    "redacted_contract",
    "eligible_contract",
    "labeled_contract",
    "training_set_contract",
    "expectation_suite",
}


class WaiverError(ValueError):
    """waivers.yaml is invalid; the message names the line, the entry and the field."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="Dataset name.")
    reason: str = Field(min_length=10, description="Why, and for a gate the plan to close the gap.")
    approver: str = Field(min_length=2, description="Who approved it (a steward of the dataset).")
    expires: date = Field(description="Last day the entry applies (YYYY-MM-DD).")
    _where: str = PrivateAttr(default=WAIVERS_FILE)

    @property
    def where(self) -> str:
        """`waivers.yaml:14 residue_allow[0]`: where to find the entry."""
        return self._where

    def active(self, today: date) -> bool:
        return today <= self.expires

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")


class Waiver(_Entry):
    """One gate of one dataset, released despite failing, by whom, why and until when."""

    gate: str = Field(description="Gate (check) name, e.g. min_examples_per_class.")

    @field_validator("gate")
    @classmethod
    def _waivable(cls, value: str) -> str:
        if value in UNWAIVABLE:
            advice = " (allow reviewed findings one by one under residue_allow:)" if "residue" in value else ""
            raise ValueError(f"{value} cannot be waived: it is a check, not a gate{advice}")
        return value


class ResidueAllowance(_Entry):
    """One reviewed PII-residue finding that is not PII (a forum post id, a part number)."""

    row_id: str = Field(description="Value of the dataset's id column in the row (as `trainset gates` lists it).")
    column: str = Field(description="Text column of the finding.")
    offset: int = Field(ge=0, description="Character offset of the finding, as listed.")
    kind: ResidueKind = Field(description="Kind of the finding, as listed (digit_run, email, iban, ...).")

    @field_validator("row_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value  # an unquoted numeric id in YAML

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        """The finding it allows (`ResidueFinding.key`)."""
        return (self.dataset, self.row_id, self.column, self.offset, self.kind)

    def names(self) -> str:
        return f"row {self.row_id} {self.column} offset {self.offset} ({self.kind})"


class _WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver] = Field(default_factory=list)
    residue_allow: list[ResidueAllowance] = Field(default_factory=list)


def load_waivers(root: Path, dataset: str, gates: Collection[str] | None = None) -> list[Waiver]:
    """The waivers of one dataset, expired ones included (they are reported, not applied).

    With `gates` (the dataset's declared gates), a waiver naming another gate is an error."""
    path, document = _load(root)
    waivers = [w for w in document.waivers if w.dataset == dataset]
    for waiver in waivers:
        if gates is not None and waiver.gate not in gates:
            raise WaiverError(
                f"{path.parent / waiver.where}: gate {waiver.gate!r} is not a gate of {dataset} (its gates: "
                f"{', '.join(sorted(gates))}); correct the name, or remove the entry"
            )
    return waivers


def load_allowances(root: Path, dataset: str) -> list[ResidueAllowance]:
    """The residue allowances of one dataset, expired ones included."""
    _, document = _load(root)
    return [a for a in document.residue_allow if a.dataset == dataset]


def _load(root: Path) -> tuple[Path, _WaiversFile]:
    path = root / WAIVERS_FILE
    if not path.is_file():
        return path, _WaiversFile()
    text = path.read_text()
    raw = yaml.safe_load(text) or {}
    lines = _entry_lines(text)
    try:
        document = _WaiversFile.model_validate(raw)
    except ValidationError as error:
        problems = []
        for e in error.errors():
            loc = list(e["loc"])
            section = str(loc[0]) if loc else "file"
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            field = loc[2:] if index is not None else loc[1:]
            line = lines.get((section, index)) if index is not None else None
            place = f"{path}:{line} {section}[{index}]" if index is not None else f"{path}: {section}"
            name = ".".join(str(p) for p in field) or "entry"
            hint = " (sections: waivers, residue_allow)" if e["type"] == "extra_forbidden" and index is None else ""
            problems.append(f"{place}: {name}: {e['msg']}{hint}")
        raise WaiverError("; ".join(problems)) from None
    for section in ("waivers", "residue_allow"):
        for index, entry in enumerate(getattr(document, section)):
            entry._where = f"{WAIVERS_FILE}:{lines.get((section, index), '?')} {section}[{index}]"
    return path, document


def _entry_lines(text: str) -> dict[tuple[str, int], int]:
    """Line (from 1) where each entry of each section starts, for messages."""
    node = yaml.compose(text)
    lines: dict[tuple[str, int], int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key, value in node.value:
        if isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                lines[(str(key.value), index)] = item.start_mark.line + 1
    return lines


def waiver_for(waivers: list[Waiver], gate: str, today: date) -> tuple[Waiver | None, Waiver | None]:
    """(active waiver, expired waiver) for a gate; the active one wins."""
    matching = [w for w in waivers if w.gate == gate]
    active = max((w for w in matching if w.active(today)), key=lambda w: w.expires, default=None)
    expired = max((w for w in matching if not w.active(today)), key=lambda w: w.expires, default=None)
    return active, expired
