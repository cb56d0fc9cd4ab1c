"""Step of the training_set asset: freshness window and stratified split, then every gate measured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, NothingLeftError, RowAccounting
from pipelines.lib.durations import cutoff
from pipelines.lib.files import follow_folder, read_csv_table, write_json, write_parquet
from pipelines.lib.ingest.language import detect_languages, known_codes
from pipelines.lib.privacy.policies import apply_freshness
from pipelines.lib.quality import schemas
from pipelines.lib.quality.gate_report import write_gate_report
from pipelines.lib.quality.gates import apply_waivers, evaluate_gates
from pipelines.lib.quality.language_cache import detect_languages_cached
from pipelines.lib.quality.splits import SPLITS, assign_splits, joined_text, normalised_text
from pipelines.lib.quality.waivers import load_waivers
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.report_files import ingest_days, write_gate_run, write_training_set
from pipelines.lib.reports import MISSING, UNDETERMINED, CoverageCount, GateRun, LanguageReport, TrainingSetReport
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

# -- training_set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetEvaluation:
    """What the training_set step hands on: its report, and the run's gates, contract and expectations."""

    report: TrainingSetReport
    run: GateRun
    gate_report: Path


def build_training_set(
    paths: DatasetPaths,
    spec: DatasetSpec,
    as_of: date,
    suite_path: Path,
    today: date | None = None,
    run_id: str | None = None,
) -> TrainingSetEvaluation:
    """Freshness window and stratified split, then every gate measured. Writes the training
    set, its `TrainingSetReport`, the run's `GateRun`, the HTML gate report and the files
    dvc.yaml reads (gates.json, coverage.csv under the warehouse's reports, copied to
    reports/<name>/ by a release); returns the reports and the path of the run's HTML gate report."""
    frame, accounting = read_window(paths.labeled, spec, as_of)
    if frame.empty and accounting.rows_in:
        window = spec.freshness.window
        raise NothingLeftError(
            f"{spec.name}: all {accounting.rows_in} labelled rows are before {cutoff(as_of, window).date()}, where the "
            f"freshness window ({window} as of {as_of}) starts: pass --as-of, or widen freshness.window"
        )
    language = spec.language_column
    detected = detect_training_languages(frame, spec, cache=paths.warehouse / "cache")
    key = normalised_text(frame, spec.columns.text)  # the split's key, and the duplicate gates'
    frame, mismatch = split_with_languages(frame, spec, detected, key)
    write_parquet(frame, paths.training_set)

    # GX takes seconds to import: only the step that runs the suite pays for it.
    from pipelines.lib.quality.expectations import load_suite, run_suite

    contract = schemas.validate(schemas.training_set_schema(spec), frame)
    parameters: dict[str, object] = {"classes": spec.labels.classes, "languages": spec.languages}
    if spec.columns.timestamp:
        parameters["newest_timestamp_min"] = pd.Timestamp(cutoff(as_of, spec.freshness.max_staleness))
    expectations = run_suite(
        load_suite(suite_path),
        frame,
        parameters,
        docs_root=paths.warehouse,  # GX Data Docs of every run: data/warehouse/<name>/gx/uncommitted/data_docs
    )
    annotations = agreement_annotations(paths, spec)
    landed = RowAccounting.total(day.accounting for source in spec.sources for day in ingest_days(paths, source.name))
    claimed = frame[language] if spec.columns.language else None
    measured = evaluate_gates(
        as_detected(frame, spec, detected),
        spec,
        as_of,
        annotations,
        # Blank records (all-empty lines of an export) are neither landed rows nor quarantined ones.
        landed=(landed.rows_in - landed.removed_for("blank_record"), landed.removed_for("quarantined:")),
        previous=_latest_counts(paths),
        language_mismatch=mismatch,
        found=(found := dict[str, pd.DataFrame]()),
        text_key=key,
        cache=paths.warehouse / "cache",
    )
    issues = paths.reports / "label_issues.csv"
    if "label_issues" in found:  # ids and labels only; copied to reports/<name>/ by a release
        issues.parent.mkdir(parents=True, exist_ok=True)
        found["label_issues"].to_csv(issues, index=False)
    else:
        issues.unlink(missing_ok=True)
    waivers = load_waivers(paths.root, spec.name, gates=spec.gates.names())
    gates = apply_waivers(measured, waivers, today or datetime.now(UTC).date())
    counts = coverage_counts(frame, spec)
    confusion = pd.crosstab(claimed, detected.fillna("undetected")) if claimed is not None and len(frame) else None
    weekly = {}
    if spec.columns.timestamp:
        week = frame[spec.columns.timestamp].dt.tz_localize(None).dt.to_period("W").dt.start_time.value_counts()
        # Each week written as text once, not each row's (the order of the ISO dates is the weeks').
        week.index = week.index.strftime("%Y-%m-%d")
        weekly = {str(w): int(n) for w, n in week.sort_index().items()}
    report = TrainingSetReport(
        as_of=as_of,
        accounting=accounting.close(len(frame)),
        splits={split: int((frame["split"] == split).sum()) for split in SPLITS},
        label_sources={str(k): int(n) for k, n in frame["label_source"].value_counts().sort_index().items()},
        counts=counts,
        weekly=weekly,
        language=LanguageReport(
            column=language,
            mismatch_rate=None if mismatch is None else round(mismatch, 4),
            detected={str(k): int(n) for k, n in detected.value_counts().items()},
            claimed_vs_detected={}
            if confusion is None
            else {f"{a}->{b}": int(n) for (a, b), n in confusion.stack().items() if n and a != b},
        ),
        limits=spec.limits(),
    )
    write_training_set(paths, report)
    run = GateRun(
        run_id=run_id,
        as_of=as_of,
        evaluated_at=datetime.now(UTC).replace(microsecond=0),
        contract=contract,
        expectations=expectations,
        gates=gates,
    )
    write_gate_run(paths, run)
    _write_dvc_reports(paths, run, counts, spec)
    return TrainingSetEvaluation(report, run, write_gate_report(paths, run_id))


#: labelled rows decoded at a time: the rows before the freshness window are never all held at once
READ_BATCH = 65_536


def read_window(path: Path, spec: DatasetSpec, as_of: date) -> tuple[pd.DataFrame, Accounting]:
    """The labelled rows inside the freshness window (`apply_freshness`), and the step's accounting
    (rows read, rows outside the window removed). The file is read a batch at a time and each
    batch filtered as it comes, so the step never holds the whole history, only its window."""
    source = pq.ParquetFile(path)
    accounting = Accounting(source.metadata.num_rows)
    timestamp = spec.columns.timestamp
    kept = []
    for batch in source.iter_batches(batch_size=READ_BATCH):
        if timestamp is not None:
            window = apply_freshness(batch.select([timestamp]).to_pandas(), spec, as_of, accounting)
            batch = batch.take(window.index.to_numpy())
        kept.append(batch)
    if not kept and timestamp is not None:  # no rows: none removed, as the policy counts them
        apply_freshness(source.schema_arrow.empty_table().to_pandas(), spec, as_of, accounting)
    return _one_table(kept, source.schema_arrow).to_pandas(), accounting


def _one_table(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """The batches as one table with each column in one piece, joined a column at a time: the
    list is emptied first, so each column's pieces are freed once it is joined (never a second
    copy of the whole window). The training set's file is then written byte for byte as from one
    read."""
    table = pa.Table.from_batches(batches, schema=schema)
    batches.clear()
    columns = []
    for name in schema.names:
        columns.append(table.column(name).combine_chunks())
        table = table.drop_columns([name])
    return pa.Table.from_arrays(columns, schema=schema)


def detect_training_languages(frame: pd.DataFrame, spec: DatasetSpec, cache: Path | None = None) -> pd.Series:
    """The detected language (ISO 639-1, NA when undecided) of each row's joined text, among the
    declared languages, the claimed ones present and the detector's background languages. With a
    `cache` folder, only texts no earlier run detected are detected (`language_cache`)."""
    claimed = [str(v) for v in frame[spec.columns.language].dropna().unique()] if spec.columns.language else []
    texts = joined_text(frame, spec.columns.text, separator=". ")
    candidates = [*spec.languages, *known_codes(claimed)]
    if cache is not None:
        return detect_languages_cached(texts, candidates, cache)
    return detect_languages(texts, candidates)


def split_with_languages(
    frame: pd.DataFrame, spec: DatasetSpec, detected: pd.Series, key: pd.Series | None = None
) -> tuple[pd.DataFrame, float | None]:
    """The frame with its `split` column (and, with no language column declared, the detected
    language as `detected_language`, added first: it is a default stratum), and the share (0..1)
    of rows detected otherwise than claimed (None with no claimed language). `key`: the rows'
    `normalised_text`, when the caller has it already."""
    if spec.columns.language is None:
        frame = frame.assign(**{spec.language_column: detected.fillna(UNDETERMINED).astype("str")})
    frame = frame.assign(split=assign_splits(frame, spec.columns.text, spec.split, spec.strata, key))
    if spec.columns.language is None:
        return frame, None
    claimed = frame[spec.columns.language]
    return frame, float((detected.notna() & (detected != claimed)).mean()) if len(frame) else 0.0


def as_detected(frame: pd.DataFrame, spec: DatasetSpec, detected: pd.Series) -> pd.DataFrame:
    """What the gates measure: coverage counts the language as detected, the claimed one where
    detection found none."""
    return frame.assign(**{spec.language_column: detected.fillna(frame[spec.language_column])})


def coverage_counts(frame: pd.DataFrame, spec: DatasetSpec) -> list[CoverageCount]:
    """Examples per class x segment values (language, then each declared segment) x split; a
    missing segment value is counted as `(missing)`, never dropped."""
    if not len(frame):
        return []
    keys = [spec.labels.column, *spec.segment_columns, "split"]
    table = frame[keys]
    table = table.assign(**{key: _filled(table[key]) for key in keys})
    grouped = table.groupby(keys, observed=True, sort=True).size()
    segments = spec.segment_columns
    return [
        CoverageCount(
            label=str(key[0]),
            segments=dict(zip(segments, map(str, key[1:-1]), strict=True)),
            split=str(key[-1]),
            n=int(n),
        )
        for key, n in grouped.items()
    ]


def _filled(column: pd.Series) -> pd.Series:
    """The column with a missing value as `(missing)`: text stays text (no Python string per row);
    any other type is made object first, so the marker can sit among its values."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.fillna(MISSING)
    return column.astype("object").fillna(MISSING)


def agreement_annotations(paths: DatasetPaths, spec: DatasetSpec) -> pd.DataFrame | None:
    """Labels of independent annotators (`id`, `annotator`, `label`) that agreement is measured on:
    the declared `labels.annotations` table and every imported annotation that is not gold (a
    weak label is never one). None when there are none."""
    from pipelines.lib.labeling.store import load_annotations as imported

    found = []
    if spec.labels.annotations:
        found.append(load_annotations(paths.landing(spec.labels.annotations.path), spec))
    stored, _ = imported(paths)
    human = stored.loc[~stored["gold"], ["item", "annotator", "label"]].rename(columns={"item": "id"})
    if len(human):
        found.append(human)
    return pd.concat(found, ignore_index=True) if found else None


def load_annotations(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """The doubly-labelled items (`id`, `annotator`, `label`, ids as text); raises ValueError
    naming the missing columns."""
    table = read_csv_table(path, "annotations", dtype="str")
    id_column = (spec.labels.annotations and spec.labels.annotations.id_column) or spec.id_column
    missing = sorted({id_column, "annotator", "label"} - set(table.columns))
    if missing:
        raise ValueError(f"annotations {path}: missing column(s) {missing}; expected {id_column}, annotator, label")
    return table.rename(columns={id_column: "id"})[["id", "annotator", "label"]]


def _latest_counts(paths: DatasetPaths) -> list[CoverageCount] | None:
    """Coverage counts of the latest released version, for the share-drop gate."""
    released = versions(paths.releases)
    return read_manifest(paths.releases / f"v{released[-1]}").counts if released else None


def _write_dvc_reports(paths: DatasetPaths, run: GateRun, counts: list[CoverageCount], spec: DatasetSpec) -> None:
    """Gate metrics and coverage (class x language) in the files dvc.yaml names as metrics and plots."""
    metrics = {g.name: g.measured for g in run.gates if isinstance(g.measured, (int, float))}
    write_json(metrics, paths.reports / "gates.json")
    language = spec.language_column
    rows = pd.DataFrame(
        [(c.label, c.segments[language], c.n) for c in counts], columns=[spec.labels.column, language, "n"]
    )
    coverage = rows.groupby([spec.labels.column, language], observed=True)["n"].sum().reset_index()
    paths.reports.mkdir(parents=True, exist_ok=True)
    coverage.to_csv(paths.reports / "coverage.csv", index=False)
    follow_folder(paths.reports)  # pandas' CSV files take the umask's modes; the dataset's folder decides
