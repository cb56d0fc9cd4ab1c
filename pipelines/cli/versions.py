"""`trainset versions`: list a dataset's released versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.audit.log import entries
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.partners.eligibility import lapsed_partners
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.release.versions import versions as list_versions
from pipelines.lib.release.withdrawal import read_registry


@click.command()
@dataset_option
@workspace_option
def versions(dataset: str | None, workspace: Path) -> None:
    """List the released versions of DATASET with their size, gates and tag, and who pulled each
    through trainset (the audit log). DATASET may be left out when the workspace declares only one."""
    spec = choose_dataset(dataset, workspace)[0]
    dataset = spec.name
    releases = workspace / "datasets" / dataset
    found = list_versions(releases)
    if not found:
        click.echo(f"{dataset}: no versions under {releases}")
        return
    withdrawn = read_registry(workspace, dataset)["withdrawn"]
    pulls = [e for e in entries(workspace) if e.event.type == "pull" and e.event.dataset == dataset]
    for version in found:
        if str(version) in withdrawn:
            entry = withdrawn[str(version)]
            when, why, replacement = entry["withdrawn_at"], entry["reason"], entry["replaced_by"]
            click.echo(f"{dataset}@v{version}  WITHDRAWN {when} ({why}); use v{replacement}")
            continue
        manifest = read_manifest(releases / f"v{version}")
        not_passed = [f"{g.name} ({g.status.value})" for g in manifest.gates if not g.passed]
        click.echo(
            f"{dataset}@v{version}  {manifest.rows} rows  as of {manifest.as_of}  "
            f"created {manifest.created_at.isoformat()}  "
            f"gates: {'all passed' if not not_passed else 'not passed: ' + ', '.join(not_passed)}"
        )
        pulled = [e for e in pulls if e.event.version == version]
        if pulled:  # from the audit log: the version folder is never rewritten
            last = pulled[-1]
            click.echo(f"  pulled through trainset {len(pulled)} time(s), last {last.at.date()} by {last.who}")
        for lapsed in lapsed_partners(manifest, workspace, datetime.now(UTC).date(), spec):
            click.echo(f"  partner rows no longer usable for training: {lapsed}")
