"""`trainset dvc-stages`: write dvc.yaml, one stage per declared dataset, from the specs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.catalog import dataset_specs
from pipelines.lib.release.stages import DVC_YAML, render_stages, write_stages


@click.command("dvc-stages")
@workspace_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if dvc.yaml differs from what the specs give.")
def dvc_stages(workspace: Path, check: bool) -> None:
    """Write WORKSPACE/dvc.yaml from the specs under pipelines/defs/: each dataset's sources, code,
    spec and suite as deps, its policy as params, its gate metrics and coverage plot."""
    names = ", ".join(sorted(dataset_specs(workspace))) or "no dataset"
    path = workspace / DVC_YAML
    if check:
        current = path.read_text() if path.is_file() else ""
        if current != render_stages(workspace):
            click.echo(
                f"{path} is not what the specs give ({names}); run `trainset dvc-stages` and commit it", err=True
            )
            sys.exit(1)
        click.echo(f"{path} is up to date: {names}")
        return
    changed = write_stages(workspace)
    click.echo(f"{'wrote' if changed else 'unchanged:'} {path}: a stage for each of {names}")
