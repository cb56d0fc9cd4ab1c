"""`trainset feedback ingest`: one tick of a dataset's feedback sensor, run in process."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import dataset_option, local_dagster_home, workspace_option
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@workspace_option
def ingest(dataset: str | None, workspace: Path) -> None:
    """Ingest DATASET's feedback events logged since the last ingestion: each day holding new (or
    late) events is read whole from the store, checked (unknown ticket, model version, action or
    category are quarantined with the reason) and stored; then acceptance, drift and their gates
    are measured. Running it again ingests nothing new."""
    from pipelines.feedback_runner import ingest_feedback
    from pipelines.lib.catalog import choose_dataset

    spec, _ = choose_dataset(dataset, workspace)
    local_dagster_home(workspace)
    summary = ingest_feedback(spec, workspace)
    if summary.skipped:
        click.echo(f"{spec.name}: {summary.skipped}")
    elif summary.outside:
        click.echo(f"{spec.name}: {summary.outside}")
    for day in summary.days:
        quarantined = summary.quarantined.get(day, {})
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(quarantined.items()))
        held = f", {sum(quarantined.values())} quarantined ({reasons})" if quarantined else ""
        click.echo(f"{spec.name}: ingested {day}: {summary.events.get(day, 0)} event(s) kept{held}")
    if any(summary.quarantined.values()):
        folder = DatasetPaths(workspace, spec.name).feedback_quarantine("day").parent
        click.echo(f"  quarantined events (id, ticket, reason; never text): {folder}/")
    for line in summary.checks:
        click.echo(f"  {line}")
    if summary.days:
        click.echo(f"report: trainset feedback report {spec.name}")
    if summary.failed:
        raise click.ClickException(f"{spec.name}: ingestion failed for {', '.join(summary.failed)}; see the run's log")
