"""`trainset audit`: check the workspace's audit log, list it, and print a dataset's change log
with who pulled each version."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.audit.entries import AuditEntry
from pipelines.lib.audit.log import AUDIT_LOG, entries, read_lines
from pipelines.lib.audit.verify import check_chain


@click.group()
def audit() -> None:
    """The audit log (audit/log.jsonl): every run, release, withdrawal, pull, waiver, allowance,
    erasure request and retention deletion; who, when, what and why, chained by sha256."""


@audit.command()
@workspace_option
def verify(workspace: Path) -> None:
    """Check every entry's hash and its link to the one before; exit 1 naming each entry that was
    edited or removed."""
    count = check_chain(workspace)
    click.echo(f"{workspace / AUDIT_LOG}: {count} entries, the chain holds")


@audit.command()
@click.option("--dataset", default=None, help="Only the entries about this dataset.")
@click.option("--version", "version", type=int, default=None, help="Only the entries about this version (vN: N).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Only entries from this day (UTC) on.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@workspace_option
def show(dataset: str | None, version: int | None, since, fmt: str, workspace: Path) -> None:
    """List the audit log, oldest first: number, when, what (event, dataset@version, counts), who, why."""
    chosen = [e for e in entries(workspace) if _matches(e, dataset, version, since.date() if since else None)]
    for entry in chosen:
        if fmt == "json":
            click.echo(entry.line())
            continue
        why = f"  — {entry.why}" if entry.why else ""
        click.echo(f"#{entry.seq:<5} {entry.at:%Y-%m-%dT%H:%M:%SZ}  {entry.summary()}  by {entry.who}{why}")
    if fmt == "text" and not chosen:
        click.echo(f"no audit entries{_filters(dataset, version, since)} in {workspace / AUDIT_LOG}")
    unread = sum(line.entry is None for line in read_lines(workspace))
    if unread:
        click.echo(f"warning: {unread} line(s) are not audit entries; run `trainset audit verify`", err=True)


@audit.command()
@click.argument("dataset")
@workspace_option
def changelog(dataset: str, workspace: Path) -> None:
    """Print DATASET's change log (datasets/DATASET/CHANGELOG.md as of now), with who pulled each
    version through trainset."""
    from pipelines.lib.audit.changelog import changelog as render  # loads pyarrow and the manifests
    from pipelines.lib.release.versions import versions

    releases = workspace / "datasets" / dataset
    if not versions(releases):
        raise click.UsageError(f"{dataset} has no released version under {releases}: there is no change log yet")
    click.echo(render(workspace, dataset, entries(workspace), pulls=True), nl=False)


def _matches(entry: AuditEntry, dataset: str | None, version: int | None, since: date | None) -> bool:
    event = entry.event
    if dataset is not None and event.dataset != dataset and dataset not in getattr(event, "datasets", []):
        return False
    if version is not None and event.version != version:
        return False
    return since is None or entry.at.date() >= since


def _filters(dataset: str | None, version: int | None, since) -> str:
    parts = [
        f"about {dataset}" if dataset else "",
        f"v{version}" if version else "",
        f"since {since.date()}" if since else "",
    ]
    return (" " + " ".join(p for p in parts if p)) if any(parts) else ""
