"""`trainset generate`: write a synthetic landing zone of support tickets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.errors import describe_os_error
from pipelines.lib.workspace import last_complete_day
from pipelines.synthetic.generate import GeneratorConfig, write_landing
from pipelines.synthetic.generate import generate as generate_export


@click.command()
@click.option(
    "--rows", type=click.IntRange(1, 5_000_000), default=60_000, show_default=True, help="Tickets to generate."
)
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed; same seed, same bytes.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Newest day of data (default: yesterday, UTC).",
)
@click.option("--months", type=click.IntRange(1, 120), default=18, show_default=True, help="Months of history.")
@click.option(
    "--label-agreement",
    type=click.FloatRange(0, 1),
    default=0.93,
    show_default=True,
    help="Probability two annotators agree.",
)
@click.option(
    "--class-weights", default=None, help="Class imbalance, e.g. Billing=0.4,Technical=0.3,Account=0.2,Other=0.1."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Landing folder (default: WORKSPACE/data/landing).",
)
@workspace_option
def generate(
    rows: int,
    seed: int,
    as_of,
    months: int,
    label_agreement: float,
    class_weights: str | None,
    out: Path | None,
    workspace: Path,
) -> None:
    """Generate realistic raw tickets (PII planted), annotations and consent opt-outs."""
    config = GeneratorConfig(
        rows=rows,
        seed=seed,
        as_of=as_of.date() if as_of else last_complete_day(),
        months=months,
        label_agreement=label_agreement,
    )
    if class_weights:
        config = dataclasses.replace(config, class_weights=_weights(class_weights))
    target = out or workspace / "data" / "landing"
    try:
        written = write_landing(generate_export(config), target)
    except OSError as error:  # a parent that is a file, a folder not writable, ...
        raise click.BadParameter(
            f"cannot write the landing zone to {target}: {describe_os_error(error)}; choose another folder",
            param_hint="--out",
        ) from None
    click.echo(f"generated {rows} tickets up to {config.as_of} (seed {seed}) in {target}")
    for name, path in written.items():
        click.echo(f"  {name}: {path}")


def _weights(text: str) -> dict[str, float]:
    try:
        return {name.strip(): float(value) for name, value in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise click.BadParameter(f"{text!r}: write it as Billing=0.4,Technical=0.3,...") from None
