"""The blocks of a dataset spec (`defs.yaml`): sources, column roles, privacy, labels, freshness
and split, each a strict pydantic model; `spec.DatasetSpec` assembles them with the gates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.lib.durations import IsoDuration
from pipelines.lib.partners.terms import PartnerTerms
from pipelines.lib.spec_access import AccessSpec, Classification, EscalationSpec

FileFormat = Literal["csv", "jsonl", "parquet"]
PiiType = Literal["email", "phone", "credit_card", "iban", "ip_address", "us_ssn"]
#: the column the training set carries the detected language in when no language column is declared
DETECTED_LANGUAGE = "detected_language"
#: the id column trainset derives when no id column is declared (`columns.id: null`)
DERIVED_ID = "record_id"
#: the column every stored and released row names its source in (`sources[].name`)
SOURCE_COLUMN = "source_name"


class Limit(BaseModel):
    """A rule the dataset's declared columns keep from applying, and why."""

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="The rule: consent, erasure, pseudonymisation, retention, freshness, language.")
    reason: str = Field(description="Why it cannot apply, or how it applies instead.")


class StrictModel(BaseModel):
    """Base for every spec block: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(StrictModel):
    """One raw source of tickets: export files as they come, or a database table read by watermark.

    Day partitions come from the timestamp column, never from file names; each export is landed
    once (by content), so re-landing the same export changes nothing."""

    name: str = Field(description="Source name; its raw asset is `raw_<name>`.", pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["files", "sql", "partner"] = Field(
        default="files",
        description="`files`: exports at `path`; `sql`: rows of `table` or `query` at the database `url` "
        "(or `url_env`), read incrementally by the `watermark` column; `partner`: files a partner delivers at "
        "`path`, used only under its `terms` and a signed decision record (`decisions/<dataset>/<source>.yaml`).",
    )
    path: str | None = Field(
        default=None,
        description="Files: one export file, a folder of them (every `*.<format>` file in it) or a glob "
        "(`exports/tickets-*.csv`), relative to the workspace.",
    )
    format: FileFormat = Field(default="csv", description="File format of the export files.")
    duplicates: Literal["latest", "first"] = Field(
        default="latest",
        description="A record id already landed by an earlier export (overlapping or rolling exports): "
        "`latest` keeps the copy of the export landed last (an update); `first` keeps the first copy and "
        "quarantines later ones as duplicate_id. Copies within one export are always duplicate_id.",
    )
    url: str | None = Field(
        default=None,
        description="SQL: a SQLAlchemy URL without a password (e.g. `sqlite:///data/tickets.db`, relative to "
        "the workspace); a URL with credentials belongs in the environment (`url_env`).",
    )
    url_env: str | None = Field(
        default=None, description="SQL: the environment variable holding the SQLAlchemy URL (with credentials)."
    )
    table: str | None = Field(default=None, description="SQL: the table (`schema.table`) to read.")
    query: str | None = Field(default=None, description="SQL: a SELECT to read instead of a table.")
    watermark: str | None = Field(
        default=None,
        description="SQL: a column that grows with every insert or update (an `updated_at` set by the database, "
        "or a sequence); each run reads the rows past the highest value read so far.",
    )
    owner: str = Field(description="Team accountable for the source system (for a partner: who holds the agreement).")
    steward: str = Field(description="Person or team who answers questions about this source's data.")
    legal_basis: str = Field(
        description="Legal basis for using this source to train models (e.g. legitimate_interest, consent, contract)."
    )
    # -- access, classification, escalation (`spec_access`) --
    classification: Classification = Field(
        default="confidential",
        description="How sensitive the source's data is: public, internal, confidential or restricted.",
    )
    access: AccessSpec = Field(
        default_factory=AccessSpec, description="Groups who may read this source's data as written, and its releases."
    )
    escalation: EscalationSpec = Field(
        description="Whom to contact about this source when a gate fails, when PII is found in it, when a person "
        "or the partner asks for deletion."
    )
    licence: str = Field(
        default="",
        description="Licence or terms under which the data may be used (e.g. internal, CC-BY-4.0); required, "
        "except of a partner source, whose is its `terms.licence`.",
    )
    terms: PartnerTerms | None = Field(
        default=None,
        description="Partner: the terms of the agreement, as data. A term not stated is `unknown`, never allowed.",
    )
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="Files and partner: the export's column name -> the dataset's (`Ticket Text: body`), for "
        "exports written in their own schema.",
    )
    id_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,32}$",
        description="Prepended to each record id of this source (`acme:`), so that its ids cannot collide with "
        "another source's; stored and released ids carry it.",
    )
    label_map: dict[str, str | None] = Field(
        default_factory=dict,
        description="The source's label -> one of `labels.classes`; null: no counterpart, and its rows are "
        "quarantined as unmapped_label. A label neither mapped nor a declared class is unknown_label.",
    )
    value_map: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="The source's values of a segment or language column -> the dataset's "
        "(`channel: {Email: email, Web form: web}`), for exports that write them their own way. Language "
        "tags are reduced to their ISO 639-1 code first (`en-US` -> `en`).",
    )
    deletions: str | None = Field(
        default=None,
        description="Partner: where the partner's delete lists land (a CSV file, a folder of them or a glob), "
        "each with a column of the record ids to delete (the dataset's id column, or `id`).",
    )
    start_date: date = Field(
        description="First day of data; the first daily partition. Earlier records are quarantined as "
        "before_start_date."
    )
    encoding: str | None = Field(
        default=None,
        description="Text encoding of CSV and JSONL files (a Python codec name, e.g. cp1252). Default: UTF-8 "
        "(with or without a byte-order mark), UTF-16 when the file starts with its byte-order mark, else a legacy "
        "encoding detected from the bytes; a record still undecodable is quarantined as bad_encoding.",
    )
    delimiter: str | None = Field(
        default=None,
        description="Field delimiter of CSV files, one character (e.g. `;`). Default: the one of `,` `;` tab `|` "
        "found most often outside quotes in the header line.",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone (e.g. Europe/Berlin) of timestamps written without an offset; timestamps "
        "with an offset or `Z` keep their own. Every timestamp is stored in UTC.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        import codecs

        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"{value!r} is not an encoding Python knows; use a codec name such as cp1252, latin-1 or utf-16"
                ) from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError(f'{value!r}: the delimiter is one character, not a quote or a line break (tab: "\\t")')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone; use a name such as UTC or America/New_York"
            ) from None
        return value

    def export_name(self, column: str) -> str:
        """The export's own name of a dataset column: its `rename` key, or the name itself."""
        return next((theirs for theirs, ours in self.rename.items() if ours == column), column)

    @property
    def location(self) -> str:
        """Where the source's records come from, as the ledger, manifest and quarantine name it:
        its `path`, or `sql:<table>` (`sql:query` for a query)."""
        return self.path if self.path is not None else f"sql:{self.table or 'query'}"

    @model_validator(mode="before")
    @classmethod
    def _partner_licence(cls, value: object) -> object:
        # A partner's licence is stated once, in its terms; `licence` repeats it for every source alike.
        if isinstance(value, dict) and value.get("kind") == "partner" and "licence" not in value:
            terms = value.get("terms")
            stated = terms.get("licence") if isinstance(terms, dict) else None
            # (Without terms, the error to read is the one asking for them, not for `licence`.)
            return {**value, "licence": stated if isinstance(stated, str) else ""}
        return value

    @model_validator(mode="after")
    def _partner_keys(self) -> SourceSpec:
        if self.kind == "partner":
            if self.terms is None:
                raise ValueError(
                    "a `kind: partner` source needs `terms:` (at least `licence:`): every term not stated is "
                    "`unknown`, and its rows are used only when the terms allow training"
                )
            if self.terms.deletion_on_request == "required" and self.deletions is None:
                raise ValueError(
                    "terms.deletion_on_request is required, so the partner's delete lists must have somewhere to "
                    "land: declare `deletions:` (e.g. `deletions: data/landing/partners/<name>/deletions`)"
                )
            if self.licence != self.terms.licence:
                raise ValueError(
                    f"`licence` ({self.licence!r}) differs from `terms.licence` ({self.terms.licence!r}): "
                    "state it once, under `terms:`"
                )
        else:
            if not self.licence.strip():
                raise ValueError(
                    "`licence` is missing: write the licence or terms the data is used under (e.g. internal)"
                )
            given = [key for key in ("terms", "deletions") if getattr(self, key) is not None]
            if given:
                raise ValueError(f"{given} belong to a `kind: partner` source")
        if self.kind == "sql" and self.rename:
            raise ValueError("a `kind: sql` source names its columns in `query` (`SELECT x AS y`), not `rename`")
        targets = list(self.rename.values())
        if len(set(targets)) != len(targets):
            raise ValueError("`rename` maps two export columns to the same dataset column")
        return self

    @model_validator(mode="after")
    def _kind_keys(self) -> SourceSpec:
        sql_keys = {
            "url": self.url,
            "url_env": self.url_env,
            "table": self.table,
            "query": self.query,
            "watermark": self.watermark,
        }
        if self.kind in ("files", "partner"):
            given = sorted(k for k, v in sql_keys.items() if v is not None)
            if self.path is None:
                raise ValueError(f"a `{self.kind}` source needs `path`: an export file, a folder of them or a glob")
            if given:
                raise ValueError(f"{given} belong to a `kind: sql` source; a `{self.kind}` source reads `path`")
            return self
        if self.path is not None:
            raise ValueError("a `kind: sql` source reads `table` or `query` at `url`, not `path`")
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a `kind: sql` source needs exactly one of `url` and `url_env`")
        if self.url is not None and _has_password(self.url):
            raise ValueError("`url` holds a password: put the URL in an environment variable and name it in `url_env`")
        if (self.table is None) == (self.query is None):
            raise ValueError("a `kind: sql` source needs exactly one of `table` and `query`")
        if self.watermark is None:
            raise ValueError("a `kind: sql` source needs `watermark`: the column that grows with each new row")
        return self


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password is not None
    except ArgumentError:
        raise ValueError(f"`url` {url!r} is not a SQLAlchemy URL (e.g. sqlite:///data/tickets.db)") from None


class ColumnsSpec(StrictModel):
    """Which raw columns play which role. Only these survive minimisation in `redacted`.

    `user` and `timestamp` must be declared, as a column or as null (the export has none): what
    then cannot apply is said in the run summary, the manifest and the card (`DatasetSpec.limits`)."""

    id: str | None = Field(
        description="Unique id of an example; null if the export has none: each record then gets a stable "
        f"`{DERIVED_ID}` from its export's content hash and its place in it, and overlapping exports cannot "
        "be deduplicated."
    )
    user: str | None = Field(
        description="Id of the person the example is about (pseudonymised); null if the export has none: "
        "consent and erasure by user then cannot apply."
    )
    timestamp: str | None = Field(
        description="When the example was created (ISO-8601); null if the export has none: retention then "
        "counts from the day each export landed, and freshness cannot apply."
    )
    text: list[str] = Field(min_length=1, description="Free-text columns: redacted, and the model's input.")
    language: str | None = Field(
        default=None,
        description="Column holding each example's language (ISO 639-1); if none, the language is detected "
        f"from the text into `{DETECTED_LANGUAGE}`.",
    )
    segments: list[str] = Field(
        default_factory=list,
        description="Categorical segment columns (e.g. a channel, a product, a region) kept for coverage, "
        "segment gates and stratification.",
    )
    max_text_chars: int = Field(
        default=20_000,
        gt=0,
        description="Longest value of a text column accepted; a longer row (a pasted log or attachment) is "
        "quarantined as oversize_text.",
    )

    @model_validator(mode="after")
    def _each_column_one_role(self) -> ColumnsSpec:
        roles = [self.id, self.user, self.timestamp, self.language, *self.segments, *self.text]
        named = [name for name in roles if name is not None]
        twice = sorted({name for name in named if named.count(name) > 1})
        if twice:
            raise ValueError(f"column(s) {twice} named for more than one role; each column plays one role")
        for written in (DETECTED_LANGUAGE, DERIVED_ID if self.id is None else None):
            if written in named:
                raise ValueError(f"`{written}` is a column trainset writes; name the source column otherwise")
        return self


class ConsentSpec(StrictModel):
    """Opt-out table: users who asked that their data not be used for training."""

    path: str = Field(
        description="CSV with a user id column and `opted_out_at`, relative to the workspace; raw ids, "
        "pseudonymised with the dataset's key."
    )
    user_column: str | None = Field(
        default=None, description="The table's user id column; default: the name of the dataset's `columns.user`."
    )


class SensitiveRetentionSpec(StrictModel):
    """A shorter retention for sensitive categories."""

    categories: list[str] = Field(description="Label values whose examples are sensitive.")
    keep: IsoDuration = Field(description="ISO-8601 duration sensitive examples may be kept (e.g. P3M).")


class RetentionSpec(StrictModel):
    """How long examples may be kept, counted from their timestamp."""

    default: IsoDuration = Field(default="P12M", description="ISO-8601 duration every example may be kept.")
    sensitive: SensitiveRetentionSpec | None = Field(
        default=None, description="Shorter retention for sensitive categories."
    )


class PrivacySpec(StrictModel):
    """Privacy rules applied before anything is stored past the raw landing zone."""

    redact: list[PiiType] = Field(
        default=["email", "phone"], description="PII types replaced by typed placeholders in text columns."
    )
    pseudonymize: list[str] | None = Field(
        default=None, description="Id columns replaced by a keyed HMAC; default: the user column, if any."
    )
    key_env: str = Field(
        default="TRAINSET_PSEUDONYM_KEY",
        description="Environment variable holding the pseudonymisation key (never in the repository).",
    )
    regions: Annotated[list[str] | None, AfterValidator(_known_regions)] = Field(
        default=None,
        description=(
            "ISO 3166 regions whose national phone numbers are recognised (international forms are, "
            "everywhere). Default: the regions where a declared language is official and spoken by most "
            "people (CLDR)."
        ),
    )
    consent: ConsentSpec | None = Field(default=None, description="Opt-out table; opted-out users are excluded.")
    retention: RetentionSpec = Field(default_factory=RetentionSpec, description="Retention periods.")
    # -- storage of the zones that hold personal data (`pipelines.lib.zones`) --
    keep_raw: bool = Field(
        default=False,
        description="Keep the source's text as written in the raw zone, so that a later change of `redact` or "
        "`regions` can redact it again after the landing copies are gone. Default (false): text is redacted on "
        "the way in, and the only copy as written is the landed export, until retention deletes it.",
    )
    group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$",
        description="A Unix group that owns the dataset's files (the PII zones stay owner-only, 0700/0600; a "
        "confidential dataset's later zones and releases become readable by the group, 0750/0640). The user "
        "running trainset must be a member.",
    )


def _known_regions(regions: list[str] | None) -> list[str] | None:
    unknown = sorted({r.upper() for r in regions or []} - phonenumbers.SUPPORTED_REGIONS)
    if unknown:
        raise ValueError(f"{unknown}: not regions phonenumbers knows; use ISO 3166 alpha-2 codes such as US, GB, DE")
    return regions


class AnnotationsSpec(StrictModel):
    """Independent annotators' labels on a subset, used to measure label agreement."""

    path: str = Field(description="CSV with an example id column, `annotator` and `label`, relative to the workspace.")
    id_column: str | None = Field(
        default=None, description="The table's example id column; default: the name of the dataset's `columns.id`."
    )


class LabelsSpec(StrictModel):
    """The label the model learns."""

    column: str = Field(description="Label column.")
    classes: list[str] = Field(description="The closed set of classes; any other value is quarantined.")
    annotations: AnnotationsSpec | None = Field(default=None, description="Doubly-labelled items for agreement.")


class FreshnessSpec(StrictModel):
    """How recent the training data must be."""

    window: IsoDuration = Field(default="P6M", description="Only examples newer than this ISO-8601 duration are used.")
    max_staleness: IsoDuration = Field(
        default="P30D", description="The newest example must be at most this old (GX suite parameter)."
    )


class SplitSpec(StrictModel):
    """Deterministic stratified split."""

    train: float = Field(default=0.8, gt=0, lt=1, description="Share of each stratum in train.")
    validation: float = Field(default=0.1, ge=0, lt=1, description="Share of each stratum in validation.")
    test: float = Field(default=0.1, ge=0, lt=1, description="Share of each stratum in test.")
    stratify_by: list[str] | None = Field(
        default=None,
        description="Columns whose combinations are strata; default: the label and the language (declared or "
        "detected).",
    )
    seed: int = Field(default=13, description="Seed of the hash that orders examples within a stratum.")

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SplitSpec:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"split shares must sum to 1, got {total:g}")
        return self
