"""Reading one day of a landed source into typed rows, with every unusable row quarantined.

A problem with the source as a whole (missing file, missing column) raises `SourceError` naming
the source, the file and what was expected. A problem with a single row never raises: the row
goes to quarantine with a reason code and its location, and no text (text may hold PII; the
landed file is never modified, so the location is enough to find it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.lib.files import read_table
from pipelines.lib.hashing import file_sha256
from pipelines.lib.spec import DatasetSpec, SourceSpec

QUARANTINE_COLUMNS = ["source", "file", "row", "ticket_id", "reason"]


class SourceError(RuntimeError):
    """A landed source cannot be read as declared."""


@dataclass(frozen=True)
class LandedDays:
    """Typed rows of several landed days, the rows set aside, and each file's fingerprint.

    `rows` and `quarantine` carry a `partition` column; `files` maps partition -> (path, sha256,
    rows read).
    """

    rows: pd.DataFrame
    quarantine: pd.DataFrame
    files: dict[str, tuple[str, str, int]]


def landing_file(root: Path, source: SourceSpec, partition: str) -> Path:
    """The file a source is expected to land for one day."""
    return root / source.path / f"{partition}.{source.format}"


def read_days(root: Path, spec: DatasetSpec, source: SourceSpec, partitions: list[str]) -> LandedDays:
    """Read and validate days of `source` in one batch; raises SourceError only for source-level
    problems. Row checks run once over all days, so duplicates across days are caught too."""
    frames, files = [], {}
    for partition in partitions:
        path = landing_file(root, source, partition)
        relative = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        frame = _read_day(path, relative, spec, source, partition)
        frame["partition"] = partition
        frame["row"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
        files[partition] = (relative, file_sha256(path), len(frame))
    if not frames:
        raise ValueError(f"source {source.name!r}: no partitions to read")
    frame = pd.concat(frames, ignore_index=True)
    reasons = _row_reasons(frame, spec)
    bad = reasons.notna()
    quarantine = pd.DataFrame(
        {
            "source": source.name,
            "file": frame.loc[bad, "partition"].map({p: f[0] for p, f in files.items()}).astype("str"),
            "row": frame.loc[bad, "row"].astype("int64"),
            "ticket_id": frame.loc[bad, spec.columns.id].astype("str"),
            "reason": reasons[bad].astype("str"),
            "partition": frame.loc[bad, "partition"],
        }
    ).reset_index(drop=True)
    rows = frame.loc[~bad].drop(columns="row").reset_index(drop=True)
    rows[spec.columns.timestamp] = _parse_timestamps(rows[spec.columns.timestamp])
    return LandedDays(rows=rows, quarantine=quarantine, files=files)


def _read_day(path: Path, relative: str, spec: DatasetSpec, source: SourceSpec, partition: str) -> pd.DataFrame:
    if not path.is_file():
        raise SourceError(
            f"source {source.name!r}, partition {partition}: expected file {relative} "
            f"({source.format}, one file per day) but it does not exist. Land the day's export "
            "there, or materialize only the partitions that have landed."
        )
    table = _read_table(path, source, relative)
    required = [spec.columns.id, spec.columns.user, spec.columns.timestamp, spec.labels.column]
    required += spec.columns.text + spec.columns.attributes
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise SourceError(
            f"source {source.name!r}, file {relative}: missing column(s) {missing}; found "
            f"{table.column_names}. The spec's `columns:` and `labels.column` name what is expected."
        )
    frame = table.to_pandas()
    for name in frame.columns:
        frame[name] = frame[name].astype("str")
    return frame


def _read_table(path: Path, source: SourceSpec, relative: str) -> pa.Table:
    try:
        return read_table(path, source.format)
    except (pa.ArrowInvalid, OSError) as error:
        raise SourceError(
            f"source {source.name!r}, file {relative}: cannot be read as {source.format}: {error}"
        ) from None


def _parse_timestamps(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601").astype("datetime64[us, UTC]")


def _row_reasons(frame: pd.DataFrame, spec: DatasetSpec) -> pd.Series:
    """The first reason each row cannot be used, or NA. Checked in order; vectorised."""
    c = spec.columns
    reasons = pd.Series(pd.NA, index=frame.index, dtype="str")

    def mark(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    blank = {
        name: frame[name].fillna("").str.strip() == ""
        for name in [c.id, c.user, c.timestamp, spec.labels.column, *c.text]
    }
    mark(blank[c.id] | blank[c.user] | blank[c.timestamp] | blank[spec.labels.column], "missing_required_field")
    parsed = _parse_timestamps(frame[c.timestamp])
    mark(parsed.isna(), "unparseable_timestamp")
    end_of_day = pd.to_datetime(frame["partition"], utc=True) + pd.Timedelta(days=1)
    mark(parsed >= end_of_day, "future_timestamp")
    mark(~frame[spec.labels.column].isin(spec.labels.classes), "unknown_label")
    all_text_blank = np.logical_and.reduce([blank[t].to_numpy() for t in c.text])
    mark(pd.Series(all_text_blank, index=frame.index), "empty_text")
    mark(frame[c.id].duplicated(keep="first"), "duplicate_id")
    return reasons
