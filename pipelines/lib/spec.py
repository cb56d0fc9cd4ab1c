"""The declarative dataset spec: the typed form of one `defs.yaml`.

Parsed once at the boundary (the Dagster component, the CLI); everything inside works on these
objects. Every field carries a description so the YAML documents itself and `dg check defs`
validates it. The blocks (sources, columns, privacy, labels, freshness, split) are in
`spec_blocks`; this module assembles them with the gates into `DatasetSpec`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field, RootModel, SerializeAsAny, ValidationInfo, field_validator, model_validator

from pipelines.lib.feedback.declaration import FeedbackSpec
from pipelines.lib.labeling.declaration import LabelingSpec
from pipelines.lib.privacy.pii_shapes import regions_of_languages
from pipelines.lib.quality.gate_declarations import GateParams, gate_fits, gates_json_schema, parse_gates
from pipelines.lib.spec_access import AccessSpec, Classification, EscalationSpec, access_placeholders
from pipelines.lib.spec_blocks import (
    DERIVED_ID,
    DETECTED_LANGUAGE,
    SOURCE_COLUMN,
    AnnotationsSpec,
    ColumnsSpec,
    ConsentSpec,
    FileFormat,
    FreshnessSpec,
    LabelsSpec,
    Limit,
    PiiType,
    PrivacySpec,
    RetentionSpec,
    SensitiveRetentionSpec,
    SourceSpec,
    SplitSpec,
    StrictModel,
)

__all__ = [
    "AccessSpec",
    "Classification",
    "EscalationSpec",
    "DERIVED_ID",
    "DETECTED_LANGUAGE",
    "AnnotationsSpec",
    "ColumnsSpec",
    "ConsentSpec",
    "DatasetSpec",
    "FileFormat",
    "FreshnessSpec",
    "GatesSpec",
    "LabelsSpec",
    "Limit",
    "PiiType",
    "PrivacySpec",
    "SOURCE_COLUMN",
    "RetentionSpec",
    "SensitiveRetentionSpec",
    "SourceSpec",
    "SplitSpec",
    "StrictModel",
]


class GatesSpec(RootModel[dict[str, SerializeAsAny[GateParams]]]):
    """Aggregate quality bars on the training set, by gate name (`pipelines.lib.quality.gate_declarations`
    declares every gate and its parameters). Each threshold lives here and nowhere else."""

    model_config = ConfigDict(frozen=True, json_schema_extra=gates_json_schema)

    root: dict[str, SerializeAsAny[GateParams]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _declared(cls, value: Any) -> Any:
        return parse_gates(value)

    def declared(self) -> list[tuple[str, GateParams]]:
        """(name, parameters) of every gate the dataset declares, in the order gates are measured."""
        return list(self.root.items())

    def names(self) -> list[str]:
        """Names of the declared gates."""
        return list(self.root)

    def __getitem__(self, name: str) -> GateParams:
        return self.root[name]

    def __contains__(self, name: object) -> bool:
        return name in self.root


class DatasetSpec(StrictModel):
    """Everything about one training dataset, declared once."""

    name: str = Field(
        description="Dataset name; its assets form the Dagster group of that name.", pattern=r"^[a-z][a-z0-9_]*$"
    )
    description: str = Field(default="", description="What the dataset is for; opens the dataset card.")
    owner: str = Field(description="Team accountable for the dataset.")
    steward: str = Field(description="Team that reviews failed gates and approves waivers.")
    # -- access, classification, escalation (`spec_access`) --
    classification: Classification = Field(
        default="confidential",
        description="How sensitive the dataset is: public, internal, confidential or restricted. Confidential and "
        "restricted datasets' zones past redaction and releases are closed to other users of the machine.",
    )
    access: AccessSpec = Field(
        default_factory=AccessSpec, description="Groups who may read the raw zone, and who may pull releases."
    )
    escalation: EscalationSpec = Field(
        description="Whom to contact when a gate fails, when PII is found, when a person or a partner asks for "
        "deletion."
    )
    sources: list[SourceSpec] = Field(min_length=1, description="Raw sources of examples.")
    columns: ColumnsSpec = Field(description="Column roles; the allow-list of minimisation.")
    privacy: PrivacySpec = Field(
        default_factory=PrivacySpec, description="Redaction, pseudonymisation, consent, retention."
    )
    labels: LabelsSpec = Field(description="The label and its classes.")
    labeling: LabelingSpec | None = Field(
        default=None,
        description="Labeling plan, budget and bars; with it, an unlabelled row is a candidate, not an error.",
    )
    feedback: FeedbackSpec | None = Field(
        default=None,
        description="Prediction outcomes logged by the deployed model: metrics, drift, and labels from consented "
        "feedback.",
    )
    languages: list[str] = Field(
        description="Declared languages (ISO 639-1); each must be present in the training set."
    )
    freshness: FreshnessSpec = Field(default_factory=FreshnessSpec, description="Freshness window of the training set.")
    gates: GatesSpec = Field(default_factory=GatesSpec, description="Aggregate quality bars, by gate name.")
    split: SplitSpec = Field(default_factory=SplitSpec, description="Train/validation/test split.")
    # Checked by Dagster's own rules where the schedule is built (components/assets.py), not here:
    # importing Dagster would slow every verb that reads a spec, `trainset redact` among them.
    schedule: str | None = Field(
        default=None,
        description="Cron schedule of the materialization (UTC), five fields as Dagster reads them, e.g. `0 3 * * *`.",
    )

    @field_validator("gates", mode="before")
    @classmethod
    def _gates_of_dataset(cls, value: Any, info: ValidationInfo) -> Any:
        # Validated here too, so that an error names the dataset as well as the gate and parameter.
        return value if isinstance(value, GatesSpec) else GatesSpec(parse_gates(value, dataset=info.data.get("name")))

    @property
    def first_date(self) -> date:
        """The earliest start date over all sources: the first daily partition."""
        return min(source.start_date for source in self.sources)

    @property
    def phone_regions(self) -> list[str]:
        """Regions whose national phone numbers redaction recognises: `privacy.regions`, or those of
        the declared languages."""
        if self.privacy.regions:
            return [r.upper() for r in self.privacy.regions]
        return list(regions_of_languages(tuple(self.languages)))

    @property
    def language_column(self) -> str:
        """The column holding each example's language: the declared one, or `detected_language`."""
        return self.columns.language or DETECTED_LANGUAGE

    @property
    def segment_columns(self) -> list[str]:
        """Columns coverage is counted by besides the label: the language, then the declared segments."""
        return [self.language_column, *self.columns.segments]

    @property
    def feedback_segments(self) -> list[str]:
        """Columns feedback is reported by: `feedback.segments`, or the language and declared segments."""
        if self.feedback and self.feedback.segments is not None:
            return list(self.feedback.segments)
        return self.segment_columns

    @property
    def pseudonymized_columns(self) -> list[str]:
        """Columns replaced by a keyed HMAC: `privacy.pseudonymize`, or the user column if declared."""
        if self.privacy.pseudonymize is not None:
            return list(self.privacy.pseudonymize)
        return [self.columns.user] if self.columns.user else []

    @property
    def strata(self) -> list[str]:
        """Columns whose combinations are the split's strata: `split.stratify_by`, or label and language."""
        return list(self.split.stratify_by or [self.labels.column, self.language_column])

    @property
    def id_column(self) -> str:
        """The example id column: `columns.id`, or the `record_id` trainset derives when it is null."""
        return self.columns.id or DERIVED_ID

    @property
    def kept_columns(self) -> list[str]:
        """Columns that survive minimisation, in output order (the id first)."""
        c = self.columns
        roles = [self.id_column, c.user, c.timestamp, c.language]
        return [*(name for name in roles if name is not None), *c.segments, *c.text, self.labels.column]

    @property
    def stored_columns(self) -> list[str]:
        """Columns of every stored row past redaction, in order: the kept columns with the row's
        source (`SOURCE_COLUMN`) after the id."""
        kept = self.kept_columns
        return [kept[0], SOURCE_COLUMN, *kept[1:]]

    def placeholders(self) -> list[str]:
        """Keys still holding a `TODO` placeholder (as `trainset init` drafts them), dotted as the
        YAML spells them: a released version says they are unfilled rather than hiding it."""
        values = {"description": self.description, "owner": self.owner, "steward": self.steward}
        for index, source in enumerate(self.sources):
            for key in ("owner", "steward", "legal_basis", "licence"):
                values[f"sources[{index}].{key}"] = getattr(source, key)
        found = [key for key, value in values.items() if value.strip().upper().startswith("TODO")]
        found += access_placeholders(self.access, "access") + self.escalation.placeholders("escalation")
        for index, source in enumerate(self.sources):
            found += access_placeholders(source.access, f"sources[{index}].access")
            found += source.escalation.placeholders(f"sources[{index}].escalation")
        return found

    def limits(self) -> list[Limit]:
        """What the spec's declared-absent columns keep from applying, in words: the run summary,
        the manifest and the card list these (an empty list when every role is declared)."""
        c, found = self.columns, []
        if c.user is None:
            found += [
                Limit(rule="consent", reason="no user column: opt-outs cannot be matched to examples"),
                Limit(rule="erasure", reason="no user column: `trainset forget` cannot find a person's examples"),
                Limit(rule="pseudonymisation", reason="no user column: no person id to pseudonymise"),
            ]
        if c.id is None:
            found.append(
                Limit(
                    rule="deduplication",
                    reason=f"no id column: each record's `{DERIVED_ID}` comes from its export and its place in "
                    "it, so a record in two exports is two examples",
                )
            )
        if c.timestamp is None:
            found += [
                Limit(rule="retention", reason="no timestamp column: counted from the day each export landed"),
                Limit(rule="freshness", reason="no timestamp column: no window or staleness bar can be measured"),
            ]
        if c.language is None:
            found.append(
                Limit(
                    rule="language",
                    reason=f"no language column: detected from the text into `{DETECTED_LANGUAGE}`; "
                    "no claimed language to compare with",
                )
            )
        return found

    @model_validator(mode="after")
    def _roles_fit(self) -> DatasetSpec:
        # A rule declared over a column declared absent would silently do nothing: refuse it here.
        c, problems = self.columns, []
        if self.labels.column in [*self.kept_columns[:-1], DETECTED_LANGUAGE]:
            problems.append(f"labels.column {self.labels.column!r} also plays a role under `columns:`")
        if self.labeling and self.labeling.weak:
            for name in sorted(set(self.labeling.weak.rules) - set(self.labels.classes)):
                problems.append(f"labeling.weak.rules names {name!r}, which is not one of labels.classes")
        problems += self._sources_fit()
        if self.feedback and c.id is None:
            problems.append("feedback needs columns.id, which is declared absent (null): events name tickets by id")
        if self.feedback and self.feedback.segments:
            for name in [n for n in self.feedback.segments if n not in self.segment_columns]:
                problems.append(
                    f"feedback.segments names {name!r}, which is not the language or a declared segment "
                    f"(one of {', '.join(self.segment_columns)})"
                )
        if c.user is None and self.privacy.consent is not None:
            problems.append("privacy.consent needs columns.user, which is declared absent (null)")
        # (Compared with the defaults, not by what was set: a manifest's spec holds every default.)
        if c.timestamp is None and self.freshness != FreshnessSpec():
            problems.append("freshness needs columns.timestamp, which is declared absent (null)")
        kept = set(self.kept_columns) | {DETECTED_LANGUAGE}
        for name in sorted(set(self.pseudonymized_columns) - kept):
            problems.append(f"privacy.pseudonymize names {name!r}, which no role under `columns:` keeps")
        for name in [n for n in self.strata if n not in kept]:
            problems.append(f"split.stratify_by names {name!r}, which no role under `columns:` keeps")
        for name, params in self.gates.declared():
            problems += gate_fits(
                name, params, self.segment_columns, timestamp=c.timestamp is not None, language=c.language is not None
            )
        if problems:
            raise ValueError(f"dataset {self.name!r}: " + "; ".join(problems))
        return self

    def _sources_fit(self) -> list[str]:
        """What a source's `rename` and `label_map` name that the dataset does not declare."""
        problems, expected = [], [name for name in self.kept_columns if name != DERIVED_ID]
        if SOURCE_COLUMN in expected:
            problems.append(f"{SOURCE_COLUMN!r} is the column trainset names each row's source in: rename that role")
        names = [source.name for source in self.sources]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"two sources are named {name!r}")
        for source in self.sources:
            for column in [c for c in source.rename.values() if c not in expected]:
                problems.append(
                    f"sources {source.name!r}: rename maps to {column!r}, which is not a dataset column "
                    f"(one of {', '.join(expected)})"
                )
            mappable = [*([self.columns.language] if self.columns.language else []), *self.columns.segments]
            for column in [c for c in source.value_map if c not in mappable]:
                problems.append(
                    f"sources {source.name!r}: value_map names {column!r}, which is not the language column or a "
                    f"segment (one of {', '.join(mappable) or 'none declared'})"
                )
            for theirs, ours in source.label_map.items():
                if ours is not None and ours not in self.labels.classes:
                    problems.append(
                        f"sources {source.name!r}: label_map maps {theirs!r} to {ours!r}, which is not one of "
                        f"labels.classes ({', '.join(self.labels.classes)}); null drops the class"
                    )
        return problems

    def fingerprint(self) -> str:
        """sha256 (64 hex digits) of the spec's canonical JSON: identifies exactly which declaration
        built a version."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
