"""`trainset feedback`: the events table, logging, ingestion and the pilot report. Each
subcommand lives in its own module, imported only when it runs."""

from __future__ import annotations

import click

from pipelines.cli import LazyGroup

#: subcommand -> module defining a click command of the same name (`-` spelled `_`)
SUBCOMMANDS = {
    "init-db": "pipelines.cli.feedback_db",
    "model": "pipelines.cli.feedback_db",
    "log": "pipelines.cli.feedback_db",
    "ingest": "pipelines.cli.feedback_ingest",
    "report": "pipelines.cli.feedback_report",
}


@click.group(cls=LazyGroup, modules=SUBCOMMANDS)
def feedback() -> None:
    """Prediction outcomes of a deployed model: log them, ingest them, report acceptance and drift."""
