"""Sections 5 and 6 of a partner assessment: sample rows already in our data or repeated within the
sample, and how recent the sample is; and which sample rows would reach the training set.

Texts are compared by the duplicate key of `quality.splits` (lower-cased, whitespace collapsed)
of the redacted text, and near-duplicates with numbers and punctuation folded as
`max_near_duplicate_share` folds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipelines.lib.durations import cutoff
from pipelines.lib.partners.assessment_model import Finding, Freshness, Overlap
from pipelines.lib.partners.sample import PartnerSample
from pipelines.lib.quality.splits import fold_numbers, normalised_text
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths


@dataclass(frozen=True)
class OurTexts:
    """Our data's distinct duplicate keys, as 64-bit hashes (a year of tickets fits in memory as
    numbers; as text it might not), exact and with numbers and punctuation folded."""

    exact: np.ndarray
    near: np.ndarray
    zones: list[str]

    def holds(self, keys: pd.Series) -> pd.Series:
        """Whether each key is one of ours."""
        return pd.Series(np.isin(hashed(keys), self.exact), index=keys.index)

    def nearly_holds(self, keys: pd.Series) -> pd.Series:
        """Whether each key, folded, is one of ours folded."""
        return pd.Series(np.isin(hashed(fold_numbers(keys)), self.near), index=keys.index)


def hashed(keys: pd.Series) -> np.ndarray:
    """A 64-bit hash of each key (pandas' own, unseeded: the same key, the same number)."""
    return pd.util.hash_pandas_object(keys, index=False).to_numpy()


def our_texts(paths: DatasetPaths, spec: DatasetSpec, source: str) -> OurTexts:
    """The duplicate keys of our data: every day of the redacted zone, and eligible, without the
    rows of the assessed `source` itself (a delivery already landed is not its own duplicate).
    Read a day at a time, only the text and source columns."""
    exact, near, zones = [], [], []
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    if files:
        zones.append("redacted")
    if paths.eligible.is_file():
        zones.append("eligible")
        files.append(paths.eligible)
    for path in files:
        frame = pd.read_parquet(
            path, columns=[*spec.columns.text, SOURCE_COLUMN], filters=[(SOURCE_COLUMN, "!=", source)]
        )
        keys = normalised_text(frame, spec.columns.text)
        keys = keys[keys != ""]
        exact.append(np.unique(hashed(keys)))
        near.append(np.unique(hashed(fold_numbers(keys))))
    empty = np.array([], dtype="uint64")
    return OurTexts(
        exact=np.unique(np.concatenate(exact)) if exact else empty,
        near=np.unique(np.concatenate(near)) if near else empty,
        zones=zones,
    )


def ids_of_other_sources(paths: DatasetPaths, spec: DatasetSpec, source: str) -> pd.Series:
    """The record ids the dataset's other sources hold in their raw zones (text, as stored)."""
    found = [
        pd.read_parquet(path, columns=[spec.id_column])[spec.id_column]
        for other in spec.sources
        if other.name != source
        for path in sorted(paths.raw(other.name, "-").parent.glob("*.parquet"))
    ]
    return pd.concat(found, ignore_index=True).astype("str") if found else pd.Series([], dtype="str")


def overlap(
    sample: PartnerSample, spec: DatasetSpec, ours: OurTexts, other_ids: pd.Series | None = None
) -> tuple[Overlap, list[Finding]]:
    """How many sample rows repeat a text of ours, or an earlier sample row's; and, with
    `other_ids` (`ids_of_other_sources`), how many take a record id another source holds."""
    key = sample.text_key(spec)
    rows = len(key)
    in_ours = ours.holds(key)
    near = ours.nearly_holds(key)
    repeated = key.duplicated()
    near_repeated = fold_numbers(key).duplicated()
    share = float(in_ours.mean()) if rows else 0.0
    repeat_share = float(repeated.mean()) if rows else 0.0
    findings = []
    if in_ours.any():
        findings.append(
            Finding(
                section="overlap",
                level="note",
                text=f"{int(in_ours.sum())} of {rows} sample rows ({share:.1%}) repeat a text already in our data",
            )
        )
    if repeated.any():
        findings.append(
            Finding(
                section="overlap",
                level="note",
                text=f"{int(repeated.sum())} of {rows} sample rows ({repeat_share:.1%}) repeat an earlier sample row",
            )
        )
    clashing = 0
    if other_ids is not None and len(other_ids) and spec.id_column in sample.rows.columns:
        prefix = sample.source.id_prefix or ""
        clashing = int((prefix + sample.rows[spec.id_column].astype("str")).isin(other_ids).sum())
    if clashing:
        findings.append(
            Finding(
                section="overlap",
                level="condition",
                text=f"{clashing} of {rows} sample rows take a record id another source of {spec.name} holds: they "
                "would be quarantined as id_of_another_source; declare `id_prefix:` on the source (e.g. "
                f'`id_prefix: "{sample.source.name}:"`)',
            )
        )
    compared = " and ".join(ours.zones) or "no data of ours yet"
    verdict = (
        f"{int(in_ours.sum())} of {rows} rows ({share:.1%}) already in our data ({compared}), "
        f"{int(near.sum())} nearly; {int(repeated.sum())} ({repeat_share:.1%}) repeat within the sample"
    )
    section = Overlap(
        verdict=verdict,
        rows=rows,
        compared_with=ours.zones,
        our_texts=len(ours.exact),
        in_our_data=int(in_ours.sum()),
        in_our_data_share=round(share, 4),
        near_in_our_data=int(near.sum()),
        repeated=int(repeated.sum()),
        repeated_share=round(repeat_share, 4),
        near_repeated=int(near_repeated.sum()),
        ids_of_other_sources=clashing,
    )
    return section, findings


def freshness(sample: PartnerSample, spec: DatasetSpec, as_of: date) -> tuple[Freshness, list[Finding]]:
    """The sample's timestamp range, and the shares inside the freshness window as of `as_of`,
    unparseable, and in the future."""
    rows = len(sample.rows)
    stamps = sample.timestamps
    if stamps is None:
        verdict = "the dataset declares no timestamp column: no freshness window applies"
        empty = Freshness(
            verdict=verdict,
            column=None,
            rows=rows,
            first=None,
            last=None,
            window=None,
            since=None,
            inside=0,
            inside_share=0.0,
            unparseable=0,
            unparseable_share=0.0,
            future=0,
        )
        return empty, [Finding(section="freshness", level="note", text=verdict)]
    window = spec.freshness.window
    since = pd.Timestamp(cutoff(as_of, window))
    future = stamps >= pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)
    inside = (stamps >= since) & ~future
    dated = stamps.dropna()
    share = float(inside.mean()) if rows else 0.0
    unparseable = int(stamps.isna().sum())
    findings = []
    if rows and share < 1:
        findings.append(
            Finding(
                section="freshness",
                level="note",
                text=f"{rows - int(inside.sum())} of {rows} rows ({1 - share:.1%}) are outside the {window} window "
                f"as of {as_of} (older, undated or future): they would not reach the training set",
            )
        )
    verdict = (
        f"{int(inside.sum())} of {rows} rows ({share:.1%}) inside the {window} window as of {as_of}"
        + (f"; dated {dated.min().date()}..{dated.max().date()}" if len(dated) else "; no timestamp parses")
        + (f"; {unparseable} unparseable" if unparseable else "")
    )
    section = Freshness(
        verdict=verdict,
        column=spec.columns.timestamp,
        rows=rows,
        first=dated.min().to_pydatetime() if len(dated) else None,
        last=dated.max().to_pydatetime() if len(dated) else None,
        window=window,
        since=since.to_pydatetime(),
        inside=int(inside.sum()),
        inside_share=round(share, 4),
        unparseable=unparseable,
        unparseable_share=round(unparseable / rows, 4) if rows else 0.0,
        future=int(future.sum()),
    )
    return section, findings


def usable_rows(
    sample: PartnerSample, spec: DatasetSpec, ours: OurTexts, as_of: date
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The sample rows that would reach the training set, and how many were taken out for each
    reason, in order: quarantined (by ingestion's reason), unlabelled, outside the freshness window,
    already in our data, repeating an earlier sample row."""
    frame = sample.rows
    key = sample.text_key(spec)
    keep = pd.Series(True, index=frame.index)
    removed: dict[str, int] = {}

    def take_out(mask: pd.Series, reason: str) -> None:
        hit = keep & mask
        if hit.any():
            removed[reason] = int(hit.sum())
        keep[hit] = False

    for reason, rows in sample.reasons.groupby(sample.reasons, sort=True):
        take_out(frame.index.isin(rows.index), f"quarantined:{reason}")
    take_out(frame[spec.labels.column].fillna("").str.strip() == "", "unlabelled")
    if sample.timestamps is not None:
        take_out(sample.timestamps < pd.Timestamp(cutoff(as_of, spec.freshness.window)), "outside_freshness_window")
    take_out(ours.holds(key), "already_in_our_data")
    repeats = pd.Series(False, index=frame.index)
    repeats[keep] = key[keep].duplicated()  # a copy of a row already taken out is not a repeat
    take_out(repeats, "repeated_in_sample")
    usable = frame.loc[keep].copy()
    if sample.timestamps is not None:
        usable[spec.columns.timestamp] = sample.timestamps[keep]
    return usable, removed
