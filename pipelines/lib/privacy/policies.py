"""The privacy and data policies between raw and the training set, as pure frame functions.

Each takes a frame and an `Accounting`, returns the rows it keeps, and counts what it removed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.accounting import Accounting
from pipelines.lib.durations import cutoff
from pipelines.lib.files import read_csv_table
from pipelines.lib.membership import is_in
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.privacy.redaction import redact
from pipelines.lib.spec import DatasetSpec


def minimise_and_redact(
    raw: pd.DataFrame, spec: DatasetSpec, key: bytes, redacted: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep only the spec's columns, redact PII in text, pseudonymise ids. Rows `redacted` marks
    had their text redacted on the way in under the spec's rules (`minimise_on_ingest`): left as
    they are.

    Returns the redacted frame and, aligned with it, how many values of each PII type were
    replaced in each row (counts, never values).
    """
    frame = raw[spec.stored_columns].copy()
    if redacted is None or not redacted.any():
        frame, replaced = redact_text(frame, spec)
    else:
        todo = ~redacted.to_numpy()
        replaced = pd.DataFrame(0, index=frame.index, columns=list(spec.privacy.redact), dtype="int64")
        if todo.any():
            part, counts = redact_text(frame.loc[todo].copy(), spec)
            frame.loc[todo, spec.columns.text] = part[spec.columns.text]
            replaced.loc[todo] = counts
    for column in spec.pseudonymized_columns:
        frame[column] = pseudonymize(frame[column], key)
    return frame, replaced


def minimise_on_ingest(rows: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Typed rows as the raw zone stores them by default: only the spec's columns (ids kept as
    written, for erasure and deletions), text redacted. Returns them, the values replaced per row
    and PII type (counts only), and the columns left out (`partition` kept, when present)."""
    keep = [*spec.kept_columns, *(["partition"] if "partition" in rows.columns else [])]
    frame, replaced = redact_text(rows[keep].copy(), spec)
    return frame, replaced, dropped_columns(list(rows.columns), spec)


def redact_text(frame: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame with PII in its text columns replaced (`privacy.redact`, the dataset's phone
    regions), in place, and how many values of each type were replaced in each row."""
    replaced = pd.DataFrame(0, index=frame.index, columns=list(spec.privacy.redact), dtype="int64")
    for column in spec.columns.text:
        result = redact(
            pa.array(frame[column].fillna(""), type=pa.large_string()), spec.privacy.redact, regions=spec.phone_regions
        )
        frame[column] = result.text.to_pandas().set_axis(frame.index)
        for pii_type, counts in result.counts.items():
            replaced[pii_type] += counts
    return frame, replaced


def dropped_columns(raw_columns: list[str], spec: DatasetSpec) -> list[str]:
    """Columns minimisation removes: everything the spec does not name."""
    return [name for name in raw_columns if name not in spec.stored_columns and name != "partition"]


def load_opt_outs(path: Path, user_column: str) -> pd.Series:
    """The raw user ids (text, as written) of the consent opt-out table, whose columns are
    `user_column` and `opted_out_at`; raises ValueError naming a missing column."""
    table = read_csv_table(path, "opt-out table", dtype="str", keep_default_na=False)
    missing = sorted({user_column, "opted_out_at"} - set(table.columns))
    if missing:
        raise ValueError(f"opt-out table {path}: missing column(s) {missing}; expected {user_column}, opted_out_at")
    return table[user_column]


def apply_consent(
    frame: pd.DataFrame, opted_out_pseudonyms: pd.Series, spec: DatasetSpec, accounting: Accounting
) -> pd.DataFrame:
    """Exclude every row of a user who opted out (any time: opting out covers past data too).
    Raises ValueError for a spec with no user column (the spec refuses consent without one)."""
    if spec.columns.user is None:
        raise ValueError(f"dataset {spec.name!r}: consent needs columns.user")
    drop = is_in(frame[spec.columns.user], opted_out_pseudonyms)
    return accounting.remove(frame, drop, "consent_opt_out")


def apply_erasure(
    frame: pd.DataFrame, erased: dict[str, str], spec: DatasetSpec, accounting: Accounting
) -> pd.DataFrame:
    """Exclude every row of a user who asked to be erased (`erased` keys are pseudonyms); with no
    user column nothing can be matched (`DatasetSpec.limits` says so)."""
    if spec.columns.user is None:
        return frame
    drop = is_in(frame[spec.columns.user], list(erased))
    return accounting.remove(frame, drop, "erasure_request")


def apply_retention(frame: pd.DataFrame, spec: DatasetSpec, as_of: date, accounting: Accounting) -> pd.DataFrame:
    """Exclude rows older than the retention period (shorter for sensitive categories). With no
    timestamp column the rows are kept: retention on storage counts from the day each export
    landed (`retention.expire_stored`)."""
    retention = spec.privacy.retention
    if spec.columns.timestamp is None:
        return frame
    ts = frame[spec.columns.timestamp]
    frame = accounting.remove(frame, ts < pd.Timestamp(cutoff(as_of, retention.default)), "retention_expired")
    if retention.sensitive:
        ts = frame[spec.columns.timestamp]
        sensitive = frame[spec.labels.column].isin(retention.sensitive.categories)
        expired = sensitive & (ts < pd.Timestamp(cutoff(as_of, retention.sensitive.keep)))
        frame = accounting.remove(frame, expired, "retention_expired_sensitive")
    return frame


def apply_freshness(frame: pd.DataFrame, spec: DatasetSpec, as_of: date, accounting: Accounting) -> pd.DataFrame:
    """Keep only examples inside the freshness window; all of them with no timestamp column."""
    if spec.columns.timestamp is None:
        return frame
    too_old = frame[spec.columns.timestamp] < pd.Timestamp(cutoff(as_of, spec.freshness.window))
    return accounting.remove(frame, too_old, "outside_freshness_window")
