"""The drafted `defs.yaml` as text, each guess and each measured bar commented, and its GX suite.

Written line by line rather than dumped: a YAML dumper drops comments, and the comments are the
point of a draft (why a column was taken, what was measured, what a person must fill in).
Every value is written as a plain scalar when YAML reads it back as the same string, else as a
JSON string (JSON strings are YAML); the text is parsed back and validated in `trainset init`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipelines.lib.catalog import COMPONENT_TYPE
from pipelines.lib.drafting.bars import Draft
from pipelines.lib.ingest.profile import ExportProfile
from pipelines.lib.quality.gate_results import GateResult
from pipelines.lib.spec import DERIVED_ID, EscalationSpec

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}
REVIEW = "— review"


def scalar(value: Any) -> str:
    """One YAML scalar: plain where it reads back as the same string, else JSON-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    text = str(value)
    plain = _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text, ensure_ascii=False)


def flow(values: list[Any]) -> str:
    """A YAML flow sequence of scalars."""
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def _params(params: dict[str, Any]) -> str:
    inner = ", ".join(f"{key}: {flow(v) if isinstance(v, list) else scalar(v)}" for key, v in params.items())
    return "{" + inner + "}"


def _measured(result: GateResult | None, lowered: bool) -> str:
    if result is None:
        return ""
    measured = result.measured
    if lowered:
        comparison = ">" if result.name.startswith("max_") else "<"
        shown = measured if isinstance(measured, str) else f"{measured} {comparison} {result.required}"
        return f"# measured {shown} on this export: not met yet, so warn — raise to error once met"
    return f"# measured {measured} on this export" + ("" if result.passed else " (not met)")


def render_defs(draft: Draft, profile: ExportProfile, command: str) -> str:
    """The drafted defs.yaml (a str ending in a newline): the spec of `draft`, commented from the
    profile's guesses and the measured bars; `command` is the `trainset init` line that drafted it."""
    spec, c = draft.spec, draft.spec.columns
    guessed = {col.name: col.reason for col in profile.columns}
    source = spec.sources[0]
    placed = "into the days of its timestamps" if c.timestamp else "on the day it lands"
    first_day = (
        "the export's earliest timestamp (UTC): no record is before it"
        if c.timestamp
        else "the day the export lands: with no timestamp column, every record is filed on it"
    )
    lines = [
        f"# Drafted by `{command}` from {profile.records} records of {profile.path}.",
        f"# Every `# guessed:` line is a guess from the export's shape {REVIEW}; every TODO- value must be",
        "# filled in by the people accountable before a version is used. The bars are the product's own",
        "# (support-ticket triage): a bar this export does not meet yet is drafted at `severity: warn`.",
        f"type: {COMPONENT_TYPE}",
        "",
        "# Checked when the definitions load: the pseudonymisation key (`trainset keygen`).",
        "requirements:",
        f"  env: [{spec.privacy.key_env}]",
        "",
        "attributes:",
        f"  name: {spec.name}",
        f"  description: {scalar(spec.description)}  # TODO: must be filled in: the user outcome and its target metric",
        f"  owner: {spec.owner}  # TODO: must be filled in: the team accountable for the dataset",
        f"  steward: {spec.steward}  # TODO: must be filled in: the team that reviews failed gates and waivers",
        *_access_lines(spec.classification, spec.access.raw, spec.access.releases, spec.escalation, "  "),
        "",
        "  sources:",
        f"    - name: {source.name}",
        "      # The export itself. Later exports: put them beside it and make this their folder or a glob",
        f"      # (e.g. exports/{source.name}-*.{source.format}); each lands once, by content, {placed}.",
        f"      path: {scalar(source.path)}",
        f"      format: {source.format}",
        f"      owner: {source.owner}  # TODO: must be filled in: the team accountable for the source system",
        f"      steward: {source.steward}  # TODO: must be filled in: who answers questions about this data",
        f"      legal_basis: {source.legal_basis}  # TODO: must be filled in, e.g. legitimate_interest, consent",
        f"      licence: {source.licence}  # TODO: must be filled in, e.g. internal-use-only",
        *_access_lines(source.classification, None, None, source.escalation, "      "),
        f'      start_date: "{source.start_date.isoformat()}"  # {first_day}',
        "",
        "  columns:",
        _id_line(c.id, guessed),
        _optional("user", c.user, guessed, "no column repeats like a person id: no consent or erasure by user"),
        _optional("timestamp", c.timestamp, guessed, "no column parses as dates: no freshness or recency bar"),
        "    text:",
        *(f"      - {scalar(name)}  # guessed: {guessed[name]} {REVIEW}" for name in c.text),
    ]
    if c.language:
        lines.append(f"    language: {scalar(c.language)}  # guessed: {guessed[c.language]} {REVIEW}")
    else:
        lines.append("    # language: none guessed; the language is detected from the text")
    if c.segments:
        lines += ["    segments:", *(f"      - {scalar(s)}  # guessed: {guessed[s]} {REVIEW}" for s in c.segments)]
    dropped = [col for col in profile.columns if col.role == "drop"]
    if dropped:
        lines.append("    # dropped before storage (minimisation): no role names them")
        lines += [f"    #   {col.name}: {col.reason}" for col in dropped]
    found = {k: n for col in profile.columns if col.role == "text" for k, n in col.pii.items()}
    found_text = ", ".join(f"{k} in {n} values" for k, n in found.items()) or "none found"
    lines += [
        "",
        "  privacy:",
        f"    # PII found in the text columns: {found_text}. Every kind is redacted, found or not.",
        f"    redact: {flow(list(spec.privacy.redact))}",
        f"    key_env: {spec.privacy.key_env}",
        "    # keep_raw: true  # keep the text as written in the raw zone (owner-only) to redact it again later",
        "    # group: GROUP     # a Unix group owning the dataset's files (the user must be a member)",
        "    retention:",
        "      default: P12M  # the seed's default",
        "      # sensitive: {categories: [...], keep: P3M}  # the seed's 3 months, for sensitive classes",
        "",
        "  labels:",
        f"    column: {scalar(spec.labels.column)}  # guessed: {guessed[spec.labels.column]} {REVIEW}",
        f"    # every value of the export: {', '.join(f'{k} {n}' for k, n in profile.classes.items())}",
        f"    classes: {flow(spec.labels.classes)}  # guessed: every value found {REVIEW}",
        "    # annotations: none: label agreement (Cohen's kappa >= 0.8) is not drafted until items are labelled twice",
        "",
        f"  languages: {flow(spec.languages)}  # guessed: detected in the text as a run will {REVIEW}",
    ]
    if c.timestamp:
        lines += ["", "  freshness:  # the seed's: examples from the last 6 months, the newest at most 30 days old"]
        lines += ["    window: P6M", "    max_staleness: P30D"]
    lines += ["", "  gates:"]
    results = {r.name: r for r in draft.measured}
    for name, params in spec.gates.declared():
        comment = _measured(results.get(name), name in draft.lowered)
        values = params.model_dump()
        values["severity"] = values.pop("severity")  # last, as the demo's spec writes it
        lines.append(f"    {name}: {_params(values)}  {comment}".rstrip())
    for name, why in draft.omitted.items():
        lines.append(f"    # {name}: not drafted: {why}")
    return "\n".join(line for line in lines if line is not None) + "\n"


def _id_line(column: str | None, guessed: dict[str, str]) -> str:
    if column is None:
        return (
            f"    # No id column: each record's `{DERIVED_ID}` is derived from the export (its sha256) and the\n"
            "    # record's place in it, so overlapping exports cannot be deduplicated.\n"
            f"    id: null  # guessed: no column is unique, never blank and code-shaped {REVIEW}"
        )
    return f"    id: {scalar(column)}  # guessed: {guessed[column]} {REVIEW}"


def _optional(role: str, column: str | None, guessed: dict[str, str], absent: str) -> str:
    if column is None:
        return f"    {role}: null  # guessed: {absent} {REVIEW}"
    return f"    {role}: {scalar(column)}  # guessed: {guessed[column]} {REVIEW}"


def render_suite(draft: Draft, profile: ExportProfile) -> str:
    """The drafted GX 1.x suite (`expectations/<name>.json`, a str ending in a newline): id not null
    and unique, labels among the classes, segments among the values found; an expectation the
    export would fail as drafted (a class or language absent from the training set) is left out."""
    spec, c = draft.spec, draft.spec.columns
    expectations: list[dict[str, Any]] = [
        _expect("expect_column_values_to_not_be_null", spec.id_column, {}, "every example has an id"),
        _expect("expect_column_values_to_be_unique", spec.id_column, {}, "ids identify examples"),
        _expect(
            "expect_column_values_to_be_in_set",
            spec.labels.column,
            {"value_set": {"$PARAMETER": "classes"}},
            "only declared classes",
        ),
    ]
    if set(spec.labels.classes) <= set(draft.labels_present):
        expectations.append(
            _expect(
                "expect_column_distinct_values_to_contain_set",
                spec.labels.column,
                {"value_set": {"$PARAMETER": "classes"}},
                "every class present",
            )
        )
    if set(spec.languages) <= set(draft.languages_present):
        expectations.append(
            _expect(
                "expect_column_distinct_values_to_contain_set",
                spec.language_column,
                {"value_set": {"$PARAMETER": "languages"}},
                "every declared language present",
            )
        )
    for segment in c.segments:
        column = profile.column(segment)
        values = sorted(column.values)
        if values and column.blank_share == 0:  # a blank segment is allowed: the set would refuse it
            expectations.append(
                _expect(
                    "expect_column_values_to_be_in_set", segment, {"value_set": values}, "values found in the export"
                )
            )
    if c.timestamp and draft.training_rows:
        expectations.append(
            _expect(
                "expect_column_max_to_be_between",
                c.timestamp,
                {"min_value": {"$PARAMETER": "newest_timestamp_min"}},
                "newest example within freshness.max_staleness",
            )
        )
    suite = {
        "name": spec.name,
        "meta": {
            "owner": "TODO-steward",
            "notes": f"Drafted by trainset init from {profile.path}: review. Classes, languages and the freshness "
            f"bar are declared once, in pipelines/defs/{spec.name}/defs.yaml, and arrive as $PARAMETERs.",
        },
        "expectations": expectations,
    }
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def _expect(kind: str, column: str, kwargs: dict[str, Any], why: str) -> dict[str, Any]:
    return {"type": kind, "kwargs": {"column": column, **kwargs}, "meta": {"why": why}}


def _access_lines(
    classification: str, raw: list[str] | None, releases: list[str] | None, escalation: EscalationSpec, indent: str
) -> list[str]:
    """The classification, access and escalation keys as `init` drafts them: placeholders to fill."""
    lines = [f"{indent}classification: {classification}  # guessed: the export holds personal data {REVIEW}"]
    if raw is not None and releases is not None:
        lines += [
            f"{indent}access:  # TODO: must be filled in: named groups, never people",
            f"{indent}  raw: {flow(raw)}  # who may read the zones holding the data as written",
            f"{indent}  releases: {flow(releases)}  # who may pull released versions",
        ]
    lines += [
        f"{indent}escalation:  # TODO: must be filled in: a team, channel or address each",
        f"{indent}  gate_failure: {escalation.gate_failure}  # told when a gate blocks a release",
        f"{indent}  pii_found: {escalation.pii_found}  # told when PII is found where it must not be",
        f"{indent}  deletion_request: {escalation.deletion_request}  # handles erasure requests and delete lists",
    ]
    return lines
