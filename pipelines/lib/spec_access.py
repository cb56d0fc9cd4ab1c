"""Who may see a dataset and its sources, how sensitive they are, and whom to call when something
goes wrong: the access, classification and escalation blocks of a spec (`defs.yaml`), declared on
the dataset and on each source, shown in the dataset card and drafted by `trainset init`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: how sensitive the data is; `confidential` and `restricted` close the later zones to other users
Classification = Literal["public", "internal", "confidential", "restricted"]
#: a group name as `getent group` knows it, or a `TODO-...` placeholder
GROUP_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class StrictModel(BaseModel):
    """Unknown keys are errors (as in every spec block)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessSpec(StrictModel):
    """Who may read what: named groups (directory or Unix groups), never individual people."""

    raw: list[str] = Field(
        default_factory=list,
        description="Groups who may read the zones holding personal data as written (landing copies, raw, "
        "quarantine); on disk those zones are owner-only (the pipeline's account, and `privacy.group` as "
        "their group): this names who may be granted that account's access. Empty: no one.",
    )
    releases: list[str] = Field(
        default_factory=list,
        description="Groups who may pull released versions (`trainset pull`, `dvc get`). Empty: the dataset's "
        "owner only.",
    )

    @field_validator("raw", "releases")
    @classmethod
    def _group_names(cls, groups: list[str]) -> list[str]:
        import re

        bad = [name for name in groups if not re.fullmatch(GROUP_NAME, name)]
        if bad:
            raise ValueError(f"{bad}: a group name is letters, digits, `_`, `.` or `-` (e.g. support-ml)")
        return groups


class EscalationSpec(StrictModel):
    """Whom to contact when something goes wrong: a team, a channel or an address each."""

    gate_failure: str = Field(
        min_length=1, description="Who is told when a gate or check blocks a release (e.g. a steward's channel)."
    )
    pii_found: str = Field(
        min_length=1,
        description="Who is told when personal data is found where it must not be (a `pii_residue` finding, "
        "a leak in a release): usually the privacy officer.",
    )
    deletion_request: str = Field(
        min_length=1,
        description="Who handles a request to delete data: a person's erasure request, or a partner's delete list.",
    )

    def placeholders(self, prefix: str) -> list[str]:
        """Contacts still holding a `TODO` placeholder, dotted under `prefix`."""
        return [
            f"{prefix}.{key}" for key, value in self.model_dump().items() if value.strip().upper().startswith("TODO")
        ]


def access_placeholders(access: AccessSpec, prefix: str) -> list[str]:
    """Groups still holding a `TODO` placeholder, dotted under `prefix`."""
    return [
        f"{prefix}.{key}"
        for key, groups in (("raw", access.raw), ("releases", access.releases))
        if any(name.upper().startswith("TODO") for name in groups)
    ]
