"""`trainset backfill`: a dataset's days through the local deployment, spread over its workers."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@workspace_option
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (default: first landed)."
)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (default: last landed).")
@click.option(
    "--port",
    type=int,
    default=None,
    help="The deployment's webserver port (default: the one `trainset deploy start` recorded for the workspace).",
)
@click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds to wait for the backfill.")
def backfill(dataset: str | None, workspace: Path, start, end, port: int | None, timeout: float) -> None:
    """Land DATASET's new exports, then backfill its days on the deployment (`trainset deploy
    start`): ingest once, redaction in batches of days on the Celery workers, then eligibility,
    labels, gates and the release; exit 1 if the backfill fails."""
    from pipelines.deployment.backfill import launch, wait
    from pipelines.deployment.local import Deployment
    from pipelines.runner import prepare_run

    spec, spec_file = choose_dataset(dataset, workspace)
    deployment = Deployment.of(workspace, port=port)
    first, last, as_of = prepare_run(spec, workspace, spec_file, start=start and start.date(), end=end and end.date())
    assets = [f"raw_{s.name}" for s in spec.sources] + ["redacted", "quarantine", "eligible", "labeled"]
    from pipelines.lib.release.versions import versions

    releases = DatasetPaths(workspace, spec.name).releases
    before = versions(releases)
    launched_at = datetime.now(UTC).replace(microsecond=0)  # gate runs record their time to the second
    backfill_id = launch(deployment, spec, first, last, as_of, asset_names=assets + ["training_set", "release"])
    click.echo(f"backfill {backfill_id}: {spec.name} {first}..{last} on {deployment.url}")
    outcome = wait(deployment, backfill_id, timeout=timeout)
    runs = ", ".join(f"{n} {status.lower()}" for status, n in sorted(outcome.runs.items()))
    click.echo(f"  {outcome.status.lower()}: {sum(outcome.runs.values())} runs ({runs})")
    for worker, steps in sorted(outcome.steps_by_worker.items()):
        click.echo(f"  {worker}: {len(steps)} steps")
    _report_gates(DatasetPaths(workspace, spec.name), launched_at)
    found = versions(releases)
    if not found:
        click.echo("no version released")
    else:
        latest = f"v{found[-1]} at {releases / f'v{found[-1]}'}"
        click.echo(f"released {latest}" if found != before else f"no new version; latest is {latest}")
    from pipelines.lib.audit.entries import RunEvent
    from pipelines.lib.audit.log import record

    released = outcome.success and found != before
    record(  # the audit log's entry for the backfill, as `trainset run` makes one for its run
        workspace,
        RunEvent(
            dataset=spec.name,
            version=found[-1] if found else None,
            run_id=f"backfill {backfill_id}",
            outcome="released" if released else "unchanged" if outcome.success else "failed",
            partitions=f"{first}..{last}",
        ),
    )
    sys.exit(0 if outcome.success else 1)


def _report_gates(paths: DatasetPaths, launched_at: datetime) -> None:
    """Each gate the backfill's training set failed (warned, waived or blocking), and its HTML
    gate report, as `trainset run` says them; nothing when no gate was measured since the launch."""
    from pipelines.lib.report_files import gate_run_path, read_gate_run

    run = read_gate_run(paths)
    if run is None or run.evaluated_at is None or run.evaluated_at < launched_at:
        return
    for gate in run.gates:
        if not gate.passed:
            click.echo(f"  check {gate.name} [{gate.severity.upper()}]: {gate.message()}")
    report = gate_run_path(paths, run.run_id, ".html") if run.run_id else None
    if report is not None and report.is_file():
        click.echo(f"gate report: {report}")
