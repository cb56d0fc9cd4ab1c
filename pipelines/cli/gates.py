"""`trainset gates`: every gate of a run for a steward, or how two versions compare."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.quality.check_records import CheckRecord
from pipelines.lib.quality.gate_report import RunReview, compare, load_run, with_examples
from pipelines.lib.release.versions import versions as list_versions
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@workspace_option
@click.option("--run", "run_id", default=None, help="Run id (or its first characters); default: the latest run.")
@click.option(
    "--compare",
    "versions",
    nargs=2,
    default=None,
    metavar="vA vB",
    callback=lambda _ctx, _param, value: _version_numbers(value),
    help="Compare two released versions.",
)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def gates(dataset: str | None, workspace: Path, run_id: str | None, versions, output: str) -> None:
    """List every gate of DATASET's latest run (blocked or not): status, severity, measured and
    required, the result in words, failing segments with a few redacted examples, and the checks
    beside the gates; or compare the gates and shares of two versions. DATASET may be left out
    when the workspace declares only one."""
    spec, _ = choose_dataset(dataset, workspace)
    dataset = spec.name
    paths = DatasetPaths(workspace.resolve(), dataset)
    if versions:
        old, new = versions
        released = list_versions(paths.releases)
        unknown = [f"v{v}" for v in (old, new) if v not in released]
        if unknown:
            known = ", ".join(f"v{v}" for v in released) or "none yet"
            raise click.BadParameter(
                f"{dataset} has no version {' or '.join(unknown)} in {paths.releases} (released: {known}); "
                "see `trainset versions`",
                param_hint="--compare",
            )
        result = compare(paths.releases, old, new, spec)
        if output == "json":
            click.echo(result.model_dump_json(indent=2))
            return
        click.echo(f"{dataset}: v{old} -> v{new}")
        for change in result.gates:
            click.echo(f"  {change.status.label:<6} {change.gate:<28} {change.before!s:>12} -> {change.after!s:<12}")
        click.echo("  shares:")
        for share in result.shares:
            click.echo(f"    {share.segment:<28} {share.before:>7.1%} -> {share.after:<7.1%} ({share.change:+.1%})")
        return
    review = with_examples(load_run(paths, run_id), paths, spec)
    if output == "json":
        click.echo(review.model_dump_json(indent=2))
        return
    _echo_headline(review)
    for gate in review.gates:
        head = f"  {gate.status.label:<6} {gate.severity:<5} {gate.name:<28}"
        click.echo(f"{head} measured {gate.measured!s:<10} required {gate.required}")
        if not gate.passed:
            click.echo(f"         {gate.explanation}")
        if gate.waiver:
            w = gate.waiver
            click.echo(f"         waived by {w.approver} until {w.expires}: {w.reason}")
        for shortfall in gate.failing:
            click.echo(f"         {shortfall.text}")
            for example in gate.examples.get(shortfall.segment or "", []):
                click.echo(f"           e.g. {example!r}")
    if review.contract is not None:
        contract = review.contract
        click.echo(f"  contract {contract.schema_name}: {'passed' if contract.passed else contract.failures}")
        broken = [e for e in review.expectations if not e.success]
        click.echo(f"  expectations: {len(review.expectations) - len(broken)}/{len(review.expectations)} met")
        for e in broken:
            click.echo(f"    {e.type}({e.column}): {e.observed}")
    _echo_checks(review)
    if review.report:
        click.echo(f"  gate report: {review.report}")


def _version_numbers(value: tuple[str, str] | None) -> tuple[int, int] | None:
    """`v1 v3` (or `1 3`) -> (1, 3); click's usage error (exit 2) for anything else."""
    if not value:
        return None
    numbers = [v.removeprefix("v") for v in value]
    if not all(n.isdigit() for n in numbers):
        raise click.BadParameter(f"{' '.join(value)}: name two versions, e.g. --compare v1 v2")
    return int(numbers[0]), int(numbers[1])


def _echo_headline(review: RunReview) -> None:
    """The run, what stopped it if anything did, and where to look next."""
    run = review.run_id or "(latest)"
    blocked = review.blocked_by
    verdict = f"; BLOCKED by {', '.join(blocked)}: no version released" if blocked else ""
    if review.gates:
        failed = sum(not g.passed for g in review.gates)
        click.echo(
            f"{review.dataset}: run {run} as of {review.as_of}: {len(review.gates)} gates, {failed} not passed{verdict}"
        )
        return
    click.echo(f"{review.dataset}: run {run}: 0 gates (a check stopped it before the training set){verdict}")
    if review.latest_gated_run and review.latest_gated_run != review.run_id:
        earlier = review.latest_gated_run
        click.echo(f"  the gates were last measured by run {earlier} (trainset gates --run {earlier[:8]})")


def _echo_checks(review: RunReview) -> None:
    """pii_residue, row_accounting and the contracts beside the gates: every residue finding by
    row, column, offset and kind, and every allowance that is wrong or expired."""
    if not review.checks:
        return
    click.echo("  checks beside the gates:")
    for check in _blocking_first(review.checks):
        other_run = f" (run {check.run_id[:8]})" if check.run_id and check.run_id != review.run_id else ""
        click.echo(f"  {check.status.label:<6} error {check.name:<20} {check.asset:<14}{other_run}")
        residue = check.residue
        if residue is None:
            click.echo(f"         {check.description}")
            continue
        click.echo(f"         {residue.findings} finding(s) in {residue.rows} rows of {residue.scope}")
        for finding in residue.unreviewed:
            click.echo(f"         unreviewed {finding.where()}")
        for allowed in residue.allowed:
            click.echo(
                f"         allowed    {allowed.finding.where()} by {allowed.approver} "
                f"until {allowed.expires} ({allowed.entry}): {allowed.reason}"
            )
        for problem in residue.unmatched + residue.expired:
            click.echo(f"         {problem.entry}: {problem.names}: {problem.problem}")


def _blocking_first(checks: list[CheckRecord]) -> list[CheckRecord]:
    return sorted(checks, key=lambda c: not c.status.blocks)  # stable: asset order otherwise
