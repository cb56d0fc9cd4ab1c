"""A partner's sample read exactly as ingestion would read one of its exports: the tolerant record
reader, the source's `rename` and `label_map`, its timestamps in its time zone, each row's
quarantine reason, and its text redacted with the dataset's policy.

The sample holds unredacted PII: nothing here logs, prints or raises with a value of it. Errors
name the file, what is wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.errors import BAD_DATA, USAGE
from pipelines.lib.ingest.landing import SourceError
from pipelines.lib.ingest.records import POSITION, Records, UnreadableFile, read_records
from pipelines.lib.ingest.sources import mapped_labels, mapped_values, renamed, row_reasons
from pipelines.lib.ingest.timestamps import future_after, parse_timestamps
from pipelines.lib.privacy.policies import redact_text
from pipelines.lib.quality.splits import normalised_text
from pipelines.lib.spec import DERIVED_ID, DatasetSpec, SourceSpec

#: how many records a sample holds by default: the seed's "sample 1k rows"
DEFAULT_ROWS = 1000
#: file suffixes and the format each is read as
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class AssessmentError(ValueError):
    """The assessment cannot be made: the message says what, where, and what to do."""

    def __init__(self, message: str, exit_code: int = USAGE):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, repr=False)
class PartnerSample:
    """The first records of a partner's export, as ingestion reads them.

    `rows`: one row per parsed record, the export's columns renamed to the dataset's (`rename`),
    every declared column present (NA where the export lacks it), labels mapped (`label_map`), the
    text columns redacted, plus `row` and `line`. `their_labels`: each row's label as the partner
    wrote it. `reasons`: each row's quarantine reason, NA when ingestion would keep it.
    `timestamps`: UTC instants (NaT where a value does not parse), None without a timestamp role.
    `malformed`: records that could not be parsed (`row`, `line`, `reason`). `raw`: the parsed
    records' values as written (renamed), for the PII inventory only: never shown."""

    path: Path
    source: SourceSpec
    rows: pd.DataFrame
    their_labels: pd.Series
    unmapped: pd.Series
    reasons: pd.Series
    timestamps: pd.Series | None
    malformed: pd.DataFrame
    blank: int
    file_records: int
    export_columns: list[str]
    #: how many columns the dataset expects in the export (its kept columns, a derived id aside)
    expected_columns: int
    missing_columns: list[str]
    raw: pd.DataFrame

    def __repr__(self) -> str:
        # Its frames hold the sample's values (unredacted PII): a repr, a log or a traceback's
        # locals show the file and the counts only.
        return f"PartnerSample({self.path.name}, {self.records} records of source {self.source.name!r})"

    @property
    def records(self) -> int:
        """Records in the sample: parsed and malformed (blank ones are not records)."""
        return len(self.rows) + len(self.malformed)

    def text_key(self, spec: DatasetSpec) -> pd.Series:
        """Each row's duplicate key (`splits.normalised_text`) of its redacted text, as our data's."""
        return normalised_text(self.rows, spec.columns.text)

    def export_name(self, column: str) -> str:
        """The export's own name of a dataset column (its `rename` key), or the name itself."""
        return self.source.export_name(column)


def partner_source(spec: DatasetSpec, name: str) -> SourceSpec:
    """The `kind: partner` source `name` of the dataset; AssessmentError naming the partner
    sources the dataset declares otherwise."""
    partners = [s.name for s in spec.sources if s.kind == "partner"]
    found = next((s for s in spec.sources if s.name == name), None)
    if found is None or found.kind != "partner":
        what = f"is a `kind: {found.kind}` source" if found else "is not a source"
        raise AssessmentError(
            f"dataset {spec.name!r}: {name!r} {what}; assess-partner takes one of its `kind: partner` sources "
            f"({', '.join(partners) or 'none declared: add one with its terms under sources:'})"
        )
    return found


def read_sample(path: Path, spec: DatasetSpec, source: SourceSpec, rows: int, as_of: date) -> PartnerSample:
    """The first `rows` records of the partner's export at `path`, read as the source's format with
    its encoding, delimiter, rename, label map and time zone; quarantine reasons as of `as_of`.

    Raises AssessmentError: exit code 2 for a missing file, a format other than the source's, or
    `rows` < 1; exit code 1 for a file that cannot be read as its format."""
    if rows < 1:
        raise AssessmentError(f"--rows {rows}: a sample holds at least one record; the default is {DEFAULT_ROWS}")
    if not path.is_file():
        raise AssessmentError(f"{path}: no such file; pass the partner's sample export with --sample")
    declared = source.format
    suffix = SUFFIXES.get(path.suffix.lower())
    if suffix is not None and suffix != declared:
        raise AssessmentError(
            f"{path}: a {suffix} file, but source {source.name!r} declares `format: {declared}`; pass a {declared} "
            f"export of the partner, or correct the source's format"
        )
    records = _read(path, spec, source)
    export_columns = [str(c) for c in records.rows.columns if c not in POSITION]
    records = renamed_or_refused(records, source, path)
    parsed, malformed = _first(records, rows)
    raw = parsed.drop(columns=POSITION)
    frame = parsed.copy()
    expected = [c for c in spec.kept_columns if c != DERIVED_ID or spec.columns.id is not None]
    missing = [c for c in expected if c not in frame.columns]
    if not len(parsed) and not len(malformed):
        raise AssessmentError(
            f"{path}: holds no record (a header line only, or blank records); ask the partner for a sample of its "
            "export with records",
            BAD_DATA,
        )
    for name in missing:  # as a day of an export that lacks them would be read: NA
        frame[name] = pd.Series(pd.NA, index=frame.index, dtype="str")
    for name in [c for c in (spec.columns.id, spec.columns.user) if c is not None and c in missing]:
        # Schema fit says the column is missing; the other sections judge the rows as if the partner
        # added it, rather than find every row without an id or a user.
        frame[name] = "absent-" + frame["row"].astype("str")
    if spec.columns.id is None:  # a derived id: the record's place in the file
        frame[DERIVED_ID] = "sample-" + frame["row"].astype("str")
    label = spec.labels.column
    their_labels = frame[label].astype("str")
    frame, unmapped = mapped_labels(frame, label, source.label_map)
    frame = mapped_values(frame, spec, source)
    stamps = parse_timestamps(frame[spec.columns.timestamp], source.timezone) if spec.columns.timestamp else None
    reasons = row_reasons(frame, spec, stamps, future_after(as_of), None, unmapped)
    frame, _ = redact_text(frame, spec)  # as `redacted` does
    return PartnerSample(
        path=path,
        source=source,
        rows=frame,
        their_labels=their_labels,
        unmapped=unmapped,
        reasons=reasons,
        timestamps=stamps,
        malformed=malformed,
        blank=records.blank,
        file_records=records.count,
        export_columns=export_columns,
        expected_columns=len(expected),
        missing_columns=missing,
        raw=raw,
    )


def _read(path: Path, spec: DatasetSpec, source: SourceSpec) -> Records:
    # The export's own name of the id column, so a malformed record still says whose it was.
    id_name = source.export_name(spec.id_column)
    try:
        return read_records(path, source.format, id_name, encoding=source.encoding, delimiter=source.delimiter)
    except UnreadableFile as error:  # our own words: no record's value in them
        raise AssessmentError(f"{path}: cannot be read as {source.format}: {error}", BAD_DATA) from None
    except (pa.ArrowException, UnicodeDecodeError, LookupError):
        # Arrow's and the codec's own messages may quote the bytes they stopped at: not shown.
        raise AssessmentError(
            f"{path}: cannot be read as {source.format} (with the source's encoding "
            f"{source.encoding or 'detected'} and delimiter {source.delimiter or 'sniffed'}); check it is an "
            f"export in the source's format, or export it again",
            BAD_DATA,
        ) from None
    except OSError as error:
        raise AssessmentError(f"{path}: cannot be read ({error.strerror or 'error'}); check the file", USAGE) from None


def renamed_or_refused(records: Records, source: SourceSpec, path: Path) -> Records:
    """`sources.renamed`, with its SourceError (a column and its rename both present) in our words."""
    try:
        return renamed(records, source, f"sample {path}")
    except SourceError as error:
        raise AssessmentError(str(error), BAD_DATA) from None


def _first(records: Records, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parsed and the malformed records among the first `rows` records of the file (by their
    ordinal `row`; blank records are not records)."""
    ordinals = pd.concat([records.rows["row"], records.malformed["row"]], ignore_index=True)
    last = ordinals.nsmallest(rows).max() if len(ordinals) else 0
    parsed = records.rows[records.rows["row"] <= last].reset_index(drop=True)
    malformed = records.malformed[records.malformed["row"] <= last].reset_index(drop=True)
    return parsed, malformed[["row", "line", "reason"]]
