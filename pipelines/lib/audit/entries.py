"""Typed audit entries: one event (a run, a release, a pull ...), who, when, why, and the chain.

An entry holds counts, versions, reasons, hashes and the operator's identity (OS user, git
identity, host): never an id of a person whose data is processed, never a text of the data.
Its `hash` is the sha256 of its canonical JSON (every field but `hash`, keys sorted, no spaces),
and `prev` is the `hash` of the entry before it (64 zeros for the first).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: `prev` of the first entry of a log
GENESIS = "0" * 64


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """Who did it: the operator, never a data subject."""

    os_user: str = Field(description="The OS account that ran the command.")
    git_name: str | None = Field(default=None, description="`git config user.name` in the workspace, if set.")
    git_email: str | None = Field(default=None, description="`git config user.email` in the workspace, if set.")
    host: str = Field(description="The machine's host name.")

    def __str__(self) -> str:
        """`alice on build-01 (git: Alice Doe <alice@example.com>)`; never `user@host`, which reads as an address."""
        git = " ".join(part for part in (self.git_name, f"<{self.git_email}>" if self.git_email else None) if part)
        return f"{self.os_user} on {self.host}" + (f" (git: {git})" if git else "")


class EventBase(_Frozen):
    dataset: str | None = Field(default=None, description="The dataset concerned; None for a workspace-wide event.")
    version: int | None = Field(default=None, description="The version concerned, if one is.")


class RunEvent(EventBase):
    """A `trainset run` and what came of it."""

    type: Literal["run"] = "run"
    run_id: str = Field(description="Dagster run id.")
    outcome: Literal["released", "unchanged", "blocked", "failed"]
    partitions: str = Field(description="The days processed, in words.")
    blocked_by: list[str] = Field(default_factory=list, description="Names of the gates and checks that blocked it.")


class ReleaseEvent(EventBase):
    """A new version published (its folder, DVC, commit and tag)."""

    type: Literal["release"] = "release"
    run_id: str | None = None
    rows: int
    manifest_sha256: str = Field(description="sha256 of the version's manifest.json.")
    content_sha256: str
    spec_sha256: str
    waivers: int = Field(default=0, description="Failed gates let through by a steward's waiver.")
    allowances: int = Field(default=0, description="Residue allowances in force for the dataset.")
    erasure_requests: int = Field(default=0, description="Erasure requests on record that the version honours.")


class WithdrawalEvent(EventBase):
    """A released version withdrawn: its data files deleted, a tombstone left."""

    type: Literal["withdrawal"] = "withdrawal"
    replaced_by: int
    reason: str = Field(description="erasure, partner_deletion_request, or both.")
    requests: int = Field(description="Requests (erasure requests, delete lists) the version held rows of.")
    requests_sha256: str = Field(description="sha256 of those requests' references, sorted: never the references.")


class PullEvent(EventBase):
    """A version fetched and verified through `trainset pull`, or loaded by `pipelines.load`."""

    type: Literal["pull"] = "pull"
    files: int = Field(description="Files verified against the manifest.")
    via: Literal["trainset pull", "pipelines.load"] = Field(default="trainset pull", description="How it was pulled.")


class WaiverEvent(EventBase):
    """A steward's waiver applied to a release: a failed gate let through."""

    type: Literal["waiver"] = "waiver"
    gate: str
    approver: str
    expires: date


class AllowanceEvent(EventBase):
    """A steward's residue allowance in force at a release: one reviewed finding that is not PII."""

    type: Literal["residue_allowance"] = "residue_allowance"
    finding_sha256: str = Field(description="sha256 of the finding it allows (row, column, offset, kind).")
    column: str
    kind: str
    approver: str
    expires: date


class ErasureEvent(EventBase):
    """An erasure request recorded (`trainset forget USER`)."""

    type: Literal["erasure_request"] = "erasure_request"
    request_sha256: str = Field(description="sha256 of the request id in privacy/erasure_log.jsonl.")
    datasets: list[str]
    rows_deleted: dict[str, int] = Field(default_factory=dict, description="Stored rows deleted at once, per dataset.")


class RetentionEvent(EventBase):
    """Stored data deleted by retention (`privacy/retention_log.jsonl` has the zones and days)."""

    type: Literal["retention_deletion"] = "retention_deletion"
    files_deleted: int
    sensitive_rows_deleted: int
    oldest_day_kept: date


class PartnerDeletionEvent(EventBase):
    """A partner's delete list applied to storage (`privacy/partner_deletions_log.jsonl`)."""

    type: Literal["partner_deletion"] = "partner_deletion"
    source: str
    list_sha256: str
    ids: int = Field(description="Ids the list names (never the ids).")
    rows_deleted: dict[str, int] = Field(default_factory=dict, description="Rows deleted per zone.")


Event = Annotated[
    RunEvent
    | ReleaseEvent
    | WithdrawalEvent
    | PullEvent
    | WaiverEvent
    | AllowanceEvent
    | ErasureEvent
    | RetentionEvent
    | PartnerDeletionEvent,
    Field(discriminator="type"),
]


class AuditEntry(_Frozen):
    """One line of `audit/log.jsonl`."""

    seq: int = Field(ge=1, description="Position in the log, from 1.")
    at: datetime = Field(description="When (UTC, to the second).")
    event: Event
    who: Actor
    why: str | None = Field(default=None, description="The reason given, if any.")
    prev: str = Field(description="`hash` of the entry before (64 zeros for the first).")
    hash: str = Field(description="sha256 of this entry's canonical JSON without `hash`.")

    def line(self) -> str:
        """The entry as written: one JSON line, keys sorted."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    def summary(self) -> str:
        """One line for `trainset audit show`: what, on what, with its counts (no `who`/`at`)."""
        event = self.event
        fields = event.model_dump(mode="json", exclude={"type", "dataset", "version"})
        what = f"{event.dataset}@v{event.version}" if event.version else (event.dataset or "workspace")
        detail = " ".join(f"{k}={_short(v)}" for k, v in fields.items() if v not in (None, [], {}))
        return f"{event.type} {what} {detail}".rstrip()


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a hash: its prefix identifies it on screen
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: its fields but `hash`, keys sorted, no spaces."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: dict[str, Any]) -> str:
    """sha256 (hex) of an entry's canonical JSON, as parsed from its line."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def new_entry(seq: int, at: datetime, event: EventBase, who: Actor, why: str | None, prev: str) -> AuditEntry:
    """An entry chained to `prev`, its hash computed."""
    fields = {
        "seq": seq,
        "at": at,
        "event": event.model_dump(mode="json"),
        "who": who.model_dump(mode="json"),
        "why": why,
        "prev": prev,
    }
    draft = AuditEntry.model_validate(fields | {"hash": ""})
    digest = entry_hash({k: v for k, v in draft.model_dump(mode="json").items()})
    return draft.model_copy(update={"hash": digest})


def text_sha256(text: str) -> str:
    """sha256 (hex) of a reference (a request id, a finding): the log names it without holding it."""
    return hashlib.sha256(text.encode()).hexdigest()
