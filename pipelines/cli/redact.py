"""`trainset redact`: redact any export with the same engine and policy as the pipeline."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
import pyarrow as pa
from phonenumbers import SUPPORTED_REGIONS

from pipelines.cli.common import workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.privacy.exports.redact_file import redact_file


@click.command()
@click.option(
    "--dataset",
    default=None,
    help="Dataset whose privacy policy applies (may be left out when the workspace declares only one).",
)
@workspace_option
@click.option(
    "--in", "source", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV, JSONL or Parquet file."
)
@click.option(
    "--out", "target", type=click.Path(dir_okay=False, path_type=Path), required=True, help="New file to write."
)
@click.option(
    "--field", "fields", multiple=True, help="Field to redact (repeatable; default: the dataset's text columns)."
)
@click.option(
    "--regions",
    help="Regions (ISO 3166, comma-separated, e.g. US,GB,DE) where national phone numbers are read, "
    "instead of the default: the dataset's privacy.regions, else the regions of its languages (as the "
    "pipeline). International numbers (+, 00) are read whatever the regions.",
)
@click.option("--delimiter", help="CSV delimiter (default: sniffed from the header line; '\\t' for tab).")
def redact(
    dataset: str | None,
    workspace: Path,
    source: Path,
    target: Path,
    fields: tuple[str, ...],
    regions: str | None,
    delimiter: str | None,
) -> None:
    """Write a redacted copy of an export; prints how many values of each PII type were replaced."""
    spec, _ = choose_dataset(dataset, workspace)
    chosen = list(fields) or spec.columns.text
    # The pipeline's regions: privacy.regions, else those of the dataset's languages.
    chosen_regions = [r.strip().upper() for r in regions.split(",") if r.strip()] if regions else spec.phone_regions
    unknown = sorted(set(chosen_regions) - SUPPORTED_REGIONS)
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: not a region phonenumbers knows; use ISO 3166 alpha-2 codes such as US,GB,DE",
            param_hint="--regions",
        )
    if not target.parent.is_dir():
        raise click.BadParameter(f"{target.parent} is not a folder; create it or write elsewhere", param_hint="--out")
    if delimiter == "\\t":
        delimiter = "\t"
    _keep_freed_memory()
    summary = redact_file(source, target, chosen, list(spec.privacy.redact), chosen_regions or None, delimiter)
    click.echo(f"redacted {', '.join(chosen)} of {source} into {target}: {summary.line()}")


def _keep_freed_memory() -> None:
    """Arrow's jemalloc pool for this process, where the build has it: batch after batch allocates
    and frees the same sizes, and the default pool (mimalloc) gave the pages back to the system
    each time: 0.4-0.7 s of system time per 80 MB export (jemalloc: about 0.2 s)."""
    with contextlib.suppress(NotImplementedError):  # a build without jemalloc keeps the default
        pa.set_memory_pool(pa.jemalloc_memory_pool())
