"""Waivers: a steward's signed, dated decision to release despite a failed gate.

Declared in `waivers.yaml` at the workspace root (committed and reviewed like code). A waiver
applies to one gate of one dataset until its expiry day (inclusive); an expired waiver no longer
applies and is reported as expired. The PII-residue checks can never be waived.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

WAIVERS_FILE = "waivers.yaml"
UNWAIVABLE = {"pii_residue", "pii_residue_in_files"}


class WaiverError(ValueError):
    """waivers.yaml is invalid; the message names the entry and the field."""


class Waiver(BaseModel):
    """One gate of one dataset, released despite failing, by whom, why and until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="Dataset name.")
    gate: str = Field(description="Gate (check) name, e.g. min_examples_per_class.")
    reason: str = Field(min_length=10, description="Why the release may go ahead, and the plan to close the gap.")
    approver: str = Field(min_length=2, description="Who approved it (a steward of the dataset).")
    expires: date = Field(description="Last day the waiver applies (YYYY-MM-DD).")

    @field_validator("gate")
    @classmethod
    def _waivable(cls, value: str) -> str:
        if value in UNWAIVABLE:
            raise ValueError(f"{value} cannot be waived: PII must never be released")
        return value

    def active(self, today: date) -> bool:
        return today <= self.expires

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")


def load_waivers(root: Path, dataset: str) -> list[Waiver]:
    """The waivers of one dataset, expired ones included (they are reported, not applied)."""
    path = root / WAIVERS_FILE
    if not path.is_file():
        return []
    document = yaml.safe_load(path.read_text()) or {}
    waivers = []
    for index, entry in enumerate(document.get("waivers") or []):
        try:
            waiver = Waiver.model_validate(entry)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in error.errors())
            raise WaiverError(f"{path}: waivers[{index}]: {problems}") from None
        if waiver.dataset == dataset:
            waivers.append(waiver)
    return waivers


def waiver_for(waivers: list[Waiver], gate: str, today: date) -> tuple[Waiver | None, Waiver | None]:
    """(active waiver, expired waiver) for a gate; the active one wins."""
    matching = [w for w in waivers if w.gate == gate]
    active = max((w for w in matching if w.active(today)), key=lambda w: w.expires, default=None)
    expired = max((w for w in matching if not w.active(today)), key=lambda w: w.expires, default=None)
    return active, expired
