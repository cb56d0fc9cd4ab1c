"""`trainset landed`: what each source of a dataset has landed, from its landing ledger."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.ingest.landing import read_ledger
from pipelines.lib.reports import LandedExport
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@click.option("--source", "source_name", help="Only this source (default: every source of the dataset).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@workspace_option
def landed(dataset: str | None, source_name: str | None, output: str, workspace: Path) -> None:
    """List the exports (or SQL batches) each source of DATASET has landed, oldest first: when,
    its sha256, the records read, the days they went to and the earlier copies of their ids they
    replaced (the ledger in data/warehouse/<name>/landed_<source>/ledger.json; no record is
    shown). DATASET may be left out when the workspace declares only one."""
    spec = choose_dataset(dataset, workspace)[0]
    names = [s.name for s in spec.sources]
    if source_name is not None and source_name not in names:
        raise click.UsageError(f"{spec.name} has no source named {source_name!r}; its sources: {', '.join(names)}")
    paths = DatasetPaths(workspace, spec.name)
    ledgers = [read_ledger(paths, name) for name in names if source_name in (None, name)]
    if output == "json":
        click.echo(json.dumps([ledger.model_dump(mode="json") for ledger in ledgers], indent=2))
        return
    for ledger in ledgers:
        if not ledger.exports:
            click.echo(f"{spec.name} / {ledger.source}: nothing landed yet")
            continue
        records = sum(e.records for e in ledger.exports)
        replaced = sum(e.replaced for e in ledger.exports)
        click.echo(
            f"{spec.name} / {ledger.source}: {len(ledger.exports)} export(s), {records} records read, "
            f"{replaced} earlier copies replaced"
        )
        for export in ledger.exports:
            click.echo(f"  {_line(export)}")
        if ledger.watermark:
            click.echo(f"  watermark (the highest value read so far): {json.dumps(ledger.watermark)}")


def _line(export: LandedExport) -> str:
    """One export: when, which file, its records and where they went."""
    days = sorted(export.days)
    if not days:
        where = "no day"
    elif len(days) == 1:
        where = days[0]
    else:
        where = f"{days[0]}..{days[-1]} ({len(days)} days)"
    blank = f", {export.blank} blank" if export.blank else ""
    # Records read = placed + blank + copies a later export of the same landing replaced.
    return (
        f"{export.landed_at:%Y-%m-%d %H:%M}Z  {export.file}  sha256 {export.sha256[:12]}  "
        f"{export.records} records read{blank}, {sum(export.days.values())} placed in {where}; "
        f"replaced {export.replaced} earlier copies"
    )
