"""Steps of the ingest assets: raw (typed landed days), redacted, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from pipelines.lib.accounting import Accounting, sum_accounting
from pipelines.lib.files import read_json, write_json, write_parquet
from pipelines.lib.ingest.sources import QUARANTINE_COLUMNS, read_days
from pipelines.lib.privacy.policies import (
    dropped_columns,
    minimise_and_redact,
)
from pipelines.lib.privacy.residue import find_residue
from pipelines.lib.privacy.residue_review import ResidueReview, review_residue
from pipelines.lib.quality import schemas
from pipelines.lib.quality.waivers import load_allowances
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

# -- raw ---------------------------------------------------------------------------------------


def land_raw(paths: DatasetPaths, spec: DatasetSpec, source_name: str, partitions: list[str]) -> dict:
    """Parse landed days of a source into the raw zone (one file per day); unusable rows go to
    quarantine. Returns the batch's accounting and contract, and writes per-day stats."""
    source = next(s for s in spec.sources if s.name == source_name)
    landed = read_days(
        paths.root, spec, source, partitions, known_ids=_ids_landed_before(paths, spec, source_name, partitions)
    )
    rows_by_day: dict = dict(tuple(landed.rows.groupby("partition", sort=False))) if len(landed.rows) else {}
    bad_by_day: dict = dict(tuple(landed.quarantine.groupby("partition", sort=False))) if len(landed.quarantine) else {}
    per_day: list[dict] = []
    for partition in partitions:
        rows = rows_by_day.get(partition, landed.rows.iloc[0:0]).drop(columns="partition")
        bad = bad_by_day.get(partition, landed.quarantine.iloc[0:0]).drop(columns="partition")
        write_parquet(rows, paths.raw(source.name, partition))
        write_parquet(bad, paths.quarantine_part(source.name, partition))
        file, sha256, rows_read = landed.files[partition]
        accounting = Accounting(
            rows_read, {f"quarantined:{r}": int(n) for r, n in bad["reason"].value_counts().items()}
        )
        stats = {
            "partition": partition,
            "file": file,
            "sha256": sha256,
            "accounting": accounting.close(len(rows)).as_dict(),
        }
        write_json(stats, paths.stats(f"raw_{source.name}", partition))
        per_day.append(stats)
    contract = schemas.validate(schemas.raw_schema(spec), landed.rows.drop(columns="partition", errors="ignore"))
    return {"accounting": sum_accounting([s["accounting"] for s in per_day]), "contract": contract.__dict__}


def _ids_landed_before(paths: DatasetPaths, spec: DatasetSpec, source_name: str, partitions: list[str]) -> pd.Series:
    """Ids already in the raw zone outside this batch: a second copy of one is a duplicate. The
    copy landed first is kept; a batch of days in one run keeps the earliest day's copy."""
    batch = {paths.raw(source_name, p) for p in partitions}
    files = [f for s in spec.sources for f in sorted(paths.raw(s.name, "x").parent.glob("*.parquet")) if f not in batch]
    ids = [pd.read_parquet(f, columns=[spec.columns.id])[spec.columns.id] for f in files]
    return pd.concat(ids, ignore_index=True) if ids else pd.Series([], dtype="str")


def redact_partitions(paths: DatasetPaths, spec: DatasetSpec, partitions: list[str], key: bytes) -> dict:
    """Minimise, redact and pseudonymise days of every source into the redacted zone (one file
    per day), in one vectorised batch. Returns the batch's accounting, contract and PII-residue
    review (`pii_residue`: a `ResidueReview`)."""
    parts, day_rows = [], []
    for partition in partitions:
        day = [pd.read_parquet(paths.raw(source.name, partition)) for source in spec.sources]
        parts += day
        day_rows.append(sum(map(len, day)))
    raw = pd.concat(parts, ignore_index=True)
    frame, replaced = minimise_and_redact(raw, spec, key)
    dropped = dropped_columns(list(raw.columns), spec)
    # The batch is the days in order: each day is one slice of it (no pass over the batch per day).
    ends = np.cumsum(day_rows, dtype=int)
    for partition, start, end in zip(partitions, ends - day_rows, ends, strict=True):
        part = frame.iloc[start:end]
        write_parquet(part, paths.redacted(partition))
        stats = {
            "partition": partition,
            "accounting": Accounting(len(part)).close(len(part)).as_dict(),
            "replaced": {t: int(n) for t, n in replaced.iloc[start:end].sum().items()},
            "dropped_columns": dropped,
        }
        write_json(stats, paths.stats("redacted", partition))
    return {
        "accounting": Accounting(len(raw)).close(len(frame)).as_dict(),
        "replaced": {t: int(n) for t, n in replaced.sum().items()},
        "dropped_columns": dropped,
        "contract": schemas.validate(schemas.redacted_schema(spec), frame).__dict__,
        "pii_residue": check_residue(paths, spec, frame, f"redacted {_day_range(partitions)}"),
    }


def _day_range(partitions: list[str]) -> str:
    return partitions[0] if len(partitions) == 1 else f"{partitions[0]}..{partitions[-1]}"


def check_residue(paths: DatasetPaths, spec: DatasetSpec, frame: pd.DataFrame, scope: str) -> ResidueReview:
    """Residue findings in the redacted rows, reviewed against the steward's allowances."""
    findings = find_residue(frame, spec.columns.text, dataset=spec.name, id_column=spec.columns.id)
    allowances = load_allowances(paths.root, spec.name)
    return review_residue(
        findings,
        allowances,
        datetime.now(UTC).date(),
        scope=scope,
        rows=len(frame),
        scanned_ids=set(frame[spec.columns.id].astype("str")) if allowances else set(),
        stored_ids=lambda: stored_row_ids(paths, spec),
    )


def stored_row_ids(paths: DatasetPaths, spec: DatasetSpec) -> set[str]:
    """Ids of every row in the redacted zone (every stored day)."""
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    return {str(v) for f in files for v in pd.read_parquet(f, columns=[spec.columns.id])[spec.columns.id]}


# -- quarantine --------------------------------------------------------------------------------


def collect_quarantine(paths: DatasetPaths, spec: DatasetSpec) -> dict:
    """Gather every quarantined row of every source and day into one table (locations, no text)."""
    parts = sorted((paths.warehouse / "quarantine").glob("*/*.parquet"))
    frames = [pd.read_parquet(p) for p in parts]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    write_parquet(frame, paths.quarantine)
    stats = {"rows": len(frame), "by_reason": frame["reason"].value_counts().to_dict() if len(frame) else {}}
    write_json(stats, paths.stats("quarantine"))
    return stats


def partition_stats(paths: DatasetPaths, asset: str) -> list[dict]:
    """Per-partition stats of one asset, in partition order."""
    return [read_json(p) for p in sorted((paths.warehouse / "stats").glob(f"{asset}.*.json"))]
