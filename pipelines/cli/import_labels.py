"""`trainset import-labels`: bring a labelled batch back (Label Studio's JSON export, or a CSV)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.workspace import DatasetPaths


@click.command("import-labels")
@dataset_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@click.option("--batch", default=None, help="Batch name, when the file does not carry it (a CSV without `batch`).")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["auto", "label-studio", "csv"]),
    default="auto",
    show_default=True,
    help="auto: by the file's suffix (.json: Label Studio's JSON export; .csv: item, annotator, label).",
)
def import_labels(dataset: str | None, file: Path, workspace: Path, batch: str | None, kind: str) -> None:
    """Import annotations of DATASET from FILE: validated against the declared classes; cancelled
    annotations and repeated (item, annotator) pairs counted and left out; unusable ones written
    to a problems file with their reason. Stored under labeling/<dataset>/annotations/ (committed
    with the next release); the next `trainset run` adjudicates them."""
    from pipelines.lib.labeling.importing import import_annotations

    spec, _ = choose_dataset(dataset, workspace)
    paths = DatasetPaths(workspace.resolve(), spec.name)
    result = import_annotations(paths, spec, file, batch=batch, kind=kind)
    verb = "imported" if result.created else "already imported"
    click.echo(f"{spec.name}: {verb} {file} -> {result.stored}")
    click.echo(
        f"  {result.annotations} annotations of {result.items} items by {result.annotators} annotators "
        f"({result.gold} on gold items); {result.cancelled} cancelled, {result.duplicates} repeated, "
        f"{result.problems} unusable"
    )
    if result.problems_file is not None:
        click.echo(f"  unusable annotations and why: {result.problems_file}")
    click.echo(f"  next: trainset run {spec.name}")
