"""Sections 1 and 2 of a partner assessment: how the export fits the dataset's schema, and which PII
each of its columns holds, with the compliance findings (seed: "no sensitive data without explicit
consent; right to delete upon request").

Counts only: the redaction engine tells how many values of each type a column holds; no value,
and no name that looks like one, is returned.
"""

from __future__ import annotations

import re

import pyarrow as pa

from pipelines.lib.ingest.sources import COLUMN_NAME
from pipelines.lib.partners.assessment_model import (
    ColumnPii,
    Finding,
    Level,
    PiiInventory,
    RoleFit,
    SchemaFit,
    Treatment,
)
from pipelines.lib.partners.sample import PartnerSample
from pipelines.lib.partners.terms import Obligation
from pipelines.lib.privacy.redaction import PII_TYPES, redact
from pipelines.lib.spec import DERIVED_ID, DatasetSpec

#: what a role's absence keeps from applying (the dataset declares the role: ingestion also
#: refuses an export without its column until the partner adds it or `rename` maps it)
PREVENTS = {
    "id": "no record id: a later delivery cannot update a record, duplicates cannot be told apart, and the "
    "partner's delete lists cannot name records",
    "user": "no user column: no consent or erasure by user, nothing to pseudonymise",
    "timestamp": "no timestamp: no freshness window, and retention counts from the day a delivery lands",
    "language": "no claimed language: coverage counts the detected one only",
    "segment": "no {column}: its coverage and required values cannot count the partner's rows",
    "text": "no text: nothing for a model to learn from",
    "label": "no label: every row waits for labeling (or is quarantined without a `labeling:` block)",
}
#: how a name that looks like a value is shown
NOT_SHOWN = "<not shown>"
#: roles without which nothing of the export can be used
ESSENTIAL = ("text", "label")


def roles(spec: DatasetSpec) -> list[tuple[str, str]]:
    """(role, column) of every column the dataset keeps, in its output order."""
    c = spec.columns
    found = [("id", c.id), ("user", c.user), ("timestamp", c.timestamp), ("language", c.language)]
    found += [("segment", s) for s in c.segments] + [("text", t) for t in c.text]
    return [(role, column) for role, column in found if column is not None] + [("label", spec.labels.column)]


def schema_fit(sample: PartnerSample, spec: DatasetSpec) -> tuple[SchemaFit, list[Finding]]:
    """The dataset's roles found in the export (after `rename`), what each missing one prevents,
    the columns minimisation would drop, malformed records and quarantine reasons by count."""
    fits, findings = [], []
    for role, column in roles(spec):
        found = column not in sample.missing_columns
        prevents = "" if found else PREVENTS[role].format(column=column)
        fits.append(
            RoleFit(role=role, column=column, export_column=sample.export_name(column), found=found, prevents=prevents)
        )
        if not found:
            level: Level = "blocking" if role in ESSENTIAL else "condition"
            findings.append(
                Finding(
                    section="schema",
                    level=level,
                    text=f"the export has no {role} column {column!r} (nor a `rename` to it): ingestion refuses "
                    f"its deliveries until it has; {prevents}",
                )
            )
    kept = {*spec.kept_columns, DERIVED_ID}
    dropped = [name for name in sample.export_columns if sample.source.rename.get(name, name) not in kept]
    shown = [name for name in dropped if shows_names(sample) and looks_like_a_name(name)]
    quarantined = {str(k): int(n) for k, n in sample.reasons.dropna().value_counts().items()}
    malformed = {str(k): int(n) for k, n in sample.malformed["reason"].value_counts().items()}
    usable = int(sample.reasons.isna().sum())
    for reason, n in {**malformed, **quarantined}.items():
        findings.append(
            Finding(
                section="schema", level="note", text=f"{n} of {sample.records} records would be set aside: {reason}"
            )
        )
    missing = [f.column for f in fits if not f.found]
    verdict = (
        f"{len(fits) - len(missing)} of {len(fits)} roles found"
        + (f" (missing: {', '.join(missing)})" if missing else "")
        + f"; {len(dropped)} column(s) minimisation drops; {usable} of {sample.records} records usable"
        + (f" ({sample.records - usable} malformed or quarantined)" if usable < sample.records else "")
    )
    section = SchemaFit(
        verdict=verdict,
        file_records=sample.file_records,
        records=sample.records,
        blank=sample.blank,
        roles=fits,
        dropped_columns=shown,
        dropped_not_shown=len(dropped) - len(shown),
        malformed=malformed,
        quarantined=quarantined,
        usable=usable,
    )
    return section, findings


def shows_names(sample: PartnerSample) -> bool:
    """Whether the export's own column names may be shown: only when its header line names at
    least one column the dataset keeps. Without one, the first line is likely a record (an export
    without its header), and its values (an e-mail, a customer number, a class) read as names."""
    return len(sample.missing_columns) < sample.expected_columns


def looks_like_a_name(name: str) -> bool:
    """Whether a column or class name may be shown: shaped like a name, not like a record's value
    (a file without its header has a record where the names should be). Three digits in a row
    read more often as an id or a phone number than as a name."""
    return bool(COLUMN_NAME.fullmatch(name.replace(" ", "_"))) and not re.search(r"\d{3}", name)


def pii_inventory(sample: PartnerSample, spec: DatasetSpec) -> tuple[PiiInventory, list[Finding]]:
    """Values of every PII type the engine knows, per column of the export (kept or not), counted
    by the dataset's redaction engine with its phone regions; and the compliance findings."""
    columns, findings = [], []
    for name in sample.raw.columns:
        values = sample.raw[name].fillna("").astype("str")
        counts = redact(pa.array(values, type=pa.large_string()), PII_TYPES, regions=spec.phone_regions).counts
        found = {kind: int(n.sum()) for kind, n in counts.items() if n.sum()}
        rows = {kind: int((n > 0).sum()) for kind, n in counts.items() if n.sum()}
        treatment = _treatment(str(name), spec)
        # A column the dataset keeps is named by the spec; any other is named by the export, and
        # an export without its header line has a record where the names should be.
        named = treatment != "dropped" or (shows_names(sample) and looks_like_a_name(str(name)))
        shown = str(name) if named else NOT_SHOWN
        export = sample.export_name(str(name)) if treatment != "dropped" else shown
        column = ColumnPii(column=shown, export_column=export, treatment=treatment, values=found, rows=rows)
        columns.append(column)
        findings += _column_findings(column, spec)
    sensitive = spec.privacy.retention.sensitive
    categories = list(sensitive.categories) if sensitive else []
    label = sample.rows[spec.labels.column]
    in_sensitive = int(label.isin(categories).sum()) if categories else 0
    basis = sample.source.legal_basis
    if in_sensitive and basis.strip().lower() != "consent":
        findings.append(
            Finding(
                # A condition, not a refusal: `privacy.retention.sensitive` names the classes kept
                # shorter, which need not be special-category data; the steward confirms the basis.
                section="pii",
                level="condition",
                text=f"{in_sensitive} of {len(label)} rows are in the dataset's sensitive categories "
                f"({', '.join(categories)}, privacy.retention.sensitive) and the source's legal_basis is {basis!r}, "
                "not consent: the partner confirms each person's explicit consent for them, or those classes are "
                "mapped to null in label_map (seed: no sensitive data without explicit consent)",
            )
        )
    terms = sample.source.terms
    deletion = terms.deletion_on_request if terms else Obligation.UNKNOWN
    if deletion is not Obligation.REQUIRED:
        findings.append(
            Finding(
                section="pii",
                level="condition",
                text=f"terms.deletion_on_request is {deletion.value}: the agreement must require the partner to pass "
                "on deletion requests (the right to delete upon request) and trainset to honour them",
            )
        )
    flagged = [c for c in columns if c.values and c.treatment != "dropped"]
    verdict = (
        f"PII in {sum(1 for c in columns if c.values)} of {len(columns)} columns "
        f"({sum(sum(c.values.values()) for c in columns)} values); "
        + (
            f"{len([c for c in flagged if c.treatment == 'kept as written'])} kept column(s) hold PII unredacted; "
            if any(c.treatment == "kept as written" for c in flagged)
            else "no kept column holds PII unredacted; "
        )
        + (f"{in_sensitive} rows in sensitive categories; " if categories else "")
        + f"deletion on request {deletion.value}"
    )
    section = PiiInventory(
        verdict=verdict,
        searched=list(PII_TYPES),
        redacted_types=list(spec.privacy.redact),
        columns=columns,
        sensitive_categories=categories,
        sensitive_rows=in_sensitive,
        legal_basis=basis,
        deletion_on_request=deletion.value,
    )
    return section, findings


def _treatment(column: str, spec: DatasetSpec) -> Treatment:
    if column in spec.columns.text:
        return "redacted"
    if column in spec.pseudonymized_columns:
        return "pseudonymised"
    return "kept as written" if column in spec.kept_columns else "dropped"


def _column_findings(column: ColumnPii, spec: DatasetSpec) -> list[Finding]:
    """What a column's PII asks of the steward. PII the dataset redacts, pseudonymises or drops is
    handled by the pipeline: shown in the inventory, not a finding."""
    found = ", ".join(f"{n} {kind}" for kind, n in column.values.items())
    where = f"column {column.column!r}" + (
        f" (the export's {column.export_column!r})" if column.export_column != column.column else ""
    )
    if column.values and column.treatment == "kept as written":
        return [
            Finding(
                section="pii",
                level="condition",
                text=f"{where} is kept as written and holds PII ({found}): it would be stored past redaction; the "
                "partner clears it before delivery, or the column is not mapped to a role",
            )
        ]
    unredacted = [kind for kind in column.values if kind not in spec.privacy.redact]
    if column.treatment == "redacted" and unredacted:
        return [
            Finding(
                section="pii",
                level="condition",
                text=f"{where} holds {', '.join(unredacted)}, which privacy.redact does not replace: add "
                f"{', '.join(unredacted)} to privacy.redact",
            )
        ]
    return []
