"""`trainset adjudicate`: the steward's decision on a disputed item, or the queue of them."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@workspace_option
@click.option("--item", default=None, help="The item (example id) decided.")
@click.option("--label", default=None, help="The label the steward decides.")
@click.option("--steward", default=None, help="Who decides (recorded).")
@click.option("--reason", default=None, help="Why (recorded).")
def adjudicate(
    dataset: str | None, workspace: Path, item: str | None, label: str | None, steward: str | None, reason: str | None
) -> None:
    """Without options, list the steward queue of DATASET (ties and low-agreement items of the
    last run). With --item, --label, --steward and --reason, record a decision in
    labeling/<dataset>/adjudications.csv (who and when); the next run applies it."""
    import pandas as pd

    from pipelines.lib.labeling.adjudication import record_decision
    from pipelines.lib.labeling.store import decisions_file

    spec, _ = choose_dataset(dataset, workspace)
    paths = DatasetPaths(workspace.resolve(), spec.name)
    if item is None:
        queue = paths.labeling_work / "queue.csv"
        if not queue.is_file():
            click.echo(f"{spec.name}: no item waits for a steward")
            return
        table = pd.read_csv(queue, dtype="str", keep_default_na=False)
        click.echo(f"{spec.name}: {len(table)} item(s) wait for a steward ({queue})")
        for row in table.itertuples(index=False):  # a queue of disputed items: tens, not millions
            click.echo(f"  {row.item:<24} {row.batch:<16} {row.labels:<32} {row.reason}")
            if getattr(row, "text", ""):
                click.echo(f"      {_short(str(row.text))}")
        click.echo(f"decide with: trainset adjudicate {spec.name} --item ID --label CLASS --steward WHO --reason WHY")
        return
    missing = [name for name, value in (("--label", label), ("--steward", steward), ("--reason", reason)) if not value]
    if missing:
        raise click.UsageError(f"a decision needs {', '.join(missing)} as well as --item")
    if label not in spec.labels.classes:
        raise click.BadParameter(
            f"{label!r} is not one of {spec.name}'s classes ({', '.join(spec.labels.classes)})", param_hint="--label"
        )
    if paths.eligible.is_file():
        ids = pd.read_parquet(paths.eligible, columns=[spec.id_column])[spec.id_column].astype("str")
        if not ids.eq(item).any():
            raise click.BadParameter(
                f"{item!r} is not an eligible example of {spec.name}: see `trainset adjudicate {spec.name}` for the "
                "items waiting for a decision",
                param_hint="--item",
            )
    record_decision(decisions_file(paths), item, str(label), str(steward), str(reason), spec.labels.classes)
    click.echo(f"{spec.name}: recorded {item} -> {label} by {steward} in {decisions_file(paths)}")


def _short(text: str, width: int = 110) -> str:
    """The redacted text on one line, cut at `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
