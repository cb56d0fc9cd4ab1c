"""`trainset assess-partner`: the due-diligence report on a partner's sample, and a drafted decision."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from pipelines.cli.common import workspace_option


class Refused(click.ClickException):
    """What was asked cannot be assessed (unknown source, missing file, bad option): exit code 2."""

    exit_code = 2


def _price(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r}: an amount such as 1200 or 1200.50 (the labeling currency)") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter(f"{value!r}: an amount of zero or more")
    return amount


@click.command("assess-partner")
@click.argument("name")
@click.option("--source", required=True, help="The dataset's `kind: partner` source the sample comes from.")
@click.option(
    "--sample",
    "sample",
    type=click.Path(path_type=Path),
    required=True,
    help="The partner's sample export, in the source's format (unredacted: it is only read).",
)
@click.option(
    "--rows", type=int, default=1000, show_default=True, help="Records of the sample to assess (the first N)."
)
@click.option(
    "--rows-available",
    type=int,
    help="The partner's stated delivery size, to scale the sample to (default: the sample's records).",
)
@click.option(
    "--price", callback=_price, help="What the partner asks for the delivery, in the spec's labeling currency."
)
@click.option(
    "--relabelled",
    type=click.Path(path_type=Path),
    help="CSV of our annotators' labels of sample records: the partner's record id and `label`.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Day the freshness window and the terms are judged at (default: today, UTC).",
)
@workspace_option
def assess_partner(
    name: str,
    source: str,
    sample: Path,
    rows: int,
    rows_available: int | None,
    price: Decimal | None,
    relabelled: Path | None,
    as_of: datetime | None,
    workspace: Path,
) -> None:
    """Assess a sample of partner source --source of dataset NAME: schema fit, PII and compliance,
    label fit and quality, overlap, freshness, coverage gaps closed and their cost, terms. Writes
    reports/NAME/partners/SOURCE/assessment.{md,json} and drafts decisions/NAME/SOURCE.yaml when no
    record is there (an existing record is never overwritten)."""
    if rows < 1:
        raise click.BadParameter(f"{rows}: a sample holds at least one record", param_hint="--rows")
    if rows_available is not None and rows_available < 1:
        raise click.BadParameter(
            f"{rows_available}: a delivery holds at least one record", param_hint="--rows-available"
        )
    # pandas, Arrow, the redaction engine and the gates load only when the verb runs.
    from pipelines.lib.catalog import get_spec
    from pipelines.lib.partners.assessment import assess_partner as assess
    from pipelines.lib.partners.assessment_report import write_assessment
    from pipelines.lib.partners.sample import AssessmentError

    spec, _ = get_spec(name, workspace)
    day: date = as_of.date() if as_of else datetime.now(UTC).date()
    try:
        assessed = assess(
            workspace,
            spec,
            source,
            sample if sample.is_absolute() else Path.cwd() / sample,
            as_of=day,
            rows=rows,
            rows_available=rows_available,
            price=price,
            relabelled=relabelled,
        )
    except AssessmentError as error:
        # A sample or re-label file whose records cannot be read is bad data (exit code 1).
        raise (click.ClickException if error.exit_code == 1 else Refused)(str(error)) from None
    written = write_assessment(workspace, assessed)
    a = assessed.assessment
    click.echo(f"{a.dataset}: partner source {a.source}, {a.schema_fit.records} sample records as of {a.as_of}")
    for title, verdict in (
        ("schema fit", a.schema_fit.verdict),
        ("PII", a.pii.verdict),
        ("label fit", a.label_fit.verdict),
        ("label quality", a.label_quality.verdict),
        ("overlap", a.overlap.verdict),
        ("freshness", a.freshness.verdict),
        ("gap closure", a.gaps.verdict),
        ("ROI", a.roi.verdict if a.roi else a.roi_note),
        ("terms", a.terms.verdict),
    ):
        click.echo(f"  {title:<14} {verdict}")
    click.echo(f"drafted decision: {a.terms.drafted.value}")
    for finding in a.findings:
        if finding.level != "note":
            click.echo(f"  {finding.level}: {finding.text}")
    click.echo(f"wrote {_shown(written.markdown, workspace)}")
    click.echo(f"wrote {_shown(written.json, workspace)}")
    if written.drafted:
        click.echo(f"drafted {_shown(written.decision, workspace)}: review it, then sign it (approver, date)")
    else:
        click.echo(f"kept {_shown(written.decision, workspace)}: a decision record exists there and is not overwritten")


def _shown(path: Path, workspace: Path) -> str:
    return str(path.relative_to(workspace)) if path.is_relative_to(workspace) else str(path)
