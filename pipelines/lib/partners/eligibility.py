"""Which partner rows a build may use: the `eligible` step's partner rule.

A partner source's rows are used only under a signed decision in force (approve or conditional)
whose source's terms allow training (`decisions.partner_usable`). Otherwise every row of the
source is removed, counted under one reason code, and the reasons in words go to the report, the
manifest and the card:

- `partner_undecided`: no decision record at `decisions/<dataset>/<source>.yaml`, or a draft not
  signed yet;
- `partner_rejected`: the record rejects the source;
- `partner_decision_expired`: the record's expiry has passed;
- `partner_terms_deny_training`: the terms deny or leave unknown training or commercial use,
  deny derivatives, or the agreement has ended.

Under a usable decision, rows older than the terms' retention are removed as
`partner_retention_expired` (counted from each row's timestamp).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.lib.accounting import Accounting
from pipelines.lib.durations import cutoff
from pipelines.lib.hashing import file_sha256
from pipelines.lib.partners.decisions import (
    Decision,
    DecisionRecord,
    decision_path,
    is_unsigned_draft,
    partner_usable,
    signed_decision,
)
from pipelines.lib.partners.terms import allows_training
from pipelines.lib.reports import Manifest, PartnerUse
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec, SourceSpec

#: reason codes of partner rows removed in `eligible`, in the order they are decided
REASONS = (
    "partner_undecided",
    "partner_rejected",
    "partner_decision_expired",
    "partner_terms_deny_training",
    "partner_retention_expired",
)


def apply_partner_terms(
    frame: pd.DataFrame, spec: DatasetSpec, root: Path, as_of: date, accounting: Accounting
) -> tuple[pd.DataFrame, list[PartnerUse]]:
    """Remove the rows of every partner source that may not be used at `as_of`, and those past
    its retention; returns the rows kept and one `PartnerUse` per partner source, in source order.
    `frame` holds `SOURCE_COLUMN`. Raises DecisionRecordError for a record that cannot be read."""
    uses = []
    for source in (s for s in spec.sources if s.kind == "partner"):
        assert source.terms is not None  # the spec requires terms of a partner source
        # A draft waiting for its signature decides nothing yet: the source is undecided, and the
        # rest of the dataset builds as before.
        draft = is_unsigned_draft(root, spec.name, source.name)
        record = signed_decision(root, spec.name, source.name)
        verdict = partner_usable(source.terms, record, as_of, dataset=spec.name, source=source.name)
        if draft:
            where = decision_path(root, spec.name, source.name).relative_to(root)
            waiting = f"the draft at {where} is not signed yet: a steward reviews it and writes approver and date"
            verdict = verdict.model_copy(update={"reasons": [waiting, *verdict.reasons[1:]]})
        mine = frame[SOURCE_COLUMN] == source.name
        rows_in = int(mine.sum())
        removed: dict[str, int] = {}
        if not verdict.allowed:
            reason = _refusal(source, record, as_of)
            frame = accounting.remove(frame, mine, reason)
            removed[reason] = rows_in
        elif source.terms.retention and spec.columns.timestamp:
            old = mine & (frame[spec.columns.timestamp] < pd.Timestamp(cutoff(as_of, source.terms.retention)))
            removed["partner_retention_expired"] = int(old.sum())
            frame = accounting.remove(frame, old, "partner_retention_expired")
        path = decision_path(root, spec.name, source.name)
        uses.append(
            PartnerUse(
                source=source.name,
                used=verdict.allowed,
                reasons=verdict.reasons,
                decision=record.decision.value if record else None,
                approver=record.approver if record else None,
                signed=record.date if record else None,
                expiry=record.expiry if record else None,
                conditions=list(record.conditions) if record else [],
                record=str(path.relative_to(root)),
                record_sha256=file_sha256(path) if record else None,
                rows_in=rows_in,
                removed={k: v for k, v in removed.items() if v},
            )
        )
    return frame, uses


def _refusal(source: SourceSpec, record: DecisionRecord | None, as_of: date) -> str:
    """The reason code of a source whose rows may not be used: the record first, then the terms."""
    if record is None:
        return "partner_undecided"
    if record.decision is Decision.REJECT:
        return "partner_rejected"
    if not record.in_force(as_of):
        return "partner_decision_expired"
    assert source.terms is not None and not allows_training(source.terms, as_of).allowed
    return "partner_terms_deny_training"


def lapsed_partners(manifest: Manifest, root: Path, today: date, spec: DatasetSpec | None = None) -> list[str]:
    """The partner sources whose rows a released version holds but may no longer be used for
    training as of `today`, each as `source: why` (the first reason of `decisions.partner_usable`,
    judged on the decision record in the workspace now and the terms declared now, else those the
    version was released under). A version released under a decision since expired, rejected or
    withdrawn from the workspace, or under terms since changed to deny training, is listed."""
    declared = {s.name: s.terms for s in spec.sources} if spec is not None else {}
    found = []
    for summary in manifest.inputs:
        if summary.terms is None or not summary.released:
            continue
        terms = declared.get(summary.source) or summary.terms
        record = signed_decision(root, manifest.dataset, summary.source)
        verdict = partner_usable(terms, record, today, dataset=manifest.dataset, source=summary.source)
        if not verdict.allowed:
            found.append(f"{summary.source}: {verdict.reasons[0]}")
    return found
