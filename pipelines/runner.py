"""Materialize one dataset's asset graph in process, on the local Dagster instance.

`trainset run`, the demo and the end-to-end tests use this; the Dagster UI (`dg dev`), the
schedule and the sensor run the same job, from the same `build_definitions`, with the same run
lock (taken by the workspace resource when the run starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from pipelines.components.assets import RANGE_END, RANGE_START
from pipelines.components.resources import job_name, run_lock_name
from pipelines.definitions import build_definitions
from pipelines.lib.accounting import RowAccounting
from pipelines.lib.catalog import check_environment, get_spec
from pipelines.lib.errors import describe_validation_text
from pipelines.lib.ingest.landing import export_files, landed_days, rebuilt_with, run_range
from pipelines.lib.ingest.sources import land_source
from pipelines.lib.locks import LockedError, exclusive
from pipelines.lib.partners.decisions import check_decision_records
from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.report_files import (
    gate_run_path,
    ingest_days,
    read_eligibility,
    read_labeled,
    read_quarantine,
    read_training_set,
    redaction_days,
)
from pipelines.lib.reports import PartnerUse
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths, last_complete_day


@dataclass
class RunSummary:
    """What a run did, in words a data engineer reads in a terminal."""

    run_id: str
    success: bool
    partitions: str
    asset_lines: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    release: str | None = None
    release_metadata: dict = field(default_factory=dict)
    failure: str | None = None
    #: the run's HTML gate report (written by a blocked run too)
    gate_report: Path | None = None
    #: rules the spec's declared-absent columns keep from applying, in words
    not_applied: list[str] = field(default_factory=list)
    #: spec keys still holding a TODO placeholder
    placeholders: list[str] = field(default_factory=list)


def land_dataset(root: Path, spec: DatasetSpec, as_of: date) -> tuple[list[date], set[str]]:
    """Land every source's new exports (under the dataset's run lock, as a run's raw assets do;
    while another run holds it, only look); returns the days holding landed records of any source,
    or that new exports would fill, and the days (ISO) this landing changed. Raises SourceError (an
    export cannot be read) or ValueError (a `files` source matches no file)."""
    paths = DatasetPaths(root, spec.name)
    for source in spec.sources:
        if source.kind == "files" and not export_files(root, source):
            raise ValueError(_no_exports(root, source))
    pending: set[str] = set()
    changed: set[str] = set()
    try:
        with exclusive(root, run_lock_name(spec.name), f"run of {spec.name}"):
            for source in spec.sources:
                changed |= set(land_source(paths, spec, source, as_of=as_of).touched)
    except LockedError:
        # Another run holds the dataset: only look, and let the run be refused by the lock as any
        # run is (a failed run in Dagster's instance, whose summary says who holds it).
        for source in spec.sources:
            pending |= set(land_source(paths, spec, source, as_of=as_of, write=False).touched)
    days = pending.union(*(landed_days(paths, s.name) for s in spec.sources))
    return sorted(date.fromisoformat(d) for d in days), changed


def _no_exports(root: Path, source) -> str:
    target = root / source.path
    near = ""
    if target.is_dir():
        # A file there in another format is the usual cause: say which, so `format:` can be fixed.
        others = sorted(p.name for p in target.iterdir() if p.is_file())
        if others:
            near = f"; found {len(others)} other file(s) ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
    return (
        f"source {source.name!r}: no {source.format} export at {source.path} (a file, a folder of *.{source.format} "
        f"files, or a glob){near}. Put the export there, or fix the source's `path:` and `format:`"
        + ("" if near or target.exists() else "; for the demo, `trainset generate` writes them")
    )


def materialize_dataset(
    spec: DatasetSpec,
    root: Path,
    *,
    spec_file: Path | None = None,
    start: date | None = None,
    end: date | None = None,
    as_of: date | None = None,
    instance: dg.DagsterInstance | None = None,
    kill_at: str | None = None,
    log_level: str = "WARNING",
) -> RunSummary:
    """Land the dataset's new exports, then run its job over a range of days (default: every day
    holding landed records, inside retention).

    `spec_file` is the defs.yaml the spec comes from (default: the one the workspace declares
    under the spec's name); `kill_at` names a release kill point (crash tests only). Returns the
    run's summary; a run refused because another run of the dataset holds its lock is a failed
    run whose summary says so. Raises, before any run starts, SpecError (spec or its
    `requirements.env`), MissingKeyError (the key is missing or unusable), GuidelineError (the
    labeling guideline fails its checks), DecisionRecordError (a partner source's decision record
    is invalid) or ValueError (no landed days in range)."""
    spec_file = spec_file or get_spec(spec.name, root)[1]
    start, end, reference = prepare_run(spec, root, spec_file, start=start, end=end, as_of=as_of)
    defs = build_definitions(root, datasets=[(spec, spec_file)], as_of=reference, kill_at=kill_at)
    result = defs.resolve_job_def(job_name(spec.name)).execute_in_process(
        instance=instance or dg.DagsterInstance.get(),
        tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat()},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )
    keys = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    return summarise(result, DatasetPaths(root, spec.name), spec, keys)


def prepare_run(
    spec: DatasetSpec,
    root: Path,
    spec_file: Path,
    *,
    start: date | None = None,
    end: date | None = None,
    as_of: date | None = None,
) -> tuple[date, date, date]:
    """What every run of a dataset does before Dagster starts it, in process or on the deployment:
    check the spec's environment, key, guideline and partner decision records, land the new
    exports, and choose the days: those asked for (by default every landed day inside retention),
    and any day built before whose records the landing updated or moved (`rebuilt_with`). Returns
    (first day, last day, as-of day). Raises as `materialize_dataset` does."""
    check_environment([spec_file])
    load_key(spec.privacy.key_env)  # checked again by the run itself, which holds it from its first step
    if spec.labeling is not None and spec.labeling.guideline:  # a broken guideline fails here, not mid-run
        from pipelines.lib.labeling.guideline import load_guideline

        load_guideline(root / spec.labeling.guideline, spec.labels.classes)
    check_decision_records(root, spec)  # so is a decision record that cannot be read
    days, changed = land_dataset(root, spec, as_of or last_complete_day())
    if not days and (start is None or end is None):
        raise ValueError(f"nothing to process for {spec.name}: its exports hold no record (only blank or none)")
    first, last, reference = run_range(spec, days, last_complete_day(), start=start, end=end, as_of=as_of)
    # An export that updates or moves a record of a day built before rebuilds that day too.
    first, last = rebuilt_with(DatasetPaths(root, spec.name), spec, changed, first, last, reference)
    return first, last, reference


def summarise(result: dg.ExecuteInProcessResult, paths: DatasetPaths, spec: DatasetSpec, days: list[str]) -> RunSummary:
    """The run in words, from the stage reports of the assets it materialized (rows in, out and
    removed per reason), its failed checks, its release and its gate report, and the root cause
    of its failure if it failed."""
    summary = RunSummary(
        run_id=result.run_id,
        success=result.success,
        partitions=f"{days[0]}..{days[-1]}",
        not_applied=[f"{limit.rule}: {limit.reason}" for limit in spec.limits()],
        placeholders=spec.placeholders(),
    )
    seen: set[str] = set()
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        name = mat.asset_key.path[-1]
        if name in seen:
            continue  # one event per partition
        seen.add(name)
        if name == "release":
            meta = {k: v.value for k, v in mat.metadata.items()}
            summary.release_metadata = meta
            verb = "released" if meta["created"] else "no change; latest is"
            tag = f" (git tag {meta['tag']})" if meta.get("tag") else ""
            summary.release = f"{verb} v{meta['version']} at {meta['path']}{tag}"
        summary.asset_lines.append(_asset_line(name, paths, spec, days))
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary.failed_checks.append(
                f"{evaluation.check_name} [{evaluation.severity.value}]: {evaluation.description}"
            )
    if not result.success:
        failures = [e.step_failure_data.error for e in result.get_step_failure_events()]
        # A run refused its lock or key fails while its resources are set up, before any step.
        failures += [
            getattr(e.event_specific_data, "error", None)
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE
        ]
        messages = [_root_cause(error) for error in failures if error]
        summary.failure = "; ".join(messages) or "the run failed"
        if summary.release is None:
            summary.release = "no new version: the release did not run"
    report = gate_run_path(paths, result.run_id, ".html")
    summary.gate_report = report if report.is_file() else None
    return summary


def _asset_line(name: str, paths: DatasetPaths, spec: DatasetSpec, days: list[str]) -> str:
    """`eligible: 34859 in -> 34141 out (718 consent_opt_out)`, from the asset's stage report(s)."""
    note = ""
    wanted = set(days)
    if name.startswith("raw_"):
        ingested = ingest_days(paths, name.removeprefix("raw_"))
        accounting = RowAccounting.total(r.accounting for r in ingested if r.partition in wanted)
    elif name == "redacted":
        accounting = RowAccounting.total(r.accounting for r in redaction_days(paths) if r.partition in wanted)
    elif name == "eligible":
        eligible = read_eligibility(paths)
        accounting = eligible.accounting
        if deleted := eligible.retention_storage.sensitive_rows_deleted:  # booked against the days above
            note = f" (retention first deleted {deleted} stored sensitive rows)"
        note += "".join(f"\n    {_partner_line(use)}" for use in eligible.partners)
    elif name == "labeled":
        labeled = read_labeled(paths)
        accounting = labeled.accounting
        sources = ", ".join(f"{n} {source}" for source, n in labeled.by_source.items())
        note = f" (labels: {sources})" if sources else ""
    elif name == "training_set":
        training = read_training_set(paths)
        accounting = training.accounting
        note = " (" + ", ".join(f"{split} {n}" for split, n in training.splits.items()) + ")"
    elif name == "quarantine":
        quarantine = read_quarantine(paths)
        reasons = ", ".join(f"{n} {reason}" for reason, n in quarantine.by_reason.items())
        hint = ""
        if "id_of_another_source" in quarantine.by_reason:  # other records, not copies: the spec can keep them
            hint = "\n    a partner source shares record ids with another source: declare `id_prefix:` on it"
        return f"quarantine: {quarantine.rows} rows" + (f" ({reasons})" if reasons else "") + hint
    else:
        return name
    removed = ", ".join(f"{n} {reason}" for reason, n in accounting.removed.items() if n)
    return f"{name}: {accounting.rows_in} in -> {accounting.rows_out} out" + (f" ({removed})" if removed else "") + note


def _partner_line(use: PartnerUse) -> str:
    """`partner acme: used, 50 rows (approve by ..., in force through ...)`, or why not."""
    if use.used:
        until = f", in force through {use.expiry}" if use.expiry else ""
        return f"partner {use.source}: used, {use.rows_used} rows ({use.decision} by {use.approver}{until})"
    reasons = ", ".join(use.removed) or "no row read"
    return f"partner {use.source}: not used ({reasons}): {use.reasons[0]}"


def _root_cause(error) -> str:
    """The innermost error's message: ours (what, where, what to do), not Dagster's wrapper, and
    without the exception's class name in front (`pipelines.lib.locks.LockedError: ...`)."""
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    head, separator, rest = message.partition(": ")
    if separator and error.cls_name and head.split(".")[-1] == error.cls_name:
        message = rest
    # A ValidationError that crossed the step boundary is only its text: pydantic's footer and the
    # input values it quotes (a record's text, maybe) are dropped, the model and the places kept.
    return describe_validation_text(message) or message
