"""Options shared by several verbs."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.lib.workspace import default_workspace

dataset_option = click.argument("dataset", required=False)
workspace_option = click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: default_workspace(),
    callback=lambda _ctx, _param, value: value.resolve(),
    show_default="$TRAINSET_WORKSPACE or the project folder",
    help="Workspace folder (a git + DVC repository): its pipelines/defs/ declares the datasets, its "
    "expectations/ holds their GX suites.",
)
