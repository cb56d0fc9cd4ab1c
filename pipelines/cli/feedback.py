"""`trainset feedback`: the events table, logging, ingestion and the pilot report. Each
subcommand lives in its own module, imported only when it runs."""

from __future__ import annotations

import importlib

import click

#: subcommand -> module defining a click command of the same name (`-` spelled `_`)
SUBCOMMANDS = {
    "init-db": "pipelines.cli.feedback_db",
    "model": "pipelines.cli.feedback_db",
    "log": "pipelines.cli.feedback_db",
    "ingest": "pipelines.cli.feedback_ingest",
    "report": "pipelines.cli.feedback_report",
}


class _Subcommands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        command: click.Command = getattr(importlib.import_module(SUBCOMMANDS[cmd_name]), cmd_name.replace("-", "_"))
        return command


@click.group(cls=_Subcommands)
def feedback() -> None:
    """Prediction outcomes of a deployed model: log them, ingest them, report acceptance and drift."""
