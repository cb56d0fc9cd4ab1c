"""`trainset deploy start|stop|status`: the local production-shaped deployment (PostgreSQL instance,
Dagster daemon and webserver, Celery workers)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import workspace_option


@click.group()
def deploy() -> None:
    """Start, stop or show the local deployment: Dagster on PostgreSQL, its daemon and webserver,
    and Celery workers on the RabbitMQ broker (see deploy/)."""


@deploy.command()
@workspace_option
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Celery worker processes.")
@click.option(
    "--port",
    type=int,
    default=3070,
    show_default=True,
    help="The webserver's port on 127.0.0.1 (recorded: `status`, `stop` and `backfill` find it).",
)
@click.option(
    "--vhost",
    default=None,
    help="A RabbitMQ virtual host of the deployment's own (created when missing), so that no other "
    "deployment on the broker takes its steps; default: the broker URL's.",
)
def start(workspace: Path, workers: int, port: int, vhost: str | None) -> None:
    """Start what is not running yet, and wait until it answers."""
    from pipelines.deployment.local import Deployment
    from pipelines.deployment.local import start as start_deployment

    deployment = Deployment(workspace, workers=workers, port=port, vhost=vhost)
    for line in start_deployment(deployment):
        click.echo(line)
    click.echo(deployment.describe())
    click.echo(f"Dagster UI: {deployment.url}; stop with `trainset deploy stop` (or `make deploy-stop`)")


@deploy.command()
@workspace_option
def stop(workspace: Path) -> None:
    """Stop every process of the deployment (runs in flight fail and can be re-run)."""
    from pipelines.deployment.local import Deployment
    from pipelines.deployment.local import stop as stop_deployment

    for line in stop_deployment(Deployment.of(workspace, workers=16)):
        click.echo(line)


@deploy.command()
@workspace_option
def status(workspace: Path) -> None:
    """Say which processes of the deployment are running."""
    from pipelines.deployment.local import Deployment, recorded, running_pid

    deployment = Deployment.of(workspace, workers=16)
    started = recorded(workspace).get("workers", 2)
    for name in deployment.processes():
        pid = running_pid(deployment, name)
        # Every worker `start` started (worker1..workerN), and any other still running.
        if pid is not None or not name.startswith("worker") or int(name.removeprefix("worker")) <= started:
            click.echo(f"{name}: {f'running (pid {pid})' if pid else 'stopped'}")
    click.echo(deployment.describe())
