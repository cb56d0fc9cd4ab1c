"""Profiling one export nobody has declared yet: what each column holds, which role it likely
plays, which PII it carries, which languages the text is in and how the classes are spread.

The profile never holds a value of a text, id or dropped column (they may be PII): only counts,
shares and lengths. Values are kept only for the categories of the label, segment and language
columns, which a spec declares by value anyway. Everything is computed per column over whole
arrays (pandas, Arrow, RE2 through `redact`); no Python loop runs per row.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from lingua import Language
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.ingest.language import detect_languages
from pipelines.lib.ingest.records import COMPRESSED_SUFFIXES, POSITION, UnreadableFile, read_records
from pipelines.lib.ingest.roles import Guess, Shape, guess_roles
from pipelines.lib.ingest.timestamps import UTC_DTYPE, parse_timestamps
from pipelines.lib.privacy.redaction import PII_TYPES, redact
from pipelines.lib.quality.splits import joined_text

ColumnKind = Literal["empty", "integer", "number", "boolean", "timestamp", "categorical", "text"]
#: export formats by file suffix
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: languages the text is detected among when nothing is declared yet: wide, so that an undeclared
#: language is not read as a declared one
WIDE_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "pl", "sv", "da", "nb", "fi", "cs", "tr", "ru", "ja", "zh")
#: most texts whose language the profile detects (a seeded sample beyond it: the shares hold)
LANGUAGE_SAMPLE = 20_000
_ISO_639_1 = sorted(language.iso_code_639_1.name.lower() for language in Language.all())
#: roles whose values the profile may show: categories a spec names by value
SHOWN_ROLES = ("label", "segment", "language")


class ExportError(ValueError):
    """The export cannot be profiled; the message names the file, what is wrong and what to do."""


class ColumnProfile(BaseModel):
    """One column: its shape (shares of all records, lengths in characters), guessed role, PII."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: ColumnKind = Field(description="Inferred type of the non-blank values.")
    blank_share: float = Field(description="Share of records (0..1) where the column is null or blank.")
    distinct: int = Field(description="Distinct non-blank values.")
    min_chars: int
    median_chars: float
    max_chars: int
    median_words: float
    role: str = Field(description="id, user, timestamp, label, text, language, segment or drop.")
    reason: str = Field(description="Why the role was guessed, in words.")
    pii: dict[str, int] = Field(description="PII kind -> values holding at least one (as `redact` finds them).")
    privacy: str = Field(description="What is proposed: drop, redact as text, pseudonymise as the user id, keep.")
    values: dict[str, int] = Field(default_factory=dict, description="Counts per value: label/segment/language only.")


class ExportProfile(BaseModel):
    """What `profile_export` found in one export."""

    model_config = ConfigDict(frozen=True)

    path: str
    format: str
    records: int = Field(description="Records read (blank and malformed ones not counted).")
    blank_records: int = Field(description="Records with every field blank (e.g. trailing empty rows).")
    malformed: dict[str, int] = Field(description="Records that could not be parsed, by reason.")
    columns: list[ColumnProfile]
    languages: dict[str, int] = Field(description="Detected language of the text -> texts, most first.")
    language_sample: int = Field(description="Texts whose language was detected (all, or a seeded sample).")
    classes: dict[str, int] = Field(description="Label value -> records, most first; {} without a label.")
    first_timestamp: datetime | None = Field(
        default=None, description="Earliest timestamp (UTC) as a run parses it, of those not in the future."
    )
    last_timestamp: datetime | None = Field(default=None, description="Newest such timestamp (UTC).")
    undated: int = Field(
        default=0,
        description="Records of the timestamp column with no usable timestamp (blank, unparseable, in the "
        "future): a run files them on the day their export lands.",
    )

    def role(self, role: str) -> list[str]:
        """Names of the columns guessed to play `role`, in the export's order."""
        return [c.name for c in self.columns if c.role == role]

    def one(self, role: str) -> str | None:
        """The column guessed to play a single-column role, or None."""
        found = self.role(role)
        return found[0] if found else None

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column by name; KeyError if the export has none."""
        return next(c for c in self.columns if c.name == name)


def export_format(path: Path) -> str:
    """csv, jsonl or parquet, from the file's suffix (before a compression's: `.csv.gz` is csv);
    ExportError for another suffix."""
    named = Path(path.stem) if path.suffix.lower() in COMPRESSED_SUFFIXES else path
    kind = FORMATS.get(named.suffix.lower())
    if kind is None:
        raise ExportError(
            f"{path}: not a .csv, .jsonl or .parquet file (compressed or not: .gz, .bz2, .xz); export the tickets in "
            "one of those formats"
        )
    return kind


def read_export(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Every record of an export as text columns (the tolerant reader the pipeline uses: encoding
    detected, delimiter sniffed), its malformed records (`row`, `line`, `reason`) and how many
    all-empty records it skipped. Raises ExportError for a file that cannot be read as a whole
    (missing, empty, no header, not its format)."""
    kind = export_format(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file; name the export to profile with --from")
    if path.stat().st_size == 0:
        raise ExportError(f"{path}: the file is empty (0 bytes); export it again")
    try:
        records = read_records(path, kind, id_column="")
    except (UnreadableFile, pa.ArrowException, OSError, UnicodeDecodeError) as error:
        # Arrow repeats the path the message starts with already.
        cause = re.sub(r"^Could not open Parquet input source '[^']*': ", "", str(error))
        raise ExportError(f"{path}: cannot be read as {kind}: {cause}; check the export, or export it again") from None
    frame = records.rows.drop(columns=POSITION)
    if frame.columns.empty and not records.malformed.empty:
        # Every record was set aside: say why, by reason and first line, never what it holds.
        first = records.malformed.iloc[0]
        reasons = ", ".join(f"{n} {reason}" for reason, n in records.malformed["reason"].value_counts().items())
        raise ExportError(
            f"{path}: no record could be read ({reasons}; the first on line {first['line']}); expected "
            f"{'one JSON object per line' if kind == 'jsonl' else 'a header line, then one record per line'}"
        )
    if frame.columns.empty:
        raise ExportError(f"{path}: no columns found; expected a header line (CSV) or JSON objects (JSONL)")
    return frame, records.malformed, records.blank


def profile_export(
    frame: pd.DataFrame, malformed: pd.DataFrame, path: str, kind: str, label: str | None = None, blank: int = 0
) -> ExportProfile:
    """Profile records read by `read_export`: per column its shape, PII and guessed role; the
    languages of the text; the classes of the label (`label`, else the guessed one).

    Raises ExportError if `label` names no column of the export."""
    if label is not None and label not in frame.columns:
        raise ExportError(f"{path}: no column {label!r} to take the label from; columns: {list(frame.columns)}")
    # Values as written (a class is matched exactly by the pipeline); blank when only whitespace.
    values = {name: frame[name].astype("str") for name in frame.columns}
    filled = {name: v.notna() & (v.str.strip() != "") for name, v in values.items()}
    blank_rows = ~np.logical_or.reduce([f.to_numpy() for f in filled.values()])
    kept = ~blank_rows
    values = {name: v[kept].where(filled[name][kept]) for name, v in values.items()}
    rows = int(kept.sum())
    shapes, pii = {}, {}
    for name, column in values.items():
        pii[name] = _pii_in(column.dropna())
        shapes[name] = _shape(name, column, rows, pii[name])
    guesses = {g.column: g for g in guess_roles(list(shapes.values()), label)}
    columns = [_column(shapes[name], values[name], guesses[name], pii[name]) for name in values]
    text = [c.name for c in columns if c.role == "text"]
    languages, sampled = _languages(pd.DataFrame(values), text)
    label_column = next((c for c in columns if c.role == "label"), None)
    timestamp = next((c.name for c in columns if c.role == "timestamp"), None)
    stamps = pd.Series([], dtype=UTC_DTYPE)
    if timestamp:
        # Parsed as a run parses them (the drafted source's timezone is UTC); a timestamp later than
        # now is filed on the landing day by a run, as an unusable one is.
        parsed = parse_timestamps(values[timestamp])
        stamps = parsed[parsed <= pd.Timestamp.now(tz="UTC")]
    return ExportProfile(
        path=path,
        format=kind,
        records=rows,
        blank_records=blank + int(blank_rows.sum()),
        malformed={str(k): int(n) for k, n in malformed["reason"].value_counts().items()},
        columns=columns,
        languages=languages,
        language_sample=sampled,
        classes=dict(label_column.values) if label_column else {},
        first_timestamp=stamps.min().to_pydatetime() if len(stamps) else None,
        last_timestamp=stamps.max().to_pydatetime() if len(stamps) else None,
        undated=rows - len(stamps) if timestamp else 0,
    )


def _timestamps(values: pd.Series) -> pd.Series:
    """UTC instants of values that start with a date (YYYY-MM-DD) and parse as ISO-8601, else NaT."""
    dated = values.where(values.str.match(r"\d{4}-\d{2}-\d{2}", na=False))
    return pd.to_datetime(dated, utc=True, errors="coerce", format="ISO8601")


def _pii_in(values: pd.Series) -> dict[str, int]:
    """PII kind -> how many values hold at least one, as the pipeline's redaction finds them (its
    default phone regions: the languages are not known yet)."""
    if values.empty:
        return {}
    counts = redact(pa.array(values, type=pa.large_string()), PII_TYPES).counts
    return {kind: int((n > 0).sum()) for kind, n in counts.items() if (n > 0).any()}


def _shape(name: str, values: pd.Series, rows: int, pii: dict[str, int]) -> Shape:
    present = values.dropna()
    chars = present.str.len()
    with_pii = max(pii.values(), default=0)
    count = len(present)
    return Shape(
        name=name,
        filled=count,
        blank_share=round(1 - count / rows, 4) if rows else 1.0,
        distinct=int(present.nunique()),
        max_chars=int(chars.max()) if count else 0,
        median_chars=float(chars.median()) if count else 0.0,
        median_words=float(present.str.count(r"\S+").median()) if count else 0.0,
        spaced_share=float(present.str.contains(r"\s").mean()) if count else 0.0,
        date_share=float(_timestamps(present).notna().mean()) if count else 0.0,
        iso_language_share=float(present.isin(_ISO_639_1).mean()) if count else 0.0,
        pii_share=with_pii / count if count else 0.0,
        pii_kinds=tuple(kind for kind, n in pii.items() if n * 2 >= count),
    )


def _kind(shape: Shape, values: pd.Series) -> ColumnKind:
    present = values.dropna()
    if present.empty:
        return "empty"
    if shape.date_share >= 0.9:
        return "timestamp"
    if present.str.lower().isin(["true", "false", "yes", "no"]).all():
        return "boolean"
    if present.str.fullmatch(r"[+-]?\d+").all():
        return "integer"
    if present.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?").all():
        return "number"
    return "categorical" if shape.repeating else "text"


def _column(shape: Shape, values: pd.Series, guess: Guess, pii: dict[str, int]) -> ColumnProfile:
    found = ", ".join(f"{kind} in {n}" for kind, n in pii.items())
    privacy = {
        "drop": "drop the column",
        "user": "pseudonymise it as the user id",
        "text": "redact it as text" + (f" ({found})" if found else ""),
    }.get(guess.role, f"keep; review: {found}" if found else "keep")
    counts = values.value_counts() if guess.role in SHOWN_ROLES and not pii else pd.Series([], dtype="int64")
    return ColumnProfile(
        name=shape.name,
        kind=_kind(shape, values),
        blank_share=shape.blank_share,
        distinct=shape.distinct,
        min_chars=int(values.dropna().str.len().min()) if shape.filled else 0,
        median_chars=shape.median_chars,
        max_chars=shape.max_chars,
        median_words=shape.median_words,
        role=guess.role,
        reason=guess.reason,
        pii=pii,
        privacy=privacy,
        values={str(k): int(n) for k, n in counts.items()},
    )


def _languages(frame: pd.DataFrame, text: list[str]) -> tuple[dict[str, int], int]:
    """Detected languages of the joined text columns (blank texts left out) among
    `WIDE_LANGUAGES`, over at most `LANGUAGE_SAMPLE` texts; and how many texts were read."""
    if not text:
        return {}, 0
    joined = joined_text(frame, text, separator=". ")  # as the training set joins them for detection
    joined = joined[joined.str.strip(". ") != ""]
    if len(joined) > LANGUAGE_SAMPLE:
        joined = joined.sample(LANGUAGE_SAMPLE, random_state=13)
    detected = detect_languages(joined, list(WIDE_LANGUAGES)).dropna()
    return {str(k): int(n) for k, n in detected.value_counts().items()}, len(joined)
