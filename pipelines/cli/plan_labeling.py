"""`trainset plan-labeling`: what to label next to close the coverage gaps, its batches and budget."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.workspace import DatasetPaths


@click.command("plan-labeling")
@dataset_option
@workspace_option
@click.option("--audit", is_flag=True, help="Compare production (eligible) with the training set per segment instead.")
@click.option("--seed", type=int, default=13, show_default=True, help="Seed of the model and of gold placement.")
def plan_labeling(dataset: str | None, workspace: Path, audit: bool, seed: int) -> None:
    """Plan labeling for DATASET from its latest gate run: the shortfall of every failing or warned
    coverage bar, which unlabelled items to send for each (targeted, ranked by uncertainty), the
    pilot and batches, the budget, and the exported batches' tasks (Label Studio JSON + config, CSV).
    With --audit, compare production (eligible rows) with the training set per segment and propose
    what to collect."""
    spec, _ = choose_dataset(dataset, workspace)
    paths = DatasetPaths(workspace.resolve(), spec.name)
    if audit:
        from pipelines.lib.labeling.audit import coverage_audit, write_audit

        found = coverage_audit(paths, spec)
        folder = write_audit(paths, found)
        click.echo(f"{spec.name}: coverage audit of production vs training set -> {folder / 'audit.md'}")
        for line in found.proposals or ["no segment is under-represented in the training set"]:
            click.echo(f"  {line}")
        return

    from pipelines.lib.labeling.guideline import load_guideline
    from pipelines.lib.labeling.plan import make_plan
    from pipelines.lib.labeling.plan_files import next_plan_number, write_plan

    number = next_plan_number(paths)
    plan, items = make_plan(paths, spec, number, seed=seed)
    labeling = spec.labeling
    assert labeling is not None  # make_plan refuses a spec without one
    guideline = load_guideline(paths.landing(labeling.guideline), spec.labels.classes) if labeling.guideline else None
    folder = write_plan(paths, spec, plan, items, guideline, seed=seed)
    money = lambda amount: _money(amount, plan.currency)  # noqa: E731
    click.echo(f"{spec.name}: labeling plan {plan.plan} ({plan.status.replace('_', ' ')}) -> {folder / 'plan.md'}")
    for cell in plan.cells:
        click.echo(
            f"  {cell.cell:<28} missing {cell.missing:>6}  send {cell.items:>6}  expected +{cell.expected:g}"
            + (f"  (pool short by {cell.unfilled})" if cell.unfilled else "")
        )
    for batch in plan.batches:
        where = folder / "batches" / batch.name if batch.exported else "waits for the pilot"
        click.echo(f"  {batch.name:<14} {batch.items:>6} items + {batch.gold} gold  {money(batch.total):>12}  {where}")
    click.echo(
        f"  total: {plan.items} items + {plan.gold} gold, {money(plan.base)} base, {money(plan.with_qa)} with QA, "
        f"{money(plan.total)} with contingency"
    )
    for line in plan.advice:
        click.echo(f"  note: {line}")


def _money(amount, currency: str) -> str:
    from pipelines.lib.labeling.budget import money

    return money(amount, currency)
