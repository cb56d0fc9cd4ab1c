"""Options shared by several verbs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pipelines.lib.workspace import default_workspace

dataset_option = click.argument("dataset", required=False)
workspace_option = click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: default_workspace(),
    callback=lambda _ctx, _param, value: value.resolve(),
    show_default="$TRAINSET_WORKSPACE, else the nearest folder at or above the current one holding pipelines/defs/, "
    "else the project folder",
    help="Workspace folder (a git + DVC repository): its pipelines/defs/ declares the datasets, its "
    "expectations/ holds their GX suites.",
)


def local_dagster_home(workspace: Path) -> Path:
    """`$DAGSTER_HOME`, else the workspace's `.dagster_home` (created, with SQLite storage and no
    telemetry): where the verbs that run Dagster in process keep its runs and events."""
    os.environ.setdefault("DAGSTER_HOME", str(workspace / ".dagster_home"))
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():  # defaults: SQLite storage under DAGSTER_HOME
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    if home == workspace / ".dagster_home":  # runs' state: never committed, before a release ignores it too
        from pipelines.lib.zones import keep_out_of_git

        keep_out_of_git(home)
    return home


#: `init` starts a workspace: outside any, the current folder is the one it drafts into (never
#: the project folder a user did not mean to write into)
init_workspace_option = click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: default_workspace(fallback=Path.cwd()),
    callback=lambda _ctx, _param, value: value.resolve(),
    show_default="$TRAINSET_WORKSPACE, else the nearest folder at or above the current one holding pipelines/defs/, "
    "else the current folder",
    help="Workspace folder to draft the dataset into (a git + DVC repository for releases): its pipelines/defs/ "
    "declares the datasets, its expectations/ holds their GX suites.",
)
