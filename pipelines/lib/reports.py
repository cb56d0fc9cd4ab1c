"""Typed stage reports: what each stage of a dataset hands on to the next.

One JSON file per stage (per day for the day-partitioned stages), written with
`model_dump_json` and read with `model_validate_json` through `pipelines.lib.report_files`;
asset metadata, reconciliation, the manifest, the card and the CLI are derived from these
models. Counts, ids, offsets and kinds only: never a row's text. Two building blocks live
beside their stage: `RowAccounting` (`pipelines.lib.accounting`) and `GateResult` with the rule
that decides what a gate's result means (`pipelines.lib.quality.gate_results`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.lib.accounting import RowAccounting
from pipelines.lib.audit.entries import Actor
from pipelines.lib.partners.deletions import PartnerDeletions
from pipelines.lib.partners.terms import LicenceRollUp, PartnerTerms
from pipelines.lib.privacy.residue_review import ResidueReview
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.spec import Limit


class Report(BaseModel):
    """Base of every report: immutable once built."""

    model_config = ConfigDict(frozen=True)


class ContractResult(Report):
    """One pandera validation: passed, and failures counted per column and check (no values)."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    schema_name: str = Field(alias="schema", description="Schema name: `<dataset>.<zone>`.")
    passed: bool
    failures: dict[str, int] = Field(default_factory=dict, description="`column / check` -> failing rows.")


class ExpectationOutcome(Report):
    """One GX expectation's result, without any row values."""

    type: str
    column: str | None = None
    success: bool
    observed: str | None = Field(default=None, description="Counts or an aggregate; never row values.")


# -- ingest ------------------------------------------------------------------------------------


class LandedExport(Report):
    """One export (or SQL batch) of a source, landed once: where its records went."""

    file: str = Field(description="The export, relative to the workspace (`sql:<table>` for a SQL batch).")
    sha256: str = Field(description="sha256 of the export's bytes (of its rows as text, for a SQL batch).")
    landed_at: datetime = Field(description="When it landed (UTC).")
    landed_on: date = Field(description="The day records without a usable timestamp were placed in.")
    records: int = Field(ge=0, description="Records read, blank ones included.")
    blank: int = Field(default=0, ge=0, description="Records whose every field was empty (booked on `landed_on`).")
    days: dict[str, int] = Field(default_factory=dict, description="Records placed per day.")
    replaced: int = Field(default=0, ge=0, description="Earlier copies of its record ids it replaced (an update).")
    size: int | None = Field(default=None, description="The file's size in bytes when it landed (None: SQL).")
    mtime_ns: int | None = Field(default=None, description="Its modification time (ns) when it landed (None: SQL).")


class LandingLedger(Report):
    """Every export of one source landed so far, in landing order, and a SQL source's watermark."""

    source: str
    exports: list[LandedExport] = Field(default_factory=list)
    watermark: dict | None = Field(default=None, description="SQL: the highest watermark read so far.")


# -- redaction on the way in (`privacy.keep_raw`) ------------------------------------------------


class IngestRedaction(Report):
    """How one raw day was minimised and redacted as it was stored (counts and names, no value)."""

    pii_types: list[str] = Field(description="The PII types redacted (`privacy.redact` when the day was stored).")
    regions: list[str] = Field(description="The regions whose national phone numbers were recognised.")
    replaced: dict[str, int] = Field(default_factory=dict, description="Values replaced, by PII type.")
    dropped_columns: list[str] = Field(default_factory=list, description="Export columns not stored.")


class IngestReport(Report):
    """One landed day of one source: the file read, rows read, rows quarantined by reason."""

    partition: str = Field(description="The day, YYYY-MM-DD.")
    file: str = Field(description="The landed file, relative to the workspace.")
    sha256: str = Field(description="sha256 of the landed file.")
    accounting: RowAccounting = Field(description="Records read; removed: `quarantined:<reason>`.")
    redaction: IngestRedaction | None = Field(
        default=None,
        description="The raw day holds minimised, redacted text (the default); None: its text as written "
        "(`privacy.keep_raw`), redacted by `redacted`.",
    )

    @property
    def quarantined(self) -> dict[str, int]:
        """Rows quarantined, by reason."""
        return {r.split(":", 1)[1]: n for r, n in self.accounting.removed.items() if r.startswith("quarantined:")}


class LandedDeletions(Report):
    """Rows deleted from one landed day of one source after it landed (retention, erasure, a
    partner's delete list), by reason: the day's ingest report books them again whenever the day
    is read again, so it keeps counting the records the exports held."""

    partition: str = Field(description="The day, YYYY-MM-DD.")
    removed: dict[str, int] = Field(default_factory=dict, description="Rows deleted, by reason.")


class QuarantineReport(Report):
    """Every quarantined row of every source and day, counted by reason."""

    rows: int = Field(ge=0)
    by_reason: dict[str, int] = Field(default_factory=dict)


# -- privacy -----------------------------------------------------------------------------------


class RedactionReport(Report):
    """One day of the redacted zone: rows, PII replaced per type, columns dropped."""

    partition: str
    accounting: RowAccounting
    replaced: dict[str, int] = Field(default_factory=dict, description="Values replaced, by PII type.")
    dropped_columns: list[str] = Field(default_factory=list, description="Columns dropped by minimisation.")


class RetentionOnStorage(Report):
    """What retention deleted from the stored zones in one run."""

    files_deleted: int = 0
    sensitive_rows_deleted: int = 0
    oldest_day_kept: date | None = None


class PartnerUse(Report):
    """Whether one partner source's rows were used in a build, and on whose decision
    (`pipelines.lib.partners.eligibility`)."""

    source: str
    used: bool = Field(description="Rows used: a signed decision in force, and terms that allow training.")
    reasons: list[str] = Field(description="What decided it, in words: the record first, then the terms.")
    decision: str | None = Field(description="approve, reject or conditional; None: no record.")
    approver: str | None = None
    signed: date | None = Field(default=None, description="The day the record was signed.")
    expiry: date | None = Field(default=None, description="The record's last day in force.")
    conditions: list[str] = Field(default_factory=list)
    record: str = Field(description="Where the record is (or would be), relative to the workspace.")
    record_sha256: str | None = Field(default=None, description="sha256 of the record file as read.")
    rows_in: int = Field(ge=0, description="The source's redacted rows read.")
    removed: dict[str, int] = Field(default_factory=dict, description="The source's rows removed, per reason.")

    @property
    def rows_used(self) -> int:
        """The source's rows kept by `eligible`."""
        return self.rows_in - sum(self.removed.values())


class EligibilityReport(Report):
    """The eligible rows: retention, erasure requests, consent and partner terms applied."""

    as_of: date
    partitions: int = Field(description="Redacted days read.")
    opted_out_users: int = 0
    erasure_requests: int = 0
    retention_storage: RetentionOnStorage = Field(default_factory=RetentionOnStorage)
    partners: list[PartnerUse] = Field(default_factory=list, description="Each partner source's use, in source order.")
    partner_deletions: PartnerDeletions = Field(
        default_factory=PartnerDeletions,
        description="The partners' delete lists read, and the rows they deleted from storage this run.",
    )
    accounting: RowAccounting = Field(
        description="removed: retention_expired, retention_expired_sensitive, erasure_request, consent_opt_out, "
        "and the partner reasons (`pipelines.lib.partners.eligibility.REASONS`)."
    )
    contract: ContractResult


# -- labeled -----------------------------------------------------------------------------------


#: where an example's label came from (`label_source` in the training set)
LABEL_SOURCES = ("source", "adjudicated", "feedback", "weak")


class GoldRecord(Report):
    """One annotator scored on the guideline's gold items of one batch."""

    annotator: str
    items: int = Field(ge=0)
    correct: int = Field(ge=0)
    accuracy: float | None = Field(default=None, description="correct / items; None without items.")
    low: float | None = Field(default=None, description="Wilson 95% interval, lower bound.")
    high: float | None = Field(default=None, description="Wilson 95% interval, upper bound.")
    flagged: bool = Field(default=False, description="Below labeling.min_gold_accuracy: excluded from adjudication.")


class BatchQuality(Report):
    """Agreement and gold scores of one labelled batch."""

    batch: str
    items: int = Field(ge=0, description="Items (not gold) annotated in the batch.")
    annotations: int = Field(ge=0, description="Labels given, gold included.")
    annotators: int = Field(ge=0)
    method: str | None = Field(default=None, description="cohen (two labels per item) or fleiss (three or more).")
    kappa: float | None = Field(default=None, description="Agreement in [-1, 1]; None when not measurable.")
    kappa_note: str = Field(default="", description="Why kappa could not be measured, when it could not.")
    per_class: dict[str, float] = Field(default_factory=dict, description="One-vs-rest kappa per class.")
    agreed: bool | None = Field(default=None, description="kappa >= labeling.min_agreement; None unmeasured.")
    gold: list[GoldRecord] = Field(default_factory=list)


class AnnotationFile(Report):
    """One imported annotations file, as committed under labeling/<dataset>/annotations/."""

    path: str = Field(description="Relative to the workspace.")
    sha256: str
    rows: int = Field(ge=0)


class GuidelineRecord(Report):
    """The labeling guideline a version's labels were made under."""

    path: str = Field(description="Relative to the workspace.")
    sha256: str
    rules: int = Field(ge=0)
    gold: int = Field(ge=0, description="Gold examples.")


class FeedbackLabels(Report):
    """Labels that came from consented feedback events (`pipelines.lib.feedback.labels`)."""

    changed: int = Field(default=0, ge=0, description="Rows labelled by an agent's correction (label_source feedback).")
    accepted: int = Field(
        default=0, ge=0, description="Rows whose only label is a kept suggestion (label_source weak, how accepted)."
    )
    accepted_not_used: int = Field(
        default=0, ge=0, description="Unlabelled rows with a kept suggestion left in the pool (train_accepted off)."
    )
    replaced_source: int = Field(default=0, ge=0, description="Rows whose source label a correction replaced.")
    events_sha256: str = Field(
        default="",
        description="sha256 of the (event id, label) pairs used, sorted: which feedback events a version's labels "
        "came from (the events live in the store, not in the release).",
    )
    store: str = Field(default="", description="The event store read: its URL without password, and its table.")
    audit_drawn: int = Field(default=0, ge=0, description="Feedback-labelled rows drawn for a blind human audit.")
    audit_annotated: int = Field(default=0, ge=0, description="Drawn rows annotators have labelled.")
    audit_agreement: float | None = Field(
        default=None, description="Share of annotated audit rows where annotators agree with the feedback label."
    )


class LabeledReport(Report):
    """The `labeled` stage: every eligible row either labelled (with provenance) or held back."""

    accounting: RowAccounting = Field(
        description="removed: unlabeled (kept in the labeling pool), awaiting_adjudication (in the steward queue)."
    )
    by_source: dict[str, int] = Field(
        default_factory=dict, description="Labelled rows per label_source (this stage: before the freshness window)."
    )
    released_by_source: dict[str, int] | None = Field(
        default=None,
        description="Released rows (every split) per label_source; set by the release from the training set.",
    )
    by_how: dict[str, int] = Field(
        default_factory=dict, description="Adjudicated rows per rule: unanimous, majority, single, steward."
    )
    changed_source_label: int = Field(
        default=0, ge=0, description="Rows whose source label the adjudicated label replaced."
    )
    batches: list[BatchQuality] = Field(default_factory=list)
    flagged_annotators: list[str] = Field(default_factory=list, description="Under the gold bar in some batch.")
    held_back: list[str] = Field(
        default_factory=list,
        description="Batches below labeling.min_agreement: their labels are not used (the items stay in the pool).",
    )
    queue: int = Field(default=0, ge=0, description="Items waiting for a steward's decision.")
    pool: int = Field(default=0, ge=0, description="Unlabelled eligible rows (candidates for a labeling plan).")
    weak_in_pool: int = Field(default=0, ge=0, description="Pool rows a weak rule gives a label.")
    annotations_unmatched: int = Field(
        default=0, ge=0, description="Annotated items that are not eligible rows (erased, expired or unknown)."
    )
    files: list[AnnotationFile] = Field(default_factory=list)
    feedback: FeedbackLabels | None = Field(default=None, description="Labels from consented feedback events.")
    guideline: GuidelineRecord | None = None
    contract: ContractResult | None = None


# -- training set ------------------------------------------------------------------------------


#: a segment value that is missing (null), as coverage counts it
MISSING = "(missing)"
#: the language of an example detection found none for (ISO 639-2 `und`, undetermined)
UNDETERMINED = "und"


class CoverageCount(Report):
    """Examples of one class x segment values x split."""

    label: str = Field(description="Value of the dataset's label column.")
    segments: dict[str, str] = Field(
        default_factory=dict, description="Segment column -> value: the language column first, then each segment."
    )
    split: str
    n: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _segments_of_earlier_manifests(cls, data: Any) -> Any:
        # Manifests written before segments were declared held each segment column as a key of its
        # own, and the oldest named the label by its column: the first key, as they were written.
        if isinstance(data, dict) and "segments" not in data:
            keys = [k for k in data if k not in {"split", "n"}]
            label = "label" if "label" in data else (keys[0] if keys else "label")
            segments = {k: data[k] for k in keys if k != label}
            return {"label": data.get(label), "segments": segments, "split": data.get("split"), "n": data.get("n")}
        return data


class LanguageReport(Report):
    """Language as measured: how often the detected language differs from the claimed one."""

    column: str | None = Field(default=None, description="The language column: declared, or `detected_language`.")
    mismatch_rate: float | None = Field(
        default=None, ge=0, le=1, description="Share detected otherwise than claimed; None with no claimed language."
    )
    detected: dict[str, int] = Field(default_factory=dict, description="Examples per detected language.")
    claimed_vs_detected: dict[str, int] = Field(default_factory=dict, description="`claimed->detected` -> examples.")


class TrainingSetReport(Report):
    """The training set: freshness window applied, split, counted."""

    as_of: date
    accounting: RowAccounting = Field(description="removed: outside the freshness window.")
    splits: dict[str, int] = Field(default_factory=dict, description="Rows per split.")
    counts: list[CoverageCount] = Field(default_factory=list)
    weekly: dict[str, int] = Field(default_factory=dict, description="Examples per week (its Monday, YYYY-MM-DD).")
    language: LanguageReport | None = None
    limits: list[Limit] = Field(default_factory=list, description="What the declared columns keep from applying.")
    label_sources: dict[str, int] = Field(default_factory=dict, description="Rows per label_source.")


# -- gates -------------------------------------------------------------------------------------


class GateRun(Report):
    """Every gate of one run, with the training set's contract and expectation suite."""

    run_id: str | None = Field(default=None, description="Dagster run id.")
    as_of: date | None = None
    evaluated_at: datetime | None = None
    contract: ContractResult | None = None
    expectations: list[ExpectationOutcome] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)

    @property
    def blocking(self) -> list[GateResult]:
        """Gates that stop the release."""
        return [g for g in self.gates if g.blocking]


# -- release -----------------------------------------------------------------------------------


class FileEntry(Report):
    sha256: str
    bytes: int = Field(ge=0)
    rows: int | None = Field(default=None, description="Rows, for a parquet split.")


class SpecRecord(Report):
    path: str = Field(description="The defs.yaml that declared the dataset.")
    sha256: str = Field(description="sha256 of the spec's canonical JSON.")
    content: dict[str, Any] = Field(description="The spec as declared (the typed form of defs.yaml).")


class InputSummary(Report):
    source: str
    kind: str = Field(default="files", description="files, sql or partner.")
    owner: str
    steward: str
    legal_basis: str
    licence: str
    terms: PartnerTerms | None = Field(default=None, description="A partner source's terms, as declared.")
    use: PartnerUse | None = Field(default=None, description="A partner source's decision and rows used.")
    released: int | None = Field(default=None, ge=0, description="The source's rows in the version's data files.")
    path: str
    partitions: str = Field(description="`first..last (N days)`, or `none`.")
    sha256: str = Field(description="Combined sha256 of the landed exports, in landing order.")
    rows: int = Field(ge=0, description="Records read from the days released.")
    exports: int = Field(default=0, ge=0, description="Exports (or SQL batches) landed.")
    replaced: int = Field(
        default=0, ge=0, description="Records replaced by a later export's copy of the same id (updates)."
    )


class _Policy(Report):
    summary: str = Field(description="The policy and its counts, in words.")


class MinimisationPolicy(_Policy):
    name: Literal["minimisation"] = "minimisation"
    dropped_columns: list[str] = Field(default_factory=list)


class RedactionPolicy(_Policy):
    name: Literal["redaction"] = "redaction"
    replaced: dict[str, int] = Field(default_factory=dict)


class PseudonymisationPolicy(_Policy):
    name: Literal["pseudonymisation"] = "pseudonymisation"
    columns: list[str] = Field(default_factory=list)


class ConsentPolicy(_Policy):
    name: Literal["consent"] = "consent"
    rows_removed: int = 0
    opted_out_users: int = 0


class ErasurePolicy(_Policy):
    name: Literal["erasure"] = "erasure"
    requests: int = 0
    rows_removed: int = 0


class PartnerDeletionPolicy(_Policy):
    name: Literal["partner_deletion"] = "partner_deletion"
    lists: int = Field(default=0, description="The partners' delete lists on record.")
    ids_requested: int = Field(default=0, description="Distinct record ids they name.")
    rows_removed: int = Field(default=0, description="Rows the build left out for them (`eligible`).")


class RetentionOnStoragePolicy(RetentionOnStorage, _Policy):
    name: Literal["retention_on_storage"] = "retention_on_storage"


class RetentionPolicy(_Policy):
    name: Literal["retention"] = "retention"
    rows_removed: int = 0


Policy = Annotated[
    MinimisationPolicy
    | RedactionPolicy
    | PseudonymisationPolicy
    | ConsentPolicy
    | ErasurePolicy
    | PartnerDeletionPolicy
    | RetentionOnStoragePolicy
    | RetentionPolicy,
    Field(discriminator="name"),
]


class LicenceSection(Report):
    """The licence of a version: the licence of every source its rows come from, and the terms of
    its partner sources rolled up (the most restrictive term wins)."""

    licences: dict[str, str] = Field(description="Licence of each source with rows in the version, in source order.")
    partner_terms: LicenceRollUp | None = Field(
        default=None, description="The partner sources' terms rolled up; None: no partner row is in the version."
    )

    @property
    def attributions(self) -> list[str]:
        """Attribution texts the version must carry (the partner terms' own, rolled up)."""
        return self.partner_terms.attributions if self.partner_terms else []


# -- storage of the zones holding personal data (`pipelines.lib.zones`) -----------------------------


class StorageRecord(Report):
    """How the version's sources were kept on disk: as written or redacted, and who could read them."""

    keep_raw: bool = Field(
        description="The raw zone kept the sources' rows as written (`privacy.keep_raw`); false: only the spec's "
        "columns, text redacted on the way in."
    )
    raw_days_as_written: int = Field(
        ge=0, description="Raw days holding text as written (with keep_raw, or stored before redaction at ingest)."
    )
    pii_zones: list[str] = Field(
        description="Folders holding personal data as written, relative to the workspace: owner-only (0700 folders, "
        "0600 files)."
    )
    group: str | None = Field(default=None, description="The Unix group owning the dataset's files (`privacy.group`).")
    later_zones: Literal["closed", "umask"] = Field(
        description="The redacted zone, later ones and the releases: `closed` to other users (0700, or 0750 for the "
        "group) for confidential and restricted data; as the `umask` leaves them otherwise."
    )


class WaiverRecord(Report):
    """A failed gate a steward's waiver let through this version."""

    gate: str
    approver: str
    expires: date
    reason: str


class AllowanceRecord(Report):
    """A residue allowance in force when the version was released (a finding a steward reviewed
    and found not to be PII), named by its finding's hash: never the row id."""

    finding_sha256: str = Field(description="sha256 of `dataset/row id/column/offset/kind`.")
    column: str
    kind: str
    approver: str
    expires: date
    reason: str


class ReleaseRecord(Report):
    """The privacy officer's questions about one version, answered at its release from the audit
    log: who released it, under which waivers and allowances, which erasure requests it honours.
    Who pulled it since is in the log: `trainset audit show --dataset D --version N`."""

    released_by: Actor = Field(
        description="The operator who released it: OS user, git name, host (the e-mail is in the audit log)."
    )
    waivers: list[WaiverRecord] = Field(default_factory=list, description="Failed gates let through by a waiver.")
    allowances: list[AllowanceRecord] = Field(default_factory=list, description="Residue allowances in force.")
    erasure_requests: int = Field(default=0, ge=0, description="Erasure requests on record, all honoured.")
    erasure_requests_sha256: str | None = Field(
        default=None, description="Combined sha256 of those requests' id hashes, sorted (never the ids)."
    )
    partner_delete_lists: list[str] = Field(
        default_factory=list, description="sha256 of each partner delete list honoured."
    )
    audit_seq: int = Field(default=0, ge=0, description="The audit log's last entry before the release (0: none).")
    audit_head: str = Field(description="That entry's hash: the release's place in the audit chain.")


class ManifestBody(Report):
    """What the release step assembles from the stage reports, before a version exists."""

    created_at: datetime
    as_of: date
    code_version: str | None = Field(default=None, description="git sha of the workspace.")
    dagster_run_id: str | None = None
    spec: SpecRecord
    pseudonymisation_key_id: str = Field(description="Id of the key (never the key).")
    inputs: list[InputSummary]
    policies: list[Policy]
    accounting: dict[str, RowAccounting] = Field(description="Row accounting of every step of the run.")
    quarantine: QuarantineReport
    contract: ContractResult
    expectations: list[ExpectationOutcome]
    gates: list[GateResult]
    counts: list[CoverageCount]
    language: LanguageReport | None = None
    limits: list[Limit] = Field(
        default_factory=list, description="Rules the spec's declared-absent columns keep from applying, and why."
    )
    labels: LabeledReport | None = Field(
        default=None, description="Where the labels came from, agreement and gold per batch, the guideline."
    )
    licence: LicenceSection | None = Field(
        default=None, description="The licences and partner terms of the sources the version's rows come from."
    )
    storage: StorageRecord | None = Field(
        default=None, description="How the sources were kept on disk (None: a version released before this record)."
    )
    release_record: ReleaseRecord | None = Field(
        default=None, description="Who released the version, under which waivers and allowances, honouring what."
    )


class Manifest(ManifestBody):
    """`manifest.json` of one released version: its lineage, and every figure the card shows."""

    dataset: str
    version: int = Field(ge=1)
    content_sha256: str = Field(description="sha256 over the data files' names and sha256s: the version's content.")
    pii_residue_in_files: ResidueReview | None = Field(
        default=None, description="The residue check on the data files, with every finding a steward allowed."
    )
    files: dict[str, FileEntry] = Field(description="Every file of the version: sha256, bytes, rows.")

    @property
    def ref(self) -> str:
        """`ticket_triage@v3`."""
        return f"{self.dataset}@v{self.version}"

    @property
    def rows(self) -> int:
        """Rows in the version's data files."""
        return sum(f.rows or 0 for f in self.files.values())


#: where the manifest's JSON Schema is committed, relative to the project (`make schemas` writes it)
MANIFEST_SCHEMA = Path("schemas") / "manifest.schema.json"


def manifest_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of `manifest.json` as written, generated from `Manifest`
    (serialization mode: a gate's `status` and `blocking` are in the file)."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    return schema | Manifest.model_json_schema(mode="serialization")


if __name__ == "__main__":  # `make schemas`
    print(json.dumps(manifest_json_schema(), indent=2))
