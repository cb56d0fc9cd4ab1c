"""`trainset feedback report` on a workspace holding two ingested pilot weeks: the JSON figures,
the post-mortem's facts, the self-contained HTML rendered by headless Chromium, and the errors
of a range with nothing ingested."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import declare, small_spec
from test_feedback_metrics import START, pilot_week

from pipelines.cli import cli
from pipelines.lib.feedback.report import FeedbackReportError
from pipelines.lib.feedback.results import FeedbackSummary
from pipelines.lib.workspace import DatasetPaths

TRAINSET = str(Path(sys.executable).parent / "trainset")
#: a day of week 1 the pilot did not ingest (the report says so)
GAP = date(2026, 11, 12)


@pytest.fixture(scope="module")
def pilot(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A workspace declaring ticket_triage (feedback from 2026-11-09 by language and channel) whose
    two pilot weeks are ingested, one file per day but GAP; in week 2 chat doubles and German
    acceptance falls."""
    root = tmp_path_factory.mktemp("feedback") / "workspace"
    declare(root, small_spec())
    rng = np.random.default_rng(20261109)
    events = pd.concat(
        [pilot_week(rng, 1, 2500), pilot_week(rng, 2, 2500, chat=0.45, de_acceptance=0.55)], ignore_index=True
    )
    events = events[events["day"] != GAP.isoformat()].reset_index(drop=True)
    paths = DatasetPaths(root, "ticket_triage")
    for day, partition in events.groupby("day"):
        file = paths.feedback_events(str(day))
        file.parent.mkdir(parents=True, exist_ok=True)
        partition.to_parquet(file, index=False)
    return root, events


@pytest.fixture(scope="module")
def reported(pilot) -> tuple[Path, pd.DataFrame, str, Path]:
    root, events = pilot
    result = CliRunner().invoke(cli, ["feedback", "report", "ticket_triage", "--workspace", str(root)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = root / "data/feedback/ticket_triage/report/2026-11-09_2026-11-22"
    return root, events, result.output, out


def test_the_report_prints_where_its_files_are_and_the_key_figures(reported):
    _, events, output, out = reported
    decided = events["user_action"].isin(["accepted", "changed"])
    accepted = (events["user_action"] == "accepted").sum()
    assert f"acceptance {accepted / decided.sum():.2f} [" in output
    assert f"(n={decided.sum():,})" in output
    assert re.search(r"WARN +warn +max_feedback_drift +week 2: channel mix moved", output), output
    for name in ("report.html", "report.json", "postmortem.md"):
        assert str(out / name) in output and (out / name).is_file()


def test_the_json_holds_the_measured_figures(reported):
    _, events, _, out = reported
    document = json.loads((out / "report.json").read_text())
    summary = FeedbackSummary.model_validate(document)
    assert summary.events == len(events) and summary.days_ingested == 13
    assert summary.model_versions == ["triage-2026.11"] and summary.segments == ["language", "channel"]
    accepted, changed = ((events["user_action"] == a).sum() for a in ("accepted", "changed"))
    assert (summary.overall.acceptance.count, summary.overall.acceptance.of) == (accepted, accepted + changed)
    assert [w.week for w in summary.weeks] == [1, 2] and summary.weeks[0].events == (events["day"] < "2026-11-16").sum()
    assert [d.day for d in summary.days if not d.ingested] == [GAP]
    german = next(r for r in summary.acceptance if r.cell.segment == "language" and r.cell.value == "de")
    assert german.weekly[1].acceptance.rate < german.weekly[0].acceptance.rate - 0.15
    assert any(c.label == "language=de" for c in summary.lagging)
    gates = {g.name: g for g in summary.gates}
    assert not gates["max_feedback_drift"].passed and "language=de fell" in gates["max_feedback_drift"].message
    assert gates["max_misroute_rate"].judged and gates["max_misroute_rate"].threshold == 0.05
    assert "NaN" not in (out / "report.json").read_text()  # a rate without denominator is null


def test_the_post_mortem_is_filled_with_the_figures_and_leaves_the_rest_to_a_person(reported):
    _, _, _, out = reported
    summary = FeedbackSummary.model_validate_json((out / "report.json").read_text())
    text = (out / "postmortem.md").read_text()
    assert text.startswith("# Post-mortem draft: ticket_triage feedback pilot, 2026-11-09 to 2026-11-22")
    assert summary.overall.acceptance.shown() in text
    german = next(a for a in summary.drift[0].acceptance if a.value == "de")
    line = next(line for line in text.splitlines() if line.startswith("| language=de |"))
    assert (
        german.before.shown() in line
        and german.after.shown() in line
        and line.endswith("fell (beyond the drift bar) |")
    )
    assert "- Label more of **language=de**" in text
    top = summary.changed_to[0]
    assert f"- {top.predicted_category} suggestions changed to {top.final_category}: {top.changed} events" in text
    assert "Week 2: channel mix moved" in text and "chat 2" in text
    assert f"1 day(s) of the range not ingested: {GAP}" in text
    assert text.count("**TO FINISH**") >= 5
    assert len(text.splitlines()) < 90  # a page, not a dump


def test_the_html_is_self_contained_and_renders_in_chromium(reported, tmp_path):
    _, _, _, out = reported
    html = (out / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"https?:|//[a-z0-9]|url\(|@import|<link|<img|<iframe", html, re.IGNORECASE)
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]
    page = (out / "report.html").as_uri()
    dom = subprocess.run([chromium, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    acceptance = dom.stdout.split('<table id="acceptance">')[1].split("</table>")[0]
    assert acceptance.count('class="interval"') >= 4 + 4 + 3  # each class, language and channel
    assert "language" in acceptance and "de" in acceptance
    assert dom.stdout.count('class="stack"') == 13  # a bar for each ingested day
    assert '<span class="drifted">drifted</span>' in dom.stdout.split('<table id="drift-mix">')[1]


def test_a_range_with_nothing_ingested_says_what_to_run(pilot):
    root, _ = pilot
    result = subprocess.run(
        [TRAINSET, "feedback", "report", "ticket_triage", "--from", "2026-12-01", "--to", "2026-12-07"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"TRAINSET_WORKSPACE": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "no ingested feedback day of ticket_triage from 2026-12-01 to 2026-12-07" in result.stderr
    assert "run `trainset feedback ingest ticket_triage`" in result.stderr


def test_from_after_to_is_refused(pilot):
    root, _ = pilot
    args = ["feedback", "report", "--workspace", str(root), "--from", "2026-11-20", "--to", "2026-11-10"]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, FeedbackReportError)
    assert "--from 2026-11-20 is after --to 2026-11-10" in str(result.exception)


def test_a_chosen_range_and_folder_report_only_those_days(pilot, tmp_path):
    root, events = pilot
    args = ["feedback", "report", "--workspace", str(root), "--from", str(START), "--to", "2026-11-15"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "week1")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = FeedbackSummary.model_validate_json((tmp_path / "week1" / "report.json").read_text())
    assert summary.events == (events["day"] <= "2026-11-15").sum() and summary.drift == []
    assert "nothing to compare" in next(g for g in summary.gates if g.name == "max_feedback_drift").message
    assert "Nothing to compare yet: the range holds only week 1," in (tmp_path / "week1" / "postmortem.md").read_text()
