"""`trainset gates`: every gate of a run for a steward, or how two versions compare."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.quality.gate_report import compare, load_run, with_examples
from pipelines.lib.quality.gates import gate_status
from pipelines.lib.workspace import DatasetPaths


@click.command()
@dataset_option
@workspace_option
@click.option("--run", "run_id", default=None, help="Run id (or its first characters); default: the latest run.")
@click.option("--compare", "versions", nargs=2, default=None, metavar="vA vB", help="Compare two released versions.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def gates(dataset: str | None, workspace: Path, run_id: str | None, versions, output: str) -> None:
    """List every gate of DATASET: status, severity, measured and required, failing segments,
    and a few redacted examples of each; or compare the gates and shares of two versions.
    DATASET may be left out when the workspace declares only one."""
    spec, _ = choose_dataset(dataset, workspace)
    dataset = spec.name
    paths = DatasetPaths(workspace.resolve(), dataset)
    if versions:
        old, new = (int(v.lstrip("v")) for v in versions)
        result = compare(paths.releases, old, new, spec)
        if output == "json":
            click.echo(json.dumps(result, indent=2, default=str))
            return
        click.echo(f"{dataset}: v{old} -> v{new}")
        for row in result["gates"]:
            click.echo(f"  {row['status']:<6} {row['gate']:<28} {row[f'v{old}']!s:>12} -> {row[f'v{new}']!s:<12}")
        click.echo("  shares:")
        for row in result["shares"]:
            click.echo(
                f"    {row['segment']:<28} {row[f'v{old}']:>7.1%} -> {row[f'v{new}']:<7.1%} ({row['change']:+.1%})"
            )
        return
    run = with_examples(load_run(paths, run_id), paths, spec)
    if output == "json":
        click.echo(json.dumps(run, indent=2, default=str))
        return
    failed = [g for g in run["gates"] if not g["passed"]]
    if run["gates"]:
        click.echo(f"{dataset}: run {run.get('run_id')} as of {run.get('as_of')}: ", nl=False)
        click.echo(f"{len(run['gates'])} gates, {len(failed)} not passed")
    else:
        click.echo(
            f"{dataset}: run {run.get('run_id') or '(latest)'}: 0 gates (a check stopped it before the training set)"
        )
    for gate in run["gates"]:
        head = f"  {gate_status(gate):<6} {gate['severity']:<5} {gate['name']:<28}"
        click.echo(f"{head} measured {gate['measured']!s:<10} required {gate['required']}")
        if gate.get("waiver"):
            w = gate["waiver"]
            click.echo(f"         waived by {w['approver']} until {w['expires']}: {w['reason']}")
        for segment in gate["failing"]:
            click.echo(f"         {segment}")
            for example in gate["examples"].get(segment, []):
                click.echo(f"           e.g. {example!r}")
    contract, expectations = run["contract"], run["expectations"]
    if contract is not None:
        click.echo(f"  contract {contract['schema']}: {'passed' if contract['passed'] else contract['failures']}")
        broken = [e for e in expectations if not e["success"]]
        click.echo(f"  expectations: {len(expectations) - len(broken)}/{len(expectations)} met")
        for e in broken:
            click.echo(f"    {e['type']}({e['column']}): {e['observed']}")
    _echo_checks(run)


def _echo_checks(run: dict) -> None:
    """pii_residue and row_accounting beside the gates: every residue finding by row, column,
    offset and kind, and every allowance that is wrong or expired."""
    if not run["checks"]:
        return
    click.echo("  checks beside the gates:")
    for check in run["checks"]:
        other_run = f" (run {check['run_id'][:8]})" if check["run_id"] and check["run_id"] != run.get("run_id") else ""
        status = "pass" if check["passed"] else "FAIL"
        click.echo(f"  {status:<6} error {check['name']:<20} {check['asset']:<14}{other_run}")
        review = check.get("residue")
        if review is None:
            click.echo(f"         {check['description']}")
            continue
        click.echo(f"         {review['findings']} finding(s) in {review['rows']} rows of {review['scope']}")
        for finding in review["unreviewed"]:
            click.echo(f"         unreviewed {_where(finding)}")
        for allowed in review["allowed"]:
            click.echo(
                f"         allowed    {_where(allowed['finding'])} by {allowed['approver']} "
                f"until {allowed['expires']} ({allowed['entry']}): {allowed['reason']}"
            )
        for problem in review["unmatched"] + review["expired"]:
            click.echo(f"         {problem['entry']}: {problem['names']}: {problem['problem']}")


def _where(finding: dict) -> str:
    place = f"{finding['file']}: " if finding.get("file") else ""
    return f"{place}row {finding['row_id']} {finding['column']} offset {finding['offset']} ({finding['kind']})"
