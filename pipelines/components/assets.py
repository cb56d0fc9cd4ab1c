"""The asset graph of one dataset, built from its spec. Assets are thin: each calls one step (the
`steps` module of its stage in `pipelines.lib`) and turns its counts into Dagster metadata and
asset-check results."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.components.checks import accounting_result, contract_result, residue_result
from pipelines.components.resources import TrainsetWorkspace, job_name
from pipelines.lib.ingest.steps import collect_quarantine, land_raw
from pipelines.lib.privacy.steps import build_eligible, redact_partitions
from pipelines.lib.quality import reconcile
from pipelines.lib.quality.steps import build_training_set
from pipelines.lib.release.steps import release_training_set
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import last_complete_day


def build_dataset_defs(spec: DatasetSpec, spec_file: Path) -> dg.Definitions:
    """Assets, checks, job, schedule and landing sensor of one declared dataset, in its own group."""
    daily = dg.DailyPartitionsDefinition(start_date=spec.first_date.isoformat(), timezone="UTC")
    key = lambda name: dg.AssetKey([spec.name, name])  # noqa: E731
    raw_keys = [key(f"raw_{source.name}") for source in spec.sources]
    common: dict[str, Any] = {"group_name": spec.name, "owners": _owners(spec)}
    # Declarative automation: downstream assets follow new raw days, never past a failed blocking check.
    follow: dict[str, Any] = {
        "automation_condition": dg.AutomationCondition.eager()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    }
    partitioned: dict[str, Any] = {"partitions_def": daily, "backfill_policy": dg.BackfillPolicy.single_run()}

    assets: list = [_raw_asset(spec, source.name, key, common | partitioned) for source in spec.sources]

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
        **partitioned,
        **follow,
    )
    def redacted(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """PII replaced by typed placeholders, ids pseudonymised, columns outside the spec dropped."""
        stats = redact_partitions(workspace.paths(spec.name), spec, context.partition_keys, workspace.key(spec))
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(stats["accounting"])
            | {f"replaced/{t}": n for t, n in stats["replaced"].items()}
            | {"dropped_columns": ", ".join(stats["dropped_columns"])}
        )
        yield contract_result(key("redacted"), "redacted_contract", stats["contract"])
        paths = workspace.paths(spec.name)
        reconciled = reconcile.reconcile_redacted(paths, spec, context.partition_keys)
        yield accounting_result(key("redacted"), reconciled, paths, context.run_id)
        yield residue_result(key("redacted"), stats["pii_residue"], paths, context.run_id)

    @dg.asset(key=key("quarantine"), deps=raw_keys, kinds={"parquet"}, **common, **follow)
    def quarantine(workspace: TrainsetWorkspace) -> dg.MaterializeResult:
        """Every row that could not be processed, with its reason and location (no text)."""
        stats = collect_quarantine(workspace.paths(spec.name), spec)
        return dg.MaterializeResult(
            metadata={"rows": stats["rows"], **{f"reason/{r}": n for r, n in stats["by_reason"].items()}}
        )

    @dg.asset(
        key=key("eligible"),
        deps=[key("redacted")],
        check_specs=[_check(key("eligible"), "eligible_contract"), _check(key("eligible"), "row_accounting")],
        kinds={"pandas", "parquet"},
        **common,
        **follow,
    )
    def eligible(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """Retention enforced on storage; retention, erasure requests and consent opt-outs applied:
        only rows the dataset may still use."""
        stats = build_eligible(workspace.paths(spec.name), spec, workspace.as_of_date(), workspace.key(spec))
        storage = stats["retention_storage"]
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(stats["accounting"])
            | {"as_of": stats["as_of"], "erasure_requests": stats["erasure_requests"]}
            | {f"retention/{name}": value for name, value in storage.items()}
        )
        yield contract_result(key("eligible"), "eligible_contract", stats["contract"])
        paths = workspace.paths(spec.name)
        yield accounting_result(key("eligible"), reconcile.reconcile_eligible(paths), paths, context.run_id)

    gate_names = [name for name, bar in spec.gates if bar is not None]
    training_checks = [
        _check(key("training_set"), "training_set_contract"),
        _check(key("training_set"), "row_accounting"),
        _check(key("training_set"), "expectation_suite"),
        *[
            _check(key("training_set"), name, blocking=getattr(spec.gates, name).severity == "error")
            for name in gate_names
        ],
    ]

    @dg.asset(
        key=key("training_set"),
        deps=[key("eligible")],
        check_specs=training_checks,
        kinds={"pandas", "parquet"},
        **common,
        **follow,
    )
    def training_set(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        """Freshness window and stratified split; every quality gate measured on the result."""
        paths = workspace.paths(spec.name)
        evaluation = build_training_set(paths, spec, workspace.as_of_date(), paths.suite, run_id=context.run_id)
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(evaluation.stats["accounting"])
            | {"as_of": evaluation.stats["as_of"], "gates_failed": sum(not g.passed for g in evaluation.gates)}
            | {"language_mismatch_rate": evaluation.stats["language"]["mismatch_rate"]}
            | {"gate_report": dg.MetadataValue.path(str(paths.warehouse / "gate_runs" / f"{context.run_id}.html"))}
            | {"gx_data_docs": dg.MetadataValue.path(str(paths.data_docs))}
        )
        yield contract_result(key("training_set"), "training_set_contract", evaluation.contract.__dict__)
        yield accounting_result(key("training_set"), reconcile.reconcile_training_set(paths), paths, context.run_id)
        failed = [e for e in evaluation.expectations if not e.success]
        yield dg.AssetCheckResult(
            asset_key=key("training_set"),
            check_name="expectation_suite",
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(f"{e.type}({e.column}): {e.observed or 'failed'}" for e in failed)
            or f"all {len(evaluation.expectations)} expectations met",
            metadata={"expectations": len(evaluation.expectations), "failed": len(failed)},
        )
        for gate in evaluation.gates:
            # A waived gate still fails, as a warning: visible, but no longer blocking.
            blocking = gate.severity == "error" and gate.waiver is None
            yield dg.AssetCheckResult(
                asset_key=key("training_set"),
                check_name=gate.name,
                passed=gate.passed,
                severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
                description=gate.message(),
                metadata={
                    "measured": str(gate.measured),
                    "required": str(gate.required),
                    "failing": ", ".join(gate.failing),
                    "waiver": f"{gate.waiver['approver']} until {gate.waiver['expires']}" if gate.waiver else "",
                },
            )

    @dg.asset(key=key("release"), deps=[key("training_set"), key("quarantine")], kinds={"dvc"}, **common, **follow)
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
                "version": outcome.version,
                "created": outcome.created,
                "path": dg.MetadataValue.path(str(outcome.path)),
                "tag": outcome.tag or "",
            }
        )

    assets += [redacted, quarantine, eligible, training_set, release]
    job = dg.define_asset_job(job_name(spec.name), selection=dg.AssetSelection.groups(spec.name), partitions_def=daily)
    schedules = [_daily_schedule(spec, job)] if spec.schedule else []
    return dg.Definitions(assets=assets, jobs=[job], schedules=schedules, sensors=[_landing_sensor(spec, job)])


def _raw_asset(spec: DatasetSpec, source_name: str, key, options: dict):
    asset_key = key(f"raw_{source_name}")
    source = next(s for s in spec.sources if s.name == source_name)

    @dg.asset(
        key=asset_key,
        check_specs=[_check(asset_key, "raw_contract"), _check(asset_key, "row_accounting")],
        kinds={source.format, "parquet"},
        description=f"Source {source.name!r} as landed ({source.path}, one {source.format} file per day), typed; "
        f"owner {source.owner}, legal basis {source.legal_basis}, licence {source.licence}.",
        **options,
    )
    def raw(context: dg.AssetExecutionContext, workspace: TrainsetWorkspace):
        paths = workspace.paths(spec.name)
        stats = land_raw(paths, spec, source_name, context.partition_keys)
        yield dg.MaterializeResult(
            metadata=_accounting_metadata(stats["accounting"]) | {"files": len(context.partition_keys)}
        )
        yield contract_result(asset_key, "raw_contract", stats["contract"])
        reconciled = reconcile.reconcile_raw(paths, source_name, context.partition_keys)
        yield accounting_result(asset_key, reconciled, paths, context.run_id)

    return raw


def _check(asset_key: dg.AssetKey, name: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset_key, blocking=blocking)


def _owners(spec: DatasetSpec) -> list[str]:
    return [f"team:{spec.owner}"]


def _accounting_metadata(accounting: dict) -> dict:
    removed = {f"removed/{reason}": n for reason, n in accounting["removed"].items()}
    return {"rows_in": accounting["rows_in"], "rows_out": accounting["rows_out"], **removed}


def _daily_schedule(spec: DatasetSpec, job) -> dg.ScheduleDefinition:
    assert spec.schedule is not None

    @dg.schedule(name=f"{spec.name}_schedule", cron_schedule=spec.schedule, job=job, execution_timezone="UTC")
    def schedule(context: dg.ScheduleEvaluationContext):
        """At each tick, process the last complete day and rebuild the training set."""
        when: datetime = context.scheduled_execution_time
        yield dg.RunRequest(partition_key=(when.date() - timedelta(days=1)).isoformat())

    return schedule


def _landing_sensor(spec: DatasetSpec, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{spec.name}_landing_sensor", job=job, minimum_interval_seconds=300)
    def landing_sensor(context: dg.SensorEvaluationContext, workspace: TrainsetWorkspace):
        """Start a run for each day whose landed file is new or changed since the last look."""
        root = workspace.paths(spec.name).root
        seen = json.loads(context.cursor) if context.cursor else {}
        landed = {
            str(path.relative_to(root)): path.stat().st_mtime_ns
            for source in spec.sources
            for path in (root / source.path).glob(f"*.{source.format}")
        }
        changed = sorted(name for name, stamp in landed.items() if seen.get(name) != stamp)
        for name in changed:
            day = Path(name).stem
            # Days outside the partitions (before the first, or today's still-open day) wait.
            if spec.first_date.isoformat() <= day <= last_complete_day().isoformat():
                yield dg.RunRequest(run_key=f"{name}@{landed[name]}", partition_key=day)
        context.update_cursor(json.dumps(landed, sort_keys=True))

    return landing_sensor
