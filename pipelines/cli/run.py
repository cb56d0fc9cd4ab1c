"""`trainset run`: materialize a dataset's whole asset graph, in process, on the local instance."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, local_dagster_home, workspace_option
from pipelines.lib.audit.events import record_run
from pipelines.lib.catalog import choose_dataset


@click.command()
@dataset_option
@workspace_option
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day to (re)process (default: first landed file).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day to process (default: last landed file).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Reference day for retention and freshness (default: yesterday, UTC). A day after today removes rows "
    "from the build only: storage keeps what today's retention allows.",
)
@click.option("--verbose", is_flag=True, help="Show Dagster's own log (steps, events, tracebacks) as the run goes.")
def run(dataset: str | None, workspace: Path, start, end, as_of, verbose: bool) -> None:
    """Land, redact, filter, gate and release DATASET (may be left out when the workspace declares
    only one); exit 1 if a gate blocks the release."""
    from pipelines.runner import materialize_dataset  # Dagster loads only for the verbs that run it

    spec, spec_file = choose_dataset(dataset, workspace)
    local_dagster_home(workspace)
    summary = materialize_dataset(
        spec,
        workspace,
        spec_file=spec_file,
        start=start.date() if start else None,
        end=end.date() if end else None,
        as_of=as_of.date() if as_of else None,
        # The summary below names each failure's root cause; Dagster's log repeats it with tracebacks.
        log_level="INFO" if verbose else "CRITICAL",
    )
    _report(summary)
    record_run(workspace, spec.name, summary)  # the audit log's entry for this run, whatever came of it
    sys.exit(0 if summary.success else 1)


def _report(summary) -> None:
    click.echo(f"run {summary.run_id}: partitions {summary.partitions}")
    for line in summary.asset_lines:
        click.echo(f"  {line}")
    for line in summary.not_applied:
        click.echo(f"  not applied: {line}")
    if summary.placeholders:
        click.echo(f"  to fill in (still TODO in defs.yaml): {', '.join(summary.placeholders)}")
    for check in summary.failed_checks:
        click.echo(f"  check {check}", err=not summary.success)
    if summary.release:
        click.echo(summary.release)
    if summary.gate_report:
        click.echo(f"gate report: {summary.gate_report}", err=not summary.success)
    if not summary.success:
        click.echo(f"FAILED: {summary.failure}", err=True)
