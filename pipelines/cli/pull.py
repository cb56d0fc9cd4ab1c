"""`trainset pull`: fetch an exact version through DVC and verify every file's hash."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.release.consume import fetch_version, parse_ref


@click.command()
@click.argument("ref")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the version to (must not exist).",
)
@workspace_option
def pull(ref: str, out: Path, workspace: Path) -> None:
    """Fetch REF (e.g. ticket_triage@v1) into OUT and verify it against its manifest."""
    dataset, version = parse_ref(ref)
    verified = fetch_version(workspace, dataset, version, out)
    click.echo(f"pulled {dataset}@v{version} into {out}: {len(verified)} files, every sha256 matches manifest.json")
