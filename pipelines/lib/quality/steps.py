"""Step of the training_set asset: freshness window and stratified split, then every gate measured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib.accounting import Accounting
from pipelines.lib.durations import cutoff
from pipelines.lib.files import write_json, write_parquet
from pipelines.lib.ingest.language import detect_languages
from pipelines.lib.ingest.steps import partition_stats
from pipelines.lib.privacy.policies import apply_freshness
from pipelines.lib.quality import schemas
from pipelines.lib.quality.check_records import load_checks
from pipelines.lib.quality.gate_html import render_gate_report
from pipelines.lib.quality.gates import GateResult, apply_waivers, evaluate_gates
from pipelines.lib.quality.splits import assign_splits, joined_text
from pipelines.lib.quality.waivers import load_waivers
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

# -- training_set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetEvaluation:
    """Everything measured on the training set: stats, contract, expectations and gates."""

    stats: dict
    contract: schemas.ContractResult
    expectations: list  # of pipelines.lib.quality.expectations.ExpectationOutcome
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
    from pipelines.lib.quality.expectations import load_suite, run_suite

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
    raw = [s["accounting"] for source in spec.sources for s in partition_stats(paths, f"raw_{source.name}")]
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
    declared = [name for name, bar in spec.gates if bar is not None]
    waivers = load_waivers(paths.root, spec.name, gates=declared)
    gates = apply_waivers(measured, waivers, today or datetime.now(UTC).date())
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
    checks = load_checks(paths, run_id) if run_id else []  # the run's checks so far: residue, accounting
    report = render_gate_report(
        spec.name, evaluation, stats["counts"], week.value_counts().to_dict(), spec.labels.column, checks
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
