"""`trainset redact`: redact any export with the same engine and policy as the pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.lib.catalog import get_spec
from pipelines.lib.redact_file import redact_file


@click.command()
@click.option("--dataset", default="ticket_triage", show_default=True, help="Dataset whose privacy policy applies.")
@click.option(
    "--in", "source", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV, JSONL or Parquet file."
)
@click.option(
    "--out", "target", type=click.Path(dir_okay=False, path_type=Path), required=True, help="New file to write."
)
@click.option(
    "--field", "fields", multiple=True, help="Field to redact (repeatable; default: the dataset's text columns)."
)
def redact(dataset: str, source: Path, target: Path, fields: tuple[str, ...]) -> None:
    """Write a redacted copy of an export; prints how many values of each PII type were replaced."""
    spec, _ = get_spec(dataset)
    chosen = list(fields) or spec.columns.text
    counts = redact_file(source, target, chosen, list(spec.privacy.redact))
    summary = ", ".join(f"{pii_type} {n}" for pii_type, n in counts.items())
    click.echo(f"redacted {', '.join(chosen)} of {source} into {target}: {summary}")
