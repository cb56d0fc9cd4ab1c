"""`trainset init`: profile one export and draft its dataset spec, GX suite and data brief."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import click

from pipelines.cli.common import init_workspace_option


@click.command()
@click.argument("name")
@click.option(
    "--from",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The export to profile: one CSV, JSONL or Parquet file.",
)
@click.option("--label", help="The label column (default: guessed from names like category, intent, queue, type).")
@click.option("--force", is_flag=True, help="Overwrite an existing spec, suite and brief of NAME.")
@init_workspace_option
def init(name: str, export: Path, label: str | None, force: bool, workspace: Path) -> None:
    """Profile an export and draft NAME's defs.yaml, GX suite and data brief, every guess marked for review."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise click.BadParameter(f"{name!r}: a dataset name is lowercase letters, digits and _", param_hint="NAME")
    if not export.is_file():
        raise click.BadParameter(f"{export}: no such file; name the export to profile", param_hint="--from")
    defs = workspace / "pipelines" / "defs" / name / "defs.yaml"
    suite = workspace / "expectations" / f"{name}.json"
    brief = workspace / "reports" / name / "data_brief.md"
    existing = [path for path in (defs, suite) if path.exists()]
    if existing and not force:
        raise click.UsageError(f"{existing[0]} exists: dataset {name!r} is drafted already; pass --force to overwrite")

    # pandas, Arrow, lingua and the gates load only when the verb runs (`trainset --help` stays fast).
    from pipelines.lib.catalog import load_spec_file
    from pipelines.lib.drafting.bars import draft_spec, measure_draft, profiled_languages
    from pipelines.lib.drafting.brief import render_brief
    from pipelines.lib.drafting.first_run import plan_first_run, source_path
    from pipelines.lib.drafting.spec_text import render_defs, render_suite
    from pipelines.lib.ingest.profile import ExportError, export_format, profile_export, read_export
    from pipelines.lib.ingest.sources import SourceError

    try:
        kind = export_format(export)
    except ExportError as error:
        raise click.BadParameter(str(error), param_hint="--from") from None
    try:
        frame, malformed, blank = read_export(export)
        if label is not None and label not in frame.columns:
            raise click.BadParameter(
                f"no column {label!r} in {export}; its columns: {', '.join(map(str, frame.columns))}",
                param_hint="--label",
            )
        profile = profile_export(frame, malformed, str(export), kind, label, blank)
        run = plan_first_run(profile)
        where = source_path(export, workspace)
        spec = draft_spec(profile, name, profiled_languages(profile), where, run.start_date)
        draft = measure_draft(spec, export, run)
    except (ExportError, SourceError) as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:  # a required role no column was guessed for, or no day to run
        raise click.ClickException(f"{export}: {error}") from None
    command = shlex.join(["trainset", "init", name, "--from", str(export), *(["--label", label] if label else [])])
    for path, text in (
        (defs, render_defs(draft, profile, command)),
        (suite, render_suite(draft, profile)),
        (brief, render_brief(draft, profile, datetime.now(UTC).date())),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    load_spec_file(defs)  # the draft as written is a valid spec: SpecError (a bug) otherwise
    _summary(profile, draft, workspace, [defs, suite, brief])


def _summary(profile, draft, workspace: Path, written: list[Path]) -> None:
    spec = draft.spec
    click.echo(
        f"profiled {profile.path}: {profile.records} records, {len(profile.columns)} columns"
        + "".join(f", {n} {reason}" for reason, n in profile.malformed.items())
        + (f", {profile.blank_records} blank records" if profile.blank_records else "")
    )
    width = max(len(c.name) for c in profile.columns)
    for column in profile.columns:
        pii = f" [PII: {', '.join(f'{k} {n}' for k, n in column.pii.items())}]" if column.pii else ""
        click.echo(f"  {column.name:<{width}}  {column.kind:<9}  {column.role:<9}  {column.reason}{pii}")
    languages = ", ".join(f"{code} {n}" for code, n in profile.languages.items()) or "none detected"
    click.echo(f"languages in the text: {languages}; declared: {', '.join(spec.languages)}")
    click.echo(f"classes of {spec.labels.column}: " + ", ".join(f"{k} {n}" for k, n in profile.classes.items()))
    for path in written:
        click.echo(f"wrote {path.relative_to(workspace) if path.is_relative_to(workspace) else path}")
    click.echo(
        f"measured as the first run will: days {draft.first_day}..{draft.last_day} as of {draft.as_of}, "
        f"{draft.training_rows} examples in the training set"
    )
    results = {r.name: r for r in draft.measured}
    for name in draft.lowered:
        r = results[name]
        click.echo(f"  not met yet, drafted as warn: {name} measured {r.measured}, required {r.required}")
    source = spec.sources[0]
    click.echo("next:")
    click.echo(f"  1. review every `# guessed:` line and fill in every TODO- in pipelines/defs/{spec.name}/defs.yaml")
    placed = "into the days of its timestamps" if spec.columns.timestamp else "on the day it lands"
    ids = "a record whose id landed before is updated" if spec.columns.id else "with no id, a record in two is two"
    earlier = (
        f"; exports older than this one need `start_date` moved back from {source.start_date} (a record before it is "
        "quarantined as before_start_date)"
        if spec.columns.timestamp
        else ""
    )
    click.echo(
        f"  2. later exports: put them beside {source.path} and turn `path:` into their folder or a glob "
        f"(each export lands once, by content, {placed}; {ids}){earlier}"
    )
    click.echo(f"  3. {draft.run.command(spec.name)}")
    if draft.run.as_of:
        apart = profile.undated + profile.blank_records + sum(profile.malformed.values())
        click.echo(
            f"     (--as-of {draft.run.as_of}, the export's last day: a run files its {apart} record(s) without a "
            "usable timestamp, blank or malformed on its as-of day, at most yesterday; so they stay with the rest)"
        )
