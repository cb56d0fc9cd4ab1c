"""`trainset feedback report`: the pilot report of a range of ingested feedback days."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.catalog import choose_dataset
from pipelines.lib.feedback.ingest import events_folder, ingested_days
from pipelines.lib.feedback.report import FeedbackReportError, write_feedback_report
from pipelines.lib.feedback.results import counted
from pipelines.lib.workspace import DatasetPaths

_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@dataset_option
@click.option("--from", "from_day", type=_DAY, default=None, help="First day (YYYY-MM-DD). Default: feedback.start.")
@click.option("--to", "to_day", type=_DAY, default=None, help="Last day (YYYY-MM-DD). Default: the last ingested day.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the report. Default: data/feedback/<dataset>/report/<from>_<to>.",
)
@workspace_option
def report(
    dataset: str | None, from_day: datetime | None, to_day: datetime | None, out: Path | None, workspace: Path
) -> None:
    """Write DATASET's feedback report of the ingested days from --from to --to: report.html
    (acceptance by segment with intervals, weekly drift, daily volume), report.json (the same
    figures) and postmortem.md (a one-page draft to finish). DATASET may be left out when the
    workspace declares only one."""
    spec, _ = choose_dataset(dataset, workspace)
    paths = DatasetPaths(workspace, spec.name)
    if spec.feedback is None:
        raise FeedbackReportError(
            f"dataset {spec.name!r} declares no `feedback:` block; add one (start, segments, bars) to its defs.yaml"
        )
    start = spec.feedback.start
    if from_day is None and to_day is not None and to_day.date() < start:
        raise FeedbackReportError(
            f"the pilot of {spec.name} starts on {start} (feedback.start): --to {to_day.date()} is before it; "
            f"give a --to on or after {start}"
        )
    first = from_day.date() if from_day else start
    last = to_day.date() if to_day else _last_ingested(paths, spec.name)
    if to_day is None and last < first:
        raise FeedbackReportError(
            f"no ingested feedback day of {spec.name} from {first} on (the last is {last}); "
            f"run `trainset feedback ingest {spec.name}`, or give an earlier --from"
        )
    files = write_feedback_report(spec, paths, first, last, out.resolve() if out else None)
    summary = files.summary
    volume = f"{counted(summary.events, 'event')} over {counted(summary.days_ingested, 'day')}"
    click.echo(f"{spec.name}: feedback {first} to {last}, {volume}")
    click.echo(f"  acceptance {summary.overall.acceptance.shown()}")
    click.echo(f"  misroutes  {summary.overall.misroute.shown(percent=True)}")
    for gate in summary.gates:
        click.echo(f"  {gate.shown_status:<10} {gate.severity:<5} {gate.name:<20} {gate.message}")
    click.echo(f"report:      {files.html}")
    click.echo(f"figures:     {files.json_file}")
    click.echo(f"post-mortem: {files.postmortem}")


def _last_ingested(paths: DatasetPaths, dataset: str) -> date:
    days = ingested_days(paths)
    if not days:
        raise FeedbackReportError(
            f"no ingested feedback day of {dataset} in {events_folder(paths)}; "
            f"run `trainset feedback ingest {dataset}` first"
        )
    return days[-1]
