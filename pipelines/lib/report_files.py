"""Stage reports on disk, at the places `DatasetPaths` names; nothing else reads or writes them.

One JSON file per report, written with `model_dump_json` (atomically: a temporary file renamed
into place) and read with `model_validate_json`:

    data/warehouse/<name>/stats/raw_<source>.<day>.json   IngestReport, one per landed day
                          stats/redacted.<day>.json        RedactionReport, one per day
                          stats/quarantine.json            QuarantineReport
                          stats/eligible.json              EligibilityReport
                          stats/training_set.json          TrainingSetReport
                          stats/gates.json                 GateRun of the latest run that measured gates
                          gate_runs/<run_id>.json          GateRun of each run (gate history)
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from pipelines.lib.errors import describe_validation
from pipelines.lib.files import write_text
from pipelines.lib.reports import (
    EligibilityReport,
    GateRun,
    IngestReport,
    LabeledReport,
    LandedDeletions,
    QuarantineReport,
    RedactionReport,
    TrainingSetReport,
)
from pipelines.lib.workspace import DatasetPaths

R = TypeVar("R", bound=BaseModel)


class MissingReportError(FileNotFoundError):
    """A stage's report is not there: the stage has not run in this workspace."""


class ReportError(ValueError):
    """A stage's report is there but is not such a report (edited, truncated, or written by
    another version of trainset); the message names the file and each wrong field."""


def write_report(report: BaseModel, path: Path) -> Path:
    """Write any report as indented JSON, atomically; returns the path."""
    write_text(report.model_dump_json(indent=2) + "\n", path)
    return path


def read_report(path: Path, kind: type[R]) -> R:
    """Read a report of type `kind`; raises MissingReportError naming the file, ReportError naming
    the file and each wrong field if the file is not such a report."""
    if not path.is_file():
        raise MissingReportError(f"no {kind.__name__} at {path}: materialize the stage that writes it first")
    try:
        return kind.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise ReportError(
            f"{path}: not a valid {kind.__name__}: {describe_validation(error)}; it is written by the run: "
            "delete it and run again"
        ) from None


# -- ingest ------------------------------------------------------------------------------------


def write_ingest(paths: DatasetPaths, source: str, report: IngestReport) -> None:
    """One landed day of `source`."""
    write_report(report, paths.stats(f"raw_{source}", report.partition))


def read_ingest(paths: DatasetPaths, source: str, partition: str) -> IngestReport:
    """One landed day of `source`; raises MissingReportError if that day was not landed."""
    return read_report(paths.stats(f"raw_{source}", partition), IngestReport)


def ingest_days(paths: DatasetPaths, source: str) -> list[IngestReport]:
    """Every stored day of `source`, in day order."""
    return [read_report(p, IngestReport) for p in _days(paths, f"raw_{source}")]


def write_quarantine(paths: DatasetPaths, report: QuarantineReport) -> None:
    """Every quarantined row, counted by reason."""
    write_report(report, paths.stats("quarantine"))


def read_quarantine(paths: DatasetPaths) -> QuarantineReport:
    """The quarantine's rows by reason; raises MissingReportError before the quarantine asset ran."""
    return read_report(paths.stats("quarantine"), QuarantineReport)


# -- privacy -----------------------------------------------------------------------------------


def write_redaction(paths: DatasetPaths, report: RedactionReport) -> None:
    """One day of the redacted zone."""
    write_report(report, paths.stats("redacted", report.partition))


def read_redaction(paths: DatasetPaths, partition: str) -> RedactionReport:
    """One day of the redacted zone; raises MissingReportError if that day was not redacted."""
    return read_report(paths.stats("redacted", partition), RedactionReport)


def redaction_days(paths: DatasetPaths) -> list[RedactionReport]:
    """Every stored day of the redacted zone, in day order."""
    return [read_report(p, RedactionReport) for p in _days(paths, "redacted")]


def write_eligibility(paths: DatasetPaths, report: EligibilityReport) -> None:
    """The eligible rows' report (one per dataset, rewritten by each run)."""
    write_report(report, paths.stats("eligible"))


def read_eligibility(paths: DatasetPaths) -> EligibilityReport:
    """Rows removed per reason by retention, erasure and consent; raises MissingReportError before eligible ran."""
    return read_report(paths.stats("eligible"), EligibilityReport)


def write_labeled(paths: DatasetPaths, report: LabeledReport) -> None:
    """The labeled rows' report (one per dataset, rewritten by each run)."""
    write_report(report, paths.stats("labeled"))


def read_labeled(paths: DatasetPaths) -> LabeledReport:
    """Labels per source, agreement and gold per batch; raises MissingReportError before labeled ran."""
    return read_report(paths.stats("labeled"), LabeledReport)


# -- quality -----------------------------------------------------------------------------------


def write_training_set(paths: DatasetPaths, report: TrainingSetReport) -> None:
    """The training set's report (one per dataset, rewritten by each run)."""
    write_report(report, paths.stats("training_set"))


def read_training_set(paths: DatasetPaths) -> TrainingSetReport:
    """Splits, counts and language of the training set; raises MissingReportError before training_set ran."""
    return read_report(paths.stats("training_set"), TrainingSetReport)


def gate_run_path(paths: DatasetPaths, run_id: str, suffix: str = ".json") -> Path:
    """Where one run's gate results (`.json`) and HTML gate report (`.html`) are kept."""
    return paths.warehouse / "gate_runs" / f"{run_id}{suffix}"


def write_gate_run(paths: DatasetPaths, run: GateRun) -> None:
    """The latest gate run, and (with a run id) that run's entry in the gate history."""
    write_report(run, paths.stats("gates"))
    if run.run_id:
        write_report(run, gate_run_path(paths, run.run_id))


def read_gate_run(paths: DatasetPaths, run_id: str | None = None) -> GateRun | None:
    """The gates of one run (a full id), or of the latest run that measured gates; None if
    that run measured none (a check stopped it before the training set)."""
    path = paths.stats("gates") if run_id is None else gate_run_path(paths, run_id)
    if run_id is not None and not path.is_file() and paths.stats("gates").is_file():
        latest = read_report(paths.stats("gates"), GateRun)  # a run without history (no run id kept)
        return latest if latest.run_id == run_id else None
    return read_report(path, GateRun) if path.is_file() else None


def gate_run_ids(paths: DatasetPaths) -> list[str]:
    """Runs whose gate results are kept."""
    return sorted(p.stem for p in (paths.warehouse / "gate_runs").glob("*.json"))


# -- deletions after the fact ------------------------------------------------------------------


def record_deletion(paths: DatasetPaths, zone: str, partition: str | None, reason: str, rows: int) -> None:
    """Book rows deleted later from a stored zone (retention, erasure) against its report, so it
    stays balanced: `rows` fewer out, as many more removed for `reason`. `zone` is `raw_<source>`,
    `redacted`, `eligible`, `labeled`, `unlabeled` or `training_set`; a landed day's deletions are
    kept beside it (`landed_deletions`) for the ingest report of each later read of the day; a
    zone counted by another's report (`unlabeled`, `feedback_audit`) is left alone."""
    kind: type[IngestReport | RedactionReport | EligibilityReport | LabeledReport | TrainingSetReport]
    if zone.startswith("landed_"):
        # A landed day is the raw zone's input: a day read again from it would count only what is
        # left, so its deletions are kept beside it and booked by every later read.
        _book_landed_deletion(paths, zone.removeprefix("landed_"), partition, reason, rows)
        return
    if zone in ("unlabeled", "feedback_audit"):
        # counted by the labeled report of the run that wrote them
        return
    if zone.startswith("raw_"):
        kind = IngestReport
    else:
        kinds: dict[str, type[RedactionReport | EligibilityReport | LabeledReport | TrainingSetReport]] = {
            "redacted": RedactionReport,
            "eligible": EligibilityReport,
            "labeled": LabeledReport,
            "training_set": TrainingSetReport,
        }
        if zone not in kinds:
            raise ValueError(f"{zone!r} is not a zone with row accounting: raw_<source>, {', '.join(kinds)}")
        kind = kinds[zone]
    path = paths.stats(zone, partition)
    if not rows or not path.is_file():
        return
    report = read_report(path, kind)
    write_report(report.model_copy(update={"accounting": report.accounting.after_deletion(reason, rows)}), path)


def landed_deletions(paths: DatasetPaths, source: str, partition: str) -> dict[str, int]:
    """Rows deleted from a source's landed day since it landed, by reason ({} when none); raises
    ReportError if the record cannot be read."""
    path = paths.stats(f"landed_{source}", partition)
    return read_report(path, LandedDeletions).removed if path.is_file() else {}


def _book_landed_deletion(paths: DatasetPaths, source: str, partition: str | None, reason: str, rows: int) -> None:
    if not rows or partition is None:
        return
    removed = landed_deletions(paths, source, partition)
    removed[reason] = removed.get(reason, 0) + rows
    write_report(LandedDeletions(partition=partition, removed=removed), paths.stats(f"landed_{source}", partition))


def _days(paths: DatasetPaths, asset: str) -> list[Path]:
    return sorted((paths.warehouse / "stats").glob(f"{asset}.*.json"))
