"""The asset graph of one dataset, built from its spec. Assets are thin: each calls one step (the
`steps` module of its stage in `pipelines.lib`) and turns its counts into Dagster metadata and
asset-check results."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.components.checks import (
    accounting_result,
    contract_result,
    expectations_result,
    gate_check_result,
    residue_result,
)
from pipelines.components.execution import Execution
from pipelines.components.feedback_assets import build_feedback_defs
from pipelines.components.resources import TrainsetWorkspace, job_name
from pipelines.lib.accounting import RowAccounting
from pipelines.lib.catalog import SpecError
from pipelines.lib.hashing import combined_sha256
from pipelines.lib.ingest.landing import rebuilt_with
from pipelines.lib.ingest.sources import SourceError, land_source
from pipelines.lib.ingest.steps import collect_quarantine, land_raw
from pipelines.lib.labeling.steps import build_labeled
from pipelines.lib.memory import prefer_jemalloc, release_unused_memory
from pipelines.lib.privacy.steps import build_eligible, redact_partitions
from pipelines.lib.quality import reconcile
from pipelines.lib.quality.gate_results import gate_verdict
from pipelines.lib.quality.steps import build_training_set
from pipelines.lib.release.steps import release_training_set
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.reports import TrainingSetReport
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import last_complete_day

#: Dagster's standard metadata key for the rows an asset holds, shown in the UI and its asset health
ROW_COUNT = "dagster/row_count"
#: Dagster's tags of a run over a range of partitions (one run: the assets' backfill policy)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def build_dataset_defs(spec: DatasetSpec, spec_file: Path) -> dg.Definitions:
    """Assets, checks, job, schedule and landing sensor of one declared dataset, in its own group.

    Raises SpecError naming `spec_file` if Dagster cannot run the spec's schedule."""
    prefer_jemalloc()  # every process that runs the steps builds their definitions first
    daily = dg.DailyPartitionsDefinition(start_date=spec.first_date.isoformat(), timezone="UTC")
    key = lambda name: dg.AssetKey([spec.name, name])  # noqa: E731
    raw_keys = [key(f"raw_{source.name}") for source in spec.sources]
    common: dict[str, Any] = {"group_name": spec.name, "owners": _owners(spec)}
    # Steps over the whole history (and ingest, which decides which copy of a record is kept by
    # what is already landed) run one at a time per dataset, across runs: the dataset's pool
    # (limit 1 in the deployment's dagster.yaml). Redaction of separate days runs side by side.
    serial: dict[str, Any] = {"pool": pool_name(spec.name)}
    # Declarative automation: downstream assets follow new raw days, never past a failed blocking check.
    follow: dict[str, Any] = {
        "automation_condition": dg.AutomationCondition.eager()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    }
    partitioned: dict[str, Any] = {"partitions_def": daily, "backfill_policy": dg.BackfillPolicy.single_run()}

    # Each source lands after the one declared before it, whatever the executor: which copy of a
    # record shared by two sources is kept must not depend on which worker finishes first.
    assets: list = []
    for source in spec.sources:
        after = [assets[-1].key] if assets else []
        assets.append(_raw_asset(spec, source.name, key, common | partitioned | serial, after))

    @dg.asset(
        key=key("redacted"),
        deps=raw_keys,
        check_specs=[
            _check(key("redacted"), "redacted_contract"),
            _check(key("redacted"), "pii_residue"),
            _check(key("redacted"), "row_accounting"),
        ],
        kinds={"pandas", "parquet"},
        **common,
        **follow,
        partitions_def=daily,
        backfill_policy=Execution.from_environment().backfill_policy(),
    )
    def redacted(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """PII replaced by typed placeholders, ids pseudonymised, columns outside the spec dropped."""
        paths = workspace.paths(spec.name)
        batch = redact_partitions(paths, spec, context.partition_keys, workspace.key(spec))
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(batch.accounting)
            | {f"replaced/{t}": n for t, n in batch.replaced.items()}
            | {"dropped_columns": ", ".join(batch.dropped_columns)}
        )
        yield contract_result(key("redacted"), "redacted_contract", batch.contract, paths, context.run_id)
        reconciled = reconcile.reconcile_redacted(paths, spec, context.partition_keys)
        yield accounting_result(key("redacted"), reconciled, paths, context.run_id)
        yield residue_result(key("redacted"), batch.pii_residue, paths, context.run_id)

    # After redaction too, though it reads only ingest's parts: a backfill then gathers the
    # quarantine in the same run as the whole-history steps, not in a run of its own.
    @dg.asset(key=key("quarantine"), deps=[*raw_keys, key("redacted")], kinds={"parquet"}, **common, **follow, **serial)
    def quarantine(workspace: TrainsetWorkspace) -> dg.MaterializeResult:
        """Every row that could not be processed, with its reason and location (no text)."""
        report = collect_quarantine(workspace.paths(spec.name), spec)
        return dg.MaterializeResult(
            metadata={ROW_COUNT: report.rows, "rows": report.rows}
            | {f"reason/{r}": n for r, n in report.by_reason.items()}
        )

    @dg.asset(
        key=key("eligible"),
        deps=[key("redacted")],
        check_specs=[_check(key("eligible"), "eligible_contract"), _check(key("eligible"), "row_accounting")],
        kinds={"pandas", "parquet"},
        **common,
        **follow,
        **serial,
    )
    def eligible(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """Retention enforced on storage; retention, erasure requests, consent opt-outs, partner
        terms and decisions, and partners' delete lists applied: only rows the dataset may still use."""
        paths = workspace.paths(spec.name)
        report = build_eligible(paths, spec, workspace.as_of_date(), workspace.key(spec))
        storage = report.retention_storage
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(report.accounting)
            | {"as_of": report.as_of.isoformat(), "erasure_requests": report.erasure_requests}
            | {
                "retention/files_deleted": storage.files_deleted,
                "retention/sensitive_rows_deleted": storage.sensitive_rows_deleted,
                "retention/oldest_day_kept": str(storage.oldest_day_kept),
            }
            | {f"partner/{use.source}/rows_used": use.rows_used for use in report.partners}
            | {f"partner/{use.source}/decision": str(use.decision or "none") for use in report.partners}
        )
        yield contract_result(key("eligible"), "eligible_contract", report.contract, paths, context.run_id)
        yield accounting_result(key("eligible"), reconcile.reconcile_eligible(paths), paths, context.run_id)

    # Consented feedback events become labels: every ingested day is read.
    every_day = dg.AllPartitionMapping()
    feedback = [dg.AssetDep(key("feedback_events"), partition_mapping=every_day)] if spec.feedback else []

    @dg.asset(
        key=key("labeled"),
        deps=[key("eligible"), *feedback],
        check_specs=[_check(key("labeled"), "labeled_contract"), _check(key("labeled"), "row_accounting")],
        kinds={"pandas", "parquet"},
        **common,
        **follow,
        **serial,
    )
    def labeled(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """Each eligible row's label and its provenance (source, adjudicated annotations, weak
        rules); agreement and gold per labeling batch; unlabelled rows kept as the labeling pool."""
        paths = workspace.paths(spec.name)
        report = build_labeled(paths, spec)
        agreement = {f"kappa/{b.batch}": b.kappa for b in report.batches if b.kappa is not None}
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(report.accounting)
            | {f"label_source/{s}": n for s, n in report.by_source.items()}
            | agreement
            | {"steward_queue": report.queue, "labeling_pool": report.pool}
            | {"flagged_annotators": ", ".join(report.flagged_annotators)}
        )
        assert report.contract is not None  # the step validates the contract on every run
        yield contract_result(key("labeled"), "labeled_contract", report.contract, paths, context.run_id)
        yield accounting_result(key("labeled"), reconcile.reconcile_labeled(paths), paths, context.run_id)

    training_checks = [
        _check(key("training_set"), "training_set_contract"),
        _check(key("training_set"), "row_accounting"),
        _check(key("training_set"), "expectation_suite"),
        # A gate's check blocks if its failure would (the one rule, before any waiver).
        *[
            _check(key("training_set"), name, blocking=gate_verdict(params.severity, passed=False).blocks)
            for name, params in spec.gates.declared()
        ],
    ]

    @dg.asset(
        key=key("training_set"),
        deps=[key("labeled")],
        check_specs=training_checks,
        kinds={"pandas", "parquet"},
        **common,
        **follow,
        **serial,
    )
    def training_set(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """Freshness window and stratified split; every quality gate measured on the result."""
        paths = workspace.paths(spec.name)
        evaluation = build_training_set(paths, spec, workspace.as_of_date(), paths.suite, run_id=context.run_id)
        report, run = evaluation.report, evaluation.run
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(report.accounting)
            | {f"split/{name}": n for name, n in report.splits.items()}
            | {"as_of": report.as_of.isoformat(), "gates_failed": sum(not g.passed for g in run.gates)}
            | {"gates_blocking": ", ".join(g.name for g in run.blocking)}
            | _language_metadata(report)
            | {"gate_report": dg.MetadataValue.path(str(evaluation.gate_report))}
            | {"gx_data_docs": dg.MetadataValue.path(str(paths.data_docs))}
        )
        assert run.contract is not None  # the step validates the contract on every run
        yield contract_result(key("training_set"), "training_set_contract", run.contract, paths, context.run_id)
        yield accounting_result(key("training_set"), reconcile.reconcile_training_set(paths), paths, context.run_id)
        yield expectations_result(key("training_set"), run.expectations)
        for gate in run.gates:
            yield gate_check_result(key("training_set"), gate)

    @dg.asset(
        key=key("release"), deps=[key("training_set"), key("quarantine")], kinds={"dvc"}, **common, **follow, **serial
    )
    def release(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace) -> dg.MaterializeResult:
        """An immutable version under datasets/, with manifest and card, pushed to DVC and tagged."""
        outcome = release_training_set(
            workspace.paths(spec.name),
            spec,
            spec_file,
            workspace.key(spec),
            context.run_id,
            kill=workspace.kill_switch(),
        )
        verb = "released" if outcome.created else "unchanged since"
        context.log.info(f"{spec.name}: {verb} v{outcome.version} at {outcome.path}")
        return dg.MaterializeResult(
            metadata={
                ROW_COUNT: read_manifest(outcome.path).rows,
                "version": outcome.version,
                "created": outcome.created,
                "path": dg.MetadataValue.path(str(outcome.path)),
                "tag": outcome.tag or "",
            }
        )

    assets += [redacted, quarantine, eligible, labeled, training_set, release]
    job = dg.define_asset_job(
        job_name(spec.name),
        selection=dg.AssetSelection.assets(*assets),
        partitions_def=daily,
        hooks={memory_released_on_success, memory_released_on_failure},
    )
    schedules = [_daily_schedule(spec, spec_file, job)] if spec.schedule is not None else []
    return dg.Definitions.merge(
        dg.Definitions(assets=assets, jobs=[job], schedules=schedules, sensors=[_landing_sensor(spec, job)]),
        build_feedback_defs(spec),
    )


@dg.success_hook(name="release_memory")
def memory_released_on_success(context: dg.HookContext) -> None:
    """After a step, the memory it freed goes back to the system (`memory.release_unused_memory`),
    so the next step in the same process does not start from this one's peak."""
    release_unused_memory()


@dg.failure_hook(name="release_memory_after_failure")
def memory_released_on_failure(context: dg.HookContext) -> None:
    release_unused_memory()


def pool_name(dataset: str) -> str:
    """The Dagster pool of a dataset's steps that must run one at a time (ingest and whole-history steps)."""
    return f"trainset_{dataset}"


def _raw_asset(spec: DatasetSpec, source_name: str, key, options: dict, after: list[dg.AssetKey]):
    asset_key = key(f"raw_{source_name}")
    source = next(s for s in spec.sources if s.name == source_name)

    @dg.asset(
        key=asset_key,
        check_specs=[_check(asset_key, "raw_contract"), _check(asset_key, "row_accounting")],
        kinds={source.format, "parquet"},
        deps=after,
        description=f"Source {source.name!r} as landed ({source.location}), placed in days by its timestamp, typed; "
        f"owner {source.owner}, legal basis {source.legal_basis}, licence {source.licence}.",
        **options,
    )
    def raw(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        paths = workspace.paths(spec.name)
        batch = land_raw(paths, spec, source_name, context.partition_keys, workspace.as_of_date())
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(batch.accounting)
            | {"files": len(batch.days), "quarantined": batch.accounting.removed_for("quarantined:")}
        )
        yield contract_result(asset_key, "raw_contract", batch.contract, paths, context.run_id)
        reconciled = reconcile.reconcile_raw(paths, source_name, context.partition_keys)
        yield accounting_result(asset_key, reconciled, paths, context.run_id)

    return raw


def _check(asset_key: dg.AssetKey, name: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset_key, blocking=blocking)


def _owners(spec: DatasetSpec) -> list[str]:
    return [f"team:{spec.owner}"]


def _language_metadata(report: TrainingSetReport) -> dict:
    """The language column, and the claimed-vs-detected mismatch rate where a language is claimed."""
    language = report.language
    if language is None:
        return {}
    rate = {} if language.mismatch_rate is None else {"language_mismatch_rate": language.mismatch_rate}
    return {"language_column": language.column or ""} | rate


def _accounting_metadata(accounting: RowAccounting) -> dict:
    """Row accounting as metadata: rows in and out, removed per reason, and Dagster's row count
    (the rows the materialization stored: for a range of days, all of them)."""
    removed = {f"removed/{reason}": n for reason, n in accounting.removed.items()}
    return {ROW_COUNT: accounting.rows_out, "rows_in": accounting.rows_in, "rows_out": accounting.rows_out, **removed}


def _daily_schedule(spec: DatasetSpec, spec_file: Path, job) -> dg.ScheduleDefinition:
    """The spec's schedule, in UTC. Raises SpecError, naming the file and the field, if Dagster
    refuses the cron string: the schedule is checked by Dagster's own rules, where it is built, so
    that the verbs that never load Dagster (`redact`, `gates`) do not pay for importing it."""
    assert spec.schedule is not None

    def schedule(context: dg.ScheduleEvaluationContext, workspace: TrainsetWorkspace):
        """At each tick, process the last complete day and rebuild the training set; a day built
        before whose records new exports update or move is rebuilt in the same run."""
        when: datetime = context.scheduled_execution_time
        day = when.date() - timedelta(days=1)
        paths = workspace.paths(spec.name)
        try:
            _, changed = _would_land(spec, workspace)
        except SourceError:  # the run fails naming it, as it always has
            changed = set()
        first, _ = rebuilt_with(paths, spec, changed, day, day, day)
        if first < day:
            yield dg.RunRequest(tags={RANGE_START: first.isoformat(), RANGE_END: day.isoformat()})
        else:
            yield dg.RunRequest(partition_key=day.isoformat())

    try:
        return dg.schedule(
            name=f"{spec.name}_schedule", cron_schedule=spec.schedule, job=job, execution_timezone="UTC"
        )(schedule)
    except dg.DagsterInvalidDefinitionError as error:
        raise SpecError(
            f"{spec_file}: attributes.schedule: {spec.schedule!r} is not a cron schedule Dagster can run. "
            "Write five fields, minute hour day-of-month month day-of-week (UTC), each in its range: "
            "e.g. `0 3 * * *` for 03:00 every day, or remove `schedule` to run by hand only."
        ) from error


def _would_land(spec: DatasetSpec, workspace: TrainsetWorkspace) -> tuple[list[str], set[str]]:
    """What landing every source now would do, without landing anything: the new exports'
    sha256s and the days they would change. Raises SourceError as landing does."""
    paths, shas, days = workspace.paths(spec.name), [], set()
    for source in spec.sources:
        landing = land_source(paths, spec, source, as_of=workspace.as_of_date(), write=False)
        shas += [e.sha256 for e in landing.exports]
        days.update(landing.touched)
    return shas, days


def _landing_sensor(spec: DatasetSpec, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{spec.name}_landing_sensor", job=job, minimum_interval_seconds=300)
    def landing_sensor(context: dg.SensorEvaluationContext, workspace: TrainsetWorkspace):
        """Start a run over the days that new exports (or new rows of a SQL source) would change.

        Nothing is landed here: the run's raw assets land them (`land_source`), once; until then
        the same exports give the same run key, which Dagster runs once."""
        try:
            shas, days = _would_land(spec, workspace)
        except SourceError as error:  # said in the sensor's tick; the run would fail the same way
            return dg.SkipReason(str(error))
        # Days outside the partitions (before the first, or today's still-open day) wait.
        runnable = sorted(d for d in days if spec.first_date.isoformat() <= d <= last_complete_day().isoformat())
        if not runnable:
            return dg.SkipReason("no new export, or none with a complete day")
        return dg.RunRequest(
            run_key=combined_sha256(sorted(shas)),
            tags={RANGE_START: runnable[0], RANGE_END: runnable[-1]},
        )

    return landing_sensor
