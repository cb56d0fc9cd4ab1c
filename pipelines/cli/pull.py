"""`trainset pull`: fetch an exact version through DVC and verify every file's hash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.audit.events import record_pull
from pipelines.lib.catalog import SpecError, dataset_specs
from pipelines.lib.partners.eligibility import lapsed_partners
from pipelines.lib.release.consume import fetch_version, parse_ref
from pipelines.lib.release.versions import read_manifest


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
    record_pull(workspace, dataset, version, verified)
    click.echo(f"pulled {dataset}@v{version} into {out}: {len(verified)} files, every sha256 matches manifest.json")
    # Fetched all the same (a model trained on it may need auditing), but said: its partner rows
    # were released under a basis that no longer holds.
    try:
        spec = dataset_specs(workspace).get(dataset, (None, None))[0]
    except SpecError:  # judged on the terms the version was released under
        spec = None
    for lapsed in lapsed_partners(read_manifest(out), workspace, datetime.now(UTC).date(), spec):
        click.echo(
            f"warning: {dataset}@v{version} holds partner rows no longer usable for training, {lapsed}; "
            "train on a later version",
            err=True,
        )
