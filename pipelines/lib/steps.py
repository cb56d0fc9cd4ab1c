"""The work of each asset, as plain functions over a workspace: read inputs, apply the pure
policies, write the output, return the row accounting. No Dagster here; assets stay thin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib import schemas
from pipelines.lib.accounting import Accounting, sum_accounting, sum_counts
from pipelines.lib.durations import cutoff
from pipelines.lib.erasure import (
    ERASURE_LOG,
    erased_pseudonyms,
    purge_objects,
    registry_path,
    versions_to_withdraw,
    withdraw,
)
from pipelines.lib.files import read_json, write_json, write_parquet
from pipelines.lib.gate_html import render_gate_report
from pipelines.lib.gates import GateResult, apply_waivers, evaluate_gates
from pipelines.lib.hashing import combined_sha256
from pipelines.lib.language import detect_languages
from pipelines.lib.policies import (
    apply_consent,
    apply_erasure,
    apply_freshness,
    apply_retention,
    dropped_columns,
    load_opt_outs,
    minimise_and_redact,
)
from pipelines.lib.pseudonymize import key_id, pseudonymize
from pipelines.lib.release import ReleaseOutcome, read_manifest, release, release_lock, versions
from pipelines.lib.release import publish as publish_release
from pipelines.lib.residue import residue_counts
from pipelines.lib.retention import RETENTION_LOG, expire_stored
from pipelines.lib.sources import QUARANTINE_COLUMNS, read_days
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.splits import assign_splits, joined_text
from pipelines.lib.vcs import git_head
from pipelines.lib.waivers import load_waivers
from pipelines.lib.workspace import DatasetPaths

# -- raw ---------------------------------------------------------------------------------------


def land_raw(paths: DatasetPaths, spec: DatasetSpec, source_name: str, partitions: list[str]) -> dict:
    """Parse landed days of a source into the raw zone (one file per day); unusable rows go to
    quarantine. Returns the batch's accounting and contract, and writes per-day stats."""
    source = next(s for s in spec.sources if s.name == source_name)
    landed = read_days(paths.root, spec, source, partitions)
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


def redact_partitions(paths: DatasetPaths, spec: DatasetSpec, partitions: list[str], key: bytes) -> dict:
    """Minimise, redact and pseudonymise days of every source into the redacted zone (one file
    per day), in one vectorised batch. Returns the batch's contract and PII-residue counts."""
    parts = [pd.read_parquet(paths.raw(s.name, p)).assign(partition=p) for p in partitions for s in spec.sources]
    raw = pd.concat(parts, ignore_index=True)
    frame, replaced = minimise_and_redact(raw, spec, key)
    dropped = dropped_columns(list(raw.columns), spec)
    day = raw["partition"].to_numpy()
    for partition in partitions:
        in_day = day == partition
        part = frame.loc[in_day]
        write_parquet(part, paths.redacted(partition))
        stats = {
            "partition": partition,
            "accounting": Accounting(len(part)).close(len(part)).as_dict(),
            "replaced": {t: int(n) for t, n in replaced.loc[in_day].sum().items()},
            "dropped_columns": dropped,
        }
        write_json(stats, paths.stats("redacted", partition))
    return {
        "accounting": Accounting(len(raw)).close(len(frame)).as_dict(),
        "replaced": {t: int(n) for t, n in replaced.sum().items()},
        "dropped_columns": dropped,
        "contract": schemas.validate(schemas.redacted_schema(spec), frame).__dict__,
        "pii_residue": residue_counts(frame, spec.columns.text),
    }


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


# -- eligible ----------------------------------------------------------------------------------


def build_eligible(paths: DatasetPaths, spec: DatasetSpec, as_of: date, key: bytes) -> dict:
    """Enforce retention on storage, then apply retention, erasure and consent to the redacted days."""
    expired = expire_stored(paths.root, spec, as_of)
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    redacted_rows = sum(read_json(paths.stats("redacted", f.stem))["accounting"]["rows_out"] for f in files)
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else _empty(spec)
    # Rows redacted earlier but since deleted from storage by the sensitive-class retention.
    accounting = Accounting(redacted_rows, {"retention_deleted_from_storage": redacted_rows - len(frame)})
    frame = apply_retention(frame, spec, as_of, accounting)
    erased = erased_pseudonyms(paths.root, key)
    frame = apply_erasure(frame, erased, spec, accounting)
    opted_out = 0
    if spec.privacy.consent:
        opt_outs = load_opt_outs(paths.landing(spec.privacy.consent.path))
        opted_out = len(opt_outs)
        frame = apply_consent(frame, pseudonymize(opt_outs["user_id"].astype("str"), key), spec, accounting)
    frame = frame.sort_values([spec.columns.timestamp, spec.columns.id], kind="stable").reset_index(drop=True)
    write_parquet(frame, paths.eligible)
    stats = {
        "as_of": as_of.isoformat(),
        "partitions": len(files),
        "opted_out_users": opted_out,
        "erasure_requests": len(erased),
        "retention_storage": expired,
        "accounting": accounting.close(len(frame)).as_dict(),
        "contract": schemas.validate(schemas.redacted_schema(spec), frame).__dict__,
    }
    write_json(stats, paths.stats("eligible"))
    return stats


def _empty(spec: DatasetSpec) -> pd.DataFrame:
    columns = {name: pd.Series(dtype="str") for name in spec.kept_columns}
    columns[spec.columns.timestamp] = pd.Series(dtype="datetime64[us, UTC]")
    return pd.DataFrame(columns)


# -- training_set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetEvaluation:
    """Everything measured on the training set: stats, contract, expectations and gates."""

    stats: dict
    contract: schemas.ContractResult
    expectations: list  # of pipelines.lib.expectations.ExpectationOutcome
    gates: list[GateResult]


def build_training_set(
    paths: DatasetPaths,
    spec: DatasetSpec,
    as_of: date,
    suite_path: Path,
    today: date | None = None,
    run_id: str | None = None,
) -> TrainingSetEvaluation:
    """Freshness window and stratified split, then every gate measured and written to reports/."""
    eligible = pd.read_parquet(paths.eligible)
    accounting = Accounting(len(eligible))
    frame = apply_freshness(eligible, spec, as_of, accounting).reset_index(drop=True)
    frame["split"] = assign_splits(frame, spec.columns.text, spec.split)
    write_parquet(frame, paths.training_set)

    # GX takes seconds to import: only the step that runs the suite pays for it.
    from pipelines.lib.expectations import load_suite, run_suite

    contract = schemas.validate(schemas.training_set_schema(spec), frame)
    newest_min = pd.Timestamp(cutoff(as_of, spec.freshness.max_staleness))
    expectations = run_suite(
        load_suite(suite_path),
        frame,
        {"classes": spec.labels.classes, "languages": spec.languages, "newest_created_at_min": newest_min},
        docs_root=paths.warehouse,  # GX Data Docs of every run: data/warehouse/<name>/gx/uncommitted/data_docs
    )
    annotations = None
    if spec.labels.annotations:
        annotations = pd.read_csv(paths.landing(spec.labels.annotations.path), dtype="str")
    raw = [s["accounting"] for source in spec.sources for s in _partition_stats(paths, f"raw_{source.name}")]
    landed = sum(a["rows_in"] for a in raw)
    quarantined = sum(n for a in raw for reason, n in a["removed"].items() if reason.startswith("quarantined:"))
    # Coverage counts the language as detected; the claimed label stays in the data.
    text = joined_text(frame, spec.columns.text, separator=". ")
    detected = detect_languages(text, [*spec.languages, *frame["language"].dropna().unique()])
    mismatch = float((detected.notna() & (detected != frame["language"])).mean()) if len(frame) else 0.0
    measured = evaluate_gates(
        frame.assign(language=detected.fillna(frame["language"])),
        spec,
        as_of,
        annotations,
        landed=(landed, quarantined),
        previous=_latest_counts(paths),
        language_mismatch=mismatch,
    )
    gates = apply_waivers(measured, load_waivers(paths.root, spec.name), today or datetime.now(UTC).date())
    counts = (
        frame.groupby([spec.labels.column, "language", "channel", "split"], observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    confusion = pd.crosstab(frame["language"], detected.fillna("undetected")) if len(frame) else pd.DataFrame()
    stats = {
        "as_of": as_of.isoformat(),
        "accounting": accounting.close(len(frame)).as_dict(),
        "counts": counts.to_dict(orient="records"),
        "language": {
            "mismatch_rate": round(mismatch, 4),
            "detected": detected.value_counts().to_dict(),
            "claimed_vs_detected": {f"{a}->{b}": int(n) for (a, b), n in confusion.stack().items() if n and a != b},
        },
    }
    write_json(stats, paths.stats("training_set"))
    evaluation = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "contract": contract.__dict__,
        "expectations": [e.__dict__ for e in expectations],
        "gates": [g.as_dict() for g in gates],
    }
    write_json(evaluation, paths.stats("gates"))
    week = frame[spec.columns.timestamp].dt.tz_localize(None).dt.to_period("W").dt.start_time.dt.strftime("%Y-%m-%d")
    report = render_gate_report(
        spec.name, evaluation, stats["counts"], week.value_counts().to_dict(), spec.labels.column
    )
    paths.reports.mkdir(parents=True, exist_ok=True)
    (paths.reports / "gate_report.html").write_text(report)
    if run_id:  # gate history: one file per run, for `trainset gates --run`
        write_json(evaluation, paths.warehouse / "gate_runs" / f"{run_id}.json")
        (paths.warehouse / "gate_runs" / f"{run_id}.html").write_text(report)
    _write_reports(paths, gates, counts, spec)
    return TrainingSetEvaluation(stats, contract, expectations, gates)


def _latest_counts(paths: DatasetPaths) -> list[dict] | None:
    """Coverage counts of the latest released version, for the share-drop gate."""
    released = versions(paths.releases)
    return read_manifest(paths.releases / f"v{released[-1]}").get("counts") if released else None


def _write_reports(paths: DatasetPaths, gates: list[GateResult], counts: pd.DataFrame, spec: DatasetSpec) -> None:
    """Gate metrics and coverage in the files dvc.yaml names as metrics and plots."""
    metrics = {g.name: g.measured for g in gates if isinstance(g.measured, (int, float))}
    write_json(metrics, paths.reports / "gates.json")
    coverage = counts.groupby([spec.labels.column, "language"], observed=True)["n"].sum().reset_index()
    paths.reports.mkdir(parents=True, exist_ok=True)
    coverage.to_csv(paths.reports / "coverage.csv", index=False)


# -- release -----------------------------------------------------------------------------------


def release_training_set(
    paths: DatasetPaths, spec: DatasetSpec, spec_file: Path, key: bytes, run_id: str, publish: bool = True
) -> ReleaseOutcome:
    """Assemble the manifest from every step's stats and release the training set."""
    frame = pd.read_parquet(paths.training_set)
    training = read_json(paths.stats("training_set"))
    gates = read_json(paths.stats("gates"))
    eligible = read_json(paths.stats("eligible"))
    quarantine = read_json(paths.stats("quarantine"))
    raw_stats = {s.name: _partition_stats(paths, f"raw_{s.name}") for s in spec.sources}
    redacted = _partition_stats(paths, "redacted")
    body = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "as_of": training["as_of"],
        "code_version": git_head(paths.root),
        "dagster_run_id": run_id,
        "spec": {
            "path": str(spec_file.relative_to(paths.root)) if spec_file.is_relative_to(paths.root) else str(spec_file),
            "sha256": spec.fingerprint(),
            "content": spec.model_dump(mode="json"),
        },
        "pseudonymisation_key_id": key_id(key),
        "inputs": [_input_summary(spec, s.name, raw_stats[s.name]) for s in spec.sources],
        "policies": _policies(spec, redacted, eligible),
        "accounting": {
            **{f"raw_{name}": sum_accounting([s["accounting"] for s in stats]) for name, stats in raw_stats.items()},
            "redacted": sum_accounting([s["accounting"] for s in redacted]),
            "eligible": eligible["accounting"],
            "training_set": training["accounting"],
        },
        "quarantine": quarantine,
        "contract": gates["contract"],
        "expectations": gates["expectations"],
        "gates": gates["gates"],
        "counts": training["counts"],
        "language": training.get("language"),
    }
    with release_lock(paths.root, spec.name):
        outcome = release(paths.root, spec.name, frame, body, text_columns=spec.columns.text)
        erased = erased_pseudonyms(paths.root, key)
        withdrawals = versions_to_withdraw(paths.root, spec.name, erased, outcome.version)
        if not publish or not (outcome.created or withdrawals):
            return outcome
        deleted = withdraw(paths.root, spec.name, withdrawals) if withdrawals else []
        extra = [
            str(registry_path(paths.root, spec.name).relative_to(paths.root)),
            str(ERASURE_LOG),
            str(RETENTION_LOG),
        ]
        return publish_release(paths.root, outcome, extra, purge=lambda: purge_objects(paths.root, deleted))


def _partition_stats(paths: DatasetPaths, asset: str) -> list[dict]:
    return [read_json(p) for p in sorted((paths.warehouse / "stats").glob(f"{asset}.*.json"))]


def _input_summary(spec: DatasetSpec, source_name: str, stats: list[dict]) -> dict:
    source = next(s for s in spec.sources if s.name == source_name)
    partitions = [s["partition"] for s in stats]
    return {
        "source": source.name,
        "owner": source.owner,
        "steward": source.steward,
        "legal_basis": source.legal_basis,
        "licence": source.licence,
        "path": source.path,
        "partitions": f"{partitions[0]}..{partitions[-1]} ({len(partitions)} days)" if partitions else "none",
        "sha256": combined_sha256([s["sha256"] for s in stats]),
        "rows": sum(s["accounting"]["rows_in"] for s in stats),
    }


def _policies(spec: DatasetSpec, redacted: list[dict], eligible: dict) -> list[dict]:
    replaced = sum_counts([s["replaced"] for s in redacted])
    dropped = sorted({c for s in redacted for c in s["dropped_columns"]})
    removed = eligible["accounting"]["removed"]
    storage = eligible.get("retention_storage", {})
    retention = spec.privacy.retention
    sensitive = f", {retention.sensitive.keep} for {retention.sensitive.categories}" if retention.sensitive else ""
    return [
        {
            "name": "minimisation",
            "dropped_columns": dropped,
            "summary": f"columns dropped before storage: {dropped or 'none'}",
        },
        {
            "name": "redaction",
            "replaced": replaced,
            "summary": "replaced in text: " + ", ".join(f"{k} {v}" for k, v in replaced.items()),
        },
        {
            "name": "pseudonymisation",
            "columns": spec.privacy.pseudonymize,
            "summary": f"keyed HMAC-SHA256 of {spec.privacy.pseudonymize}",
        },
        {
            "name": "consent",
            "rows_removed": removed.get("consent_opt_out", 0),
            "opted_out_users": eligible.get("opted_out_users", 0),
            "summary": f"{removed.get('consent_opt_out', 0)} rows of "
            f"{eligible.get('opted_out_users', 0)} opted-out users excluded",
        },
        {
            "name": "erasure",
            "requests": eligible.get("erasure_requests", 0),
            "rows_removed": removed.get("erasure_request", 0),
            "summary": f"{eligible.get('erasure_requests', 0)} erasure request(s) on record; "
            f"{removed.get('erasure_request', 0)} rows excluded",
        },
        {
            "name": "retention_on_storage",
            **storage,
            "summary": f"days before {storage.get('oldest_day_kept')} deleted from every zone "
            f"({storage.get('files_deleted', 0)} files this run); "
            f"{storage.get('sensitive_rows_deleted', 0)} sensitive rows deleted from storage",
        },
        {
            "name": "retention",
            "rows_removed": removed.get("retention_expired", 0) + removed.get("retention_expired_sensitive", 0),
            "summary": f"kept {retention.default}{sensitive}; {removed.get('retention_expired', 0)} + "
            f"{removed.get('retention_expired_sensitive', 0)} (sensitive) rows expired",
        },
    ]
