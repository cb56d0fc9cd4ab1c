"""The due-diligence assessment of a partner's sample, as data: one model per section, and the
whole written as `assessment.json` (the markdown page is rendered from the same object).

Every figure is a count, a share (0..1) or an amount; no field holds a value of the sample's rows.
Names shown are column names, the dataset's own classes and segment values, and the partner's
class names only where they are shaped like a class name and hold no PII.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.partners.decisions import Decision
from pipelines.lib.partners.terms import Verdict

#: how much a finding weighs in the drafted decision: `blocking` drafts a rejection, `condition`
#: a conditional approval listing it, `note` is reported only
Level = Literal["blocking", "condition", "note"]
#: what the dataset does with a column of the export
Treatment = Literal["redacted", "pseudonymised", "kept as written", "dropped"]
#: how a partner class becomes one of ours
Mapping = Literal["ours", "mapped", "no counterpart", "unknown"]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: str = Field(description="The section's result in one line.")


class Finding(BaseModel):
    """One thing the steward must weigh, from one section."""

    model_config = ConfigDict(frozen=True)

    section: str
    level: Level
    text: str


class RoleFit(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: str = Field(description="id, user, timestamp, language, segment, text or label.")
    column: str = Field(description="The dataset's column of the role.")
    export_column: str = Field(description="The export's name of it (the source's `rename`), or the same name.")
    found: bool
    prevents: str = Field(default="", description="What the role's absence keeps from applying; empty when found.")


class SchemaFit(Section):
    """Section 1: the dataset's roles in the export, the columns minimisation drops, unusable records."""

    file_records: int = Field(description="Records in the whole file (parsed, malformed and blank).")
    records: int = Field(description="Records in the sample: parsed and malformed.")
    blank: int = Field(description="All-empty records of the file (padding): not records.")
    roles: list[RoleFit]
    dropped_columns: list[str] = Field(description="Export columns no role keeps: minimisation drops them.")
    dropped_not_shown: int = Field(description="Dropped columns whose name looks like a value: counted, not named.")
    malformed: dict[str, int] = Field(description="Records that could not be parsed, by reason.")
    quarantined: dict[str, int] = Field(description="Parsed rows ingestion would quarantine, by reason.")
    usable: int = Field(description="Parsed rows ingestion would keep.")


class ColumnPii(BaseModel):
    model_config = ConfigDict(frozen=True)

    column: str = Field(description="The dataset's name of the column (after `rename`).")
    export_column: str
    treatment: Treatment
    values: dict[str, int] = Field(description="PII type -> values the redaction engine finds.")
    rows: dict[str, int] = Field(description="PII type -> rows holding at least one.")


class PiiInventory(Section):
    """Section 2: PII per column as the redaction engine finds it, and compliance."""

    searched: list[str] = Field(description="PII types searched for: every type the engine knows.")
    redacted_types: list[str] = Field(description="The types the dataset's `privacy.redact` replaces.")
    columns: list[ColumnPii]
    sensitive_categories: list[str] = Field(description="`privacy.retention.sensitive.categories`; [] if none.")
    sensitive_rows: int = Field(description="Sample rows whose (mapped) label is a sensitive category.")
    legal_basis: str
    deletion_on_request: str = Field(description="The terms' deletion_on_request: required, not_required, unknown.")


class ClassFit(BaseModel):
    model_config = ConfigDict(frozen=True)

    theirs: str = Field(description="The partner's class as written, or `<not shown>` (shaped like a value).")
    rows: int
    ours: str | None = Field(description="The dataset's class it becomes; None: none.")
    how: Mapping = Field(
        description="ours: already one of the classes; mapped: by label_map; no counterpart: label_map maps it to "
        "null (quarantined as unmapped_label); unknown: neither (quarantined as unknown_label)."
    )


class LabelFit(Section):
    """Section 3: the partner's classes against ours."""

    labelled: int = Field(description="Parsed rows with a label.")
    blank: int = Field(description="Parsed rows without one.")
    classes: list[ClassFit]
    mapped_rows: int = Field(description="Labelled rows whose class is, or maps to, one of ours.")
    unmapped_rows: int
    unmapped_share: float = Field(description="unmapped_rows / labelled, 0..1.")
    ours: dict[str, int] = Field(description="Our class -> sample rows that carry it once mapped.")
    never_seen: list[str] = Field(description="Our classes no sample row carries.")


class Confusion(BaseModel):
    model_config = ConfigDict(frozen=True)

    partner: str = Field(description="The partner's label, mapped to our class.")
    ours: str
    items: int


class LabelQuality(Section):
    """Section 4: the partner's labels against ours on the items both label."""

    references: dict[str, int] = Field(
        description="Where our labels come from -> items (texts or ids) holding one: relabelled, gold, "
        "adjudicated, eligible."
    )
    matched: dict[str, int] = Field(description="Sample rows given our label, by the reference that gave it.")
    items: int = Field(description="Rows compared: our label and a partner label that maps to one of our classes.")
    minimum: int = Field(description="Fewest items agreement is judged on.")
    judged: bool
    raw_agreement: float | None = Field(description="Share of items whose labels are equal, 0..1.")
    kappa: float | None = Field(description="Cohen's kappa, -1..1; None when undefined or not judged.")
    kappa_low: float | None = Field(description="Lower end of kappa's 95% interval (large-sample standard error).")
    kappa_high: float | None
    per_class: dict[str, float] = Field(description="Class -> one-vs-rest kappa, where defined.")
    confusions: list[Confusion] = Field(description="The most frequent disagreements.")
    bar: float | None = Field(
        description="The dataset's agreement bar (min_label_agreement, else labeling.min_agreement)."
    )


class Overlap(Section):
    """Section 5: sample rows already in our data, and repeats within the sample."""

    rows: int = Field(description="Parsed sample rows compared.")
    compared_with: list[str] = Field(description="Our zones read: the redacted zone, eligible.")
    our_texts: int = Field(description="Distinct normalised texts in our data.")
    in_our_data: int
    in_our_data_share: float
    near_in_our_data: int = Field(description="Also equal once numbers and punctuation are folded.")
    repeated: int = Field(description="Rows repeating an earlier row's normalised text.")
    repeated_share: float
    near_repeated: int
    ids_of_other_sources: int = Field(
        default=0,
        description="Sample rows whose record id (with the source's id_prefix) another source already holds: "
        "ingestion would quarantine them as id_of_another_source.",
    )


class Freshness(Section):
    """Section 6: how recent the sample is, as of the assessment's day."""

    column: str | None = Field(description="The dataset's timestamp column; None when it declares none.")
    rows: int
    first: datetime | None
    last: datetime | None
    window: str | None
    since: datetime | None = Field(description="Start of the freshness window as of `as_of` (UTC).")
    inside: int
    inside_share: float = Field(description="Rows inside the window / rows, 0..1.")
    unparseable: int = Field(description="Rows with a blank or unparseable timestamp.")
    unparseable_share: float
    future: int = Field(description="Rows dated after the as-of day.")


class SegmentGap(BaseModel):
    model_config = ConfigDict(frozen=True)

    shortfall: str = Field(description="The gate's shortfall before: `Account: 40 < 100`.")
    column: str | None
    segment: str | None
    other_than: bool = False
    missing_before: int | None = Field(description="Examples to add, by the gate's own rule; None: adding cannot.")
    partner_rows: int = Field(description="The partner's rows in the segment, scaled to the delivery.")
    missing_after: int | None = Field(description="Still missing with the partner's rows; 0 when closed.")
    closed: bool


class GateGap(BaseModel):
    model_config = ConfigDict(frozen=True)

    gate: str
    severity: str
    status: str = Field(description="The gate's status in the gate run: failed, waived or warned.")
    measured: float | int | str = Field(description="Measured on our training set, by the gate's own measure.")
    measured_after: float | int | str = Field(description="Measured with the partner's rows added.")
    required: float | int | str
    closes: bool = Field(description="The gate passes with the partner's rows.")
    segments: list[SegmentGap]
    after: str = Field(description="The gate's result in words with the partner's rows.")


class GapClosure(Section):
    """Section 7a: each failing or warned coverage bar, with the partner's rows added."""

    gate_run: str | None = Field(description="The gate run read; None when the dataset has none yet.")
    gate_as_of: date | None
    training_rows: int = Field(description="Examples of our training set the gates were measured on.")
    sample_records: int
    rows_available: int = Field(description="The partner's stated delivery size (default: the sample's).")
    scale: float = Field(description="rows_available / sample_records.")
    removed: dict[str, int] = Field(description="Sample rows taken out before scaling, by reason, in order.")
    usable: int = Field(description="Sample rows left.")
    partner_rows: int = Field(description="The usable rows scaled to the delivery.")
    by_class: dict[str, int] = Field(description="Our class -> scaled partner rows.")
    gates: list[GateGap]


class CellGain(BaseModel):
    model_config = ConfigDict(frozen=True)

    cell: str = Field(description="`category=Account`, `language!=en`: one shortfall, as a labeling plan names it.")
    missing: int
    gained: int = Field(description="Examples the partner's rows supply toward it.")


class Roi(Section):
    """Section 7b: what our own labeling would charge for the same gain, against the partner's price."""

    cells: list[CellGain]
    examples: int = Field(description="Examples gained over every cell.")
    adjudication_yield: float = Field(description="Share of annotated items adjudication keeps (as a plan counts it).")
    items: int = Field(description="Items our plan would send: examples / yield, per cell, rounded up.")
    gold: int = Field(description="Gold items mixed into its batches.")
    labels: int
    currency: str
    base: Decimal
    with_qa: Decimal
    total: Decimal = Field(description="What our plan would ask for: with QA overhead and contingency.")
    partner_price: Decimal | None = Field(description="What the partner asks (--price), in the same currency.")
    saving: Decimal | None = Field(description="total - partner_price: positive when the partner is cheaper.")


class DecisionSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Decision
    approver: str
    signed_on: date = Field(description="The record's `date`: the day it was signed.")
    expiry: date | None


class TermsAndDecision(Section):
    """Section 8: the terms' training verdict, the current decision record, the draft."""

    training: Verdict
    record: DecisionSummary | None
    record_problem: str | None = Field(description="Why an existing record cannot be read; None when it can.")
    usable: Verdict = Field(description="`partner_usable`: whether the source's rows may be used today.")
    draft: str = Field(description="Where the decision record is (relative to the workspace).")
    draft_written: bool = Field(description="True: drafted now; False: a record was there and is kept.")
    drafted: Decision = Field(description="What the assessment drafts: approve, conditional or reject.")


class PartnerAssessment(BaseModel):
    """The whole assessment of one partner source's sample."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    source: str
    sample: str = Field(description="The sample file (relative to the workspace when inside it).")
    rows: int = Field(description="Records asked for (--rows).")
    as_of: date
    assessed_at: datetime
    schema_fit: SchemaFit
    pii: PiiInventory
    label_fit: LabelFit
    label_quality: LabelQuality
    overlap: Overlap
    freshness: Freshness
    gaps: GapClosure
    roi: Roi | None = Field(description="None without a `labeling:` block or gate results.")
    roi_note: str = Field(default="", description="Why there is no ROI, when there is none.")
    terms: TermsAndDecision
    findings: list[Finding]
    conditions: list[str]
