"""A first spec for a profiled export, with the seed's bars measured on the export itself.

The bars are the product's own (../shared/seed: at least 1,000 examples per class, a class under
10% flagged, at least 10% outside the main language, 300 for each of the top 3 languages,
email + chat + web present, 10% of the examples from the last 30 days, a 6-month window) and
the demo's rates for quarantine, duplicates and leakage. Each is measured the way the first run
will measure it: the export is landed through the source it is drafted as and the days that run
processes are read (`first_run`), then redacted, windowed, language-detected and split by the
pipeline's own functions, and every gate is evaluated by `evaluate_gates`. A bar the export does
not meet yet is drafted at `warn`, so the draft runs as written and the shortfall is on the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.lib.accounting import Accounting
from pipelines.lib.drafting.first_run import FirstRun, read_as_first_run
from pipelines.lib.ingest.profile import ExportProfile
from pipelines.lib.privacy.policies import apply_freshness, minimise_and_redact
from pipelines.lib.privacy.redaction import PII_TYPES
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.quality.gates import evaluate_gates
from pipelines.lib.quality.steps import as_detected, detect_training_languages, split_with_languages
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec

#: the seed's channels: "include email + chat + web"
SEED_CHANNELS = ("email", "chat", "web")
#: a detected language below this share of the texts is not declared (a stray misdetection)
MIN_LANGUAGE_SHARE = 0.01


@dataclass(frozen=True)
class Draft:
    """A drafted spec (valid `DatasetSpec`), the seed's bars measured on the export, and what was
    left out. `measured` holds one result per drafted gate, with the seed's severity; the spec
    holds a failing ERROR bar at `warn` (`lowered` names those gates). `run` is how the first run
    goes; `first_day`..`last_day` the days it processes, measured as of `as_of`."""

    spec: DatasetSpec
    run: FirstRun
    first_day: date
    last_day: date
    as_of: date
    measured: list[GateResult]
    lowered: list[str]
    omitted: dict[str, str] = field(default_factory=dict)
    training_rows: int = 0
    labels_present: list[str] = field(default_factory=list)
    languages_present: list[str] = field(default_factory=list)


#: whom to call, as `init` drafts it: people must say (the spec refuses a source without them)
ESCALATION_PLACEHOLDERS = {
    "gate_failure": "TODO-gate-failure-contact",
    "pii_found": "TODO-privacy-contact",
    "deletion_request": "TODO-deletion-contact",
}


def profiled_languages(profile: ExportProfile) -> list[str]:
    """The languages detected in the profile's text above `MIN_LANGUAGE_SHARE`, most first: the
    first guess, settled by `measure_draft` on the rows a run keeps."""
    total = sum(profile.languages.values())
    found = [code for code, n in profile.languages.items() if total and n / total >= MIN_LANGUAGE_SHARE]
    return found or ["en"]


def seed_gates(profile: ExportProfile, languages: list[str], channel: str | None) -> dict[str, dict[str, Any]]:
    """The seed's bars as `gates:` parameters for this export's roles, with the severity each has
    in the demo's spec (before any is lowered to warn)."""
    reference = "en" if "en" in languages or not languages else languages[0]
    gates: dict[str, dict[str, Any]] = {
        "min_examples_per_class": {"min": 1000, "severity": "error"},
        "min_share_per_class": {"min": 0.10, "severity": "warn"},  # the seed flags a small class, with a plan
        "min_share_outside_language": {"reference": reference, "min": 0.10, "severity": "error"},
        "min_examples_top_languages": {"top": 3, "min": 300, "severity": "error"},
    }
    if channel:
        spelled = {str(v).lower(): str(v) for v in profile.column(channel).values}
        values = [spelled.get(name, name) for name in SEED_CHANNELS]
        gates["required_values"] = {"column": channel, "values": values, "min_share": 0.05, "severity": "error"}
    if profile.one("timestamp"):
        gates["min_recent_share"] = {"within": "P30D", "min": 0.10, "severity": "error"}
    gates["max_quarantine_rate"] = {"max": 0.02, "severity": "error"}
    if profile.one("language"):
        gates["max_language_mismatch"] = {"max": 0.05, "severity": "warn"}
    gates["max_duplicate_share"] = {"max": 0.25, "severity": "warn"}
    gates["max_near_duplicate_share"] = {"max": 0.35, "severity": "warn"}
    gates["max_split_leakage"] = {"max": 0.01, "severity": "error"}
    return gates


def channel_column(profile: ExportProfile) -> str | None:
    """The segment column named like a channel, if any: the seed's email + chat + web bar reads it."""
    return next((name for name in profile.role("segment") if "channel" in name.lower()), None)


def draft_spec(profile: ExportProfile, name: str, languages: list[str], path: str, start: date) -> DatasetSpec:
    """A DatasetSpec for the profiled export with the seed's bars at their usual severities: one
    source reading the export at `path` (relative to the workspace), from `start`. With no id
    column, `columns.id` is null (a run derives each record's id). Placeholders (`TODO-...`) stand
    for what only people can say: owners, legal basis, licence. Raises ValueError naming a
    required role (text, label) no column was guessed for."""
    missing = [role for role in ("text", "label") if not profile.role(role)]
    if missing:
        raise ValueError(f"no column guessed for {', '.join(missing)}; " + _hint(missing))
    has_time = profile.one("timestamp") is not None
    attributes: dict[str, Any] = {
        "name": name,
        "description": "TODO-describe the outcome this dataset trains a model for",
        "owner": "TODO-owner",
        "steward": "TODO-steward",
        "classification": "confidential",
        "access": {"raw": ["TODO-raw-readers"], "releases": ["TODO-release-readers"]},
        "escalation": ESCALATION_PLACEHOLDERS,
        "sources": [
            {
                "name": name,
                "path": path,
                "format": profile.format,
                "owner": "TODO-source-owner",
                "steward": "TODO-source-steward",
                "legal_basis": "TODO-legal-basis",
                "licence": "TODO-licence",
                "classification": "confidential",
                "escalation": ESCALATION_PLACEHOLDERS,
                "start_date": start.isoformat(),
            }
        ],
        "columns": {
            "id": profile.one("id"),
            "user": profile.one("user"),
            "timestamp": profile.one("timestamp"),
            "text": profile.role("text"),
            "language": profile.one("language"),
            "segments": profile.role("segment"),
        },
        "privacy": {"redact": list(PII_TYPES)},
        "labels": {"column": profile.one("label"), "classes": list(profile.classes)},
        "languages": languages,
        "gates": seed_gates(profile, languages, channel_column(profile)),
    }
    if has_time:
        attributes["freshness"] = {"window": "P6M", "max_staleness": "P30D"}
    return DatasetSpec.model_validate(attributes)


def _hint(missing: list[str]) -> str:
    hints = {
        "text": "no column holds free text: name the export's subject or body columns in the draft by hand",
        "label": "name the label column with --label COL",
    }
    return "; ".join(hints[role] for role in missing)


def measure_draft(spec: DatasetSpec, export: Path, run: FirstRun, now: datetime | None = None) -> Draft:
    """Run the export through the pipeline's own landing, ingest, redaction, freshness window,
    language detection and split as the first run will (`first_run.read_as_first_run`), measure
    every drafted gate, and settle the declared languages on those the run will detect. Returns
    the Draft (a failing ERROR bar lowered to warn). Raises SourceError if the export lacks a
    column the spec names, ValueError if the first run would have no day to process."""
    data = read_as_first_run(spec, export, run, now)
    landed, as_of = data.landed, data.as_of
    rows = landed.rows.assign(**{SOURCE_COLUMN: spec.sources[0].name})  # a draft reads one export
    redacted, _ = minimise_and_redact(rows, spec, key=b"draft: pseudonyms are not measured")
    frame = apply_freshness(redacted, spec, as_of, Accounting(len(redacted))).reset_index(drop=True)
    spec, detected = _settle_languages(spec, frame)
    language = spec.language_column
    frame, mismatch = split_with_languages(frame, spec, detected)
    results = evaluate_gates(
        as_detected(frame, spec, detected),
        spec,
        as_of,
        landed=(data.records_landed, len(landed.quarantine)),
        previous=None,
        language_mismatch=mismatch,
    )
    lowered = [r.name for r in results if not r.passed and r.severity == "error"]
    gates = spec.gates.model_dump()
    for name in lowered:
        gates[name]["severity"] = "warn"
    drafted = DatasetSpec.model_validate(spec.model_dump(mode="json") | {"gates": gates})
    omitted = {"min_label_agreement": "no annotations: no item is labelled twice, so agreement cannot be measured"}
    if "required_values" not in spec.gates:
        omitted["required_values"] = "no channel column: email + chat + web coverage cannot be measured"
    if spec.columns.timestamp is None:
        omitted["min_recent_share"] = "no timestamp column: recency cannot be measured"
    return Draft(
        spec=drafted,
        run=run,
        first_day=data.first_day,
        last_day=data.last_day,
        as_of=as_of,
        measured=results,
        lowered=lowered,
        omitted=omitted,
        training_rows=len(frame),
        labels_present=sorted(frame[spec.labels.column].dropna().unique().astype(str)),
        languages_present=sorted(frame[language].dropna().unique().astype(str)),
    )


def _settle_languages(spec: DatasetSpec, frame: pd.DataFrame) -> tuple[DatasetSpec, pd.Series]:
    """Detect as the training set will and declare the languages found in enough texts. Returns
    the spec with its languages settled and the detected language of each row (NA: undecided).

    Detected once: the detector always weighs its background languages beside the declared ones,
    so settling the declared list does not change what a run will detect (a language dropped was
    found in too few texts to move a bar)."""
    detected = detect_training_languages(frame, spec)
    shares = detected.value_counts(normalize=True)
    settled = [str(code) for code, share in shares.items() if share >= MIN_LANGUAGE_SHARE] or spec.languages[:1]
    return (spec if settled == list(spec.languages) else _with_languages(spec, settled)), detected


def _with_languages(spec: DatasetSpec, languages: list[str]) -> DatasetSpec:
    gates = spec.gates.model_dump()
    reference = gates.get("min_share_outside_language")
    if reference is not None and reference["reference"] not in languages and languages:
        reference["reference"] = "en" if "en" in languages else languages[0]
    return DatasetSpec.model_validate(spec.model_dump(mode="json") | {"languages": languages, "gates": gates})
