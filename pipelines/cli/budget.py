"""`trainset budget`: what labeling a number of items costs, and its pilot and batches."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from pipelines.lib.labeling.budget import budget as estimate
from pipelines.lib.labeling.budget import split_items
from pipelines.lib.labeling.declaration import SEED_BATCH_SPLIT


def _decimal(_ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number (write 0.09, not $0.09)") from None
    if number < 0 or (param.name == "price_per_label" and number == 0):
        raise click.BadParameter(f"{value} must be {'above' if param.name == 'price_per_label' else 'at least'} 0")
    return number


def _shares(_ctx: click.Context, _param: click.Parameter, value: str) -> list[float]:
    try:
        shares = [float(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give shares separated by commas, e.g. 0.3,0.4,0.3") from None
    if any(s <= 0 for s in shares) or abs(sum(shares) - 1) > 1e-9:
        raise click.BadParameter(f"{value}: shares must be positive and sum to 1")
    return shares


@click.command()
@click.option("--items", type=click.IntRange(min=0), required=True, help="Items to label.")
@click.option("--labels-per-item", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--price-per-label", callback=_decimal, required=True, help="Price of one label, e.g. 0.09.")
@click.option("--qa", "qa_overhead", callback=_decimal, default="0.20", show_default=True, help="QA overhead share.")
@click.option("--contingency", callback=_decimal, default="0.10", show_default=True, help="Contingency share.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 currency code.")
@click.option("--pilot", type=click.IntRange(min=0), default=0, show_default=True, help="Pilot items, labelled first.")
@click.option(
    "--batches",
    callback=_shares,
    default=",".join(f"{s:g}" for s in SEED_BATCH_SPLIT),
    show_default=True,
    help="Shares of the items after the pilot, one per batch.",
)
def budget(
    items: int,
    labels_per_item: int,
    price_per_label: Decimal,
    qa_overhead: Decimal,
    contingency: Decimal,
    currency: str,
    pilot: int,
    batches: list[float],
) -> None:
    """Print the cost of labeling: base (items x labels per item x price), with QA overhead, and
    with contingency, for the whole and for the pilot and each batch."""
    try:
        whole = estimate(items, labels_per_item, price_per_label, qa_overhead, contingency, currency)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--currency") from None
    click.echo(
        f"{items:,} items x {labels_per_item} labels x {whole.shown(price_per_label)} = {whole.shown(whole.base)}"
    )
    click.echo(f"with {qa_overhead:.0%} QA overhead: {whole.shown(whole.with_qa)}")
    click.echo(f"with {contingency:.0%} contingency: {whole.shown(whole.total)}")
    click.echo("")
    click.echo(f"{'batch':<10} {'items':>8} {'labels':>8} {'base':>14} {'with QA':>14} {'total':>14}")
    for name, n in split_items(items, pilot, batches):
        part = whole.part(n)
        click.echo(
            f"{name:<10} {n:>8,} {part.labels:>8,} {part.shown(part.base):>14} "
            f"{part.shown(part.with_qa):>14} {part.shown(part.total):>14}"
        )
