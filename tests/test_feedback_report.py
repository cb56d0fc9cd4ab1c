"""`trainset feedback report` on a workspace holding two ingested pilot weeks: the JSON figures,
the post-mortem's facts, the self-contained HTML rendered by headless Chromium, and the errors
of a range with nothing ingested; and on one holding three weeks, a quiet day, two model versions
and quarantined events: ranges without week 1 or of a single week, counts of one, gates not
judged, quarantined events counted by reason and never named."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import chromium, declare, small_spec
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
    assert f"1 day of the range not ingested: {GAP}" in text
    assert text.count("**TO FINISH**") >= 5
    assert len(text.splitlines()) < 90  # a page, not a dump


def test_the_html_is_self_contained_and_renders_in_chromium(reported, tmp_path):
    _, _, _, out = reported
    html = (out / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"https?:|//[a-z0-9]|url\(|@import|<link|<img|<iframe", html, re.IGNORECASE)
    dom = chromium(out / "report.html", tmp_path).stdout.decode()
    acceptance = dom.split('<table id="acceptance">')[1].split("</table>")[0]
    assert acceptance.count('class="interval"') >= 4 + 4 + 3  # each class, language and channel
    assert "language" in acceptance and "de" in acceptance
    assert dom.count('class="stack"') == 13  # a bar for each ingested day
    assert '<span class="drifted">drifted</span>' in dom.split('<table id="drift-mix">')[1]


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


#: a day of week 3 ingested with no event (its partition file holds no row): a quiet day
QUIET = date(2026, 11, 25)
#: what the quarantined events of the `later` pilot hold: never shown in a report
SECRETS = ("qe-secret", "QT-SECRET")


@pytest.fixture(scope="module")
def later(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A workspace whose three pilot weeks are ingested, QUIET holding no event; in week 3 every
    other event comes from a second model version, whose suggestions are accepted less; events
    quarantined in weeks 1 and 3."""
    root = tmp_path_factory.mktemp("feedback_later") / "workspace"
    declare(root, small_spec())
    rng = np.random.default_rng(11)
    week_3 = pilot_week(rng, 3, 900, acceptance=0.6, de_acceptance=0.6)
    week_3.loc[week_3.index % 2 == 0, "model_version"] = "triage-2026.12"
    events = pd.concat([pilot_week(rng, 1, 900), pilot_week(rng, 2, 900), week_3], ignore_index=True)
    events = events[events["day"] != QUIET.isoformat()].reset_index(drop=True)
    paths = DatasetPaths(root, "ticket_triage")
    for day, partition in [*events.groupby("day"), (QUIET.isoformat(), events.iloc[:0])]:
        file = paths.feedback_events(str(day))
        file.parent.mkdir(parents=True, exist_ok=True)
        partition.to_parquet(file, index=False)
    quarantined = {
        "2026-11-10": ["unknown_final_category"],
        "2026-11-24": ["unknown_ticket", "unknown_ticket", "unknown_model_version"],
        "2026-11-26": ["unknown_ticket", "unknown_action"],
        "2026-11-27": [],
    }
    for day, reasons in quarantined.items():
        n = len(reasons)
        frame = pd.DataFrame(
            {
                "event_id": [f"{SECRETS[0]}-{day}-{i}" for i in range(n)],
                "ticket_id": [f"{SECRETS[1]}-{day}-{i}" for i in range(n)],
                "model_version": "triage-2026.11",
                "user_action": "accepted",
                "ts": pd.to_datetime([day] * n, utc=True),
                "day": day,
                "reason": pd.Series(reasons, dtype="str"),
            }
        )
        file = paths.feedback_quarantine(day)
        file.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(file, index=False)
    return root, events


def report_of(root: Path, out: Path, *args: str) -> tuple[str, FeedbackSummary, str, str]:
    """Run `trainset feedback report` into `out`: its output, summary, post-mortem and HTML."""
    result = CliRunner().invoke(cli, ["feedback", "report", "--workspace", str(root), *args, "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = FeedbackSummary.model_validate_json((out / "report.json").read_text())
    return result.output, summary, (out / "postmortem.md").read_text(), (out / "report.html").read_text()


def test_a_range_without_week_1_compares_its_first_and_last_weeks_and_says_so(later, tmp_path):
    root, _ = later
    _, summary, text, _ = report_of(root, tmp_path, "--from", "2026-11-16", "--to", "2026-11-29")
    assert "week 1 against week 1" not in text
    assert "## What improved, what fell: acceptance in week 2 against week 3" in text
    assert (
        "The range does not hold week 1 (2026-11-09 to 2026-11-15): this compares its first week with its last" in text
    )
    assert summary.comparison is not None and (summary.comparison.baseline, summary.comparison.week) == (2, 3)
    assert summary.drift == []  # drift is against week 1 only
    line = next(line for line in text.splitlines() if line.startswith("| all events |"))
    assert summary.comparison.acceptance[0].after.shown() in line  # week 3's acceptance fell
    _, whole, text, _ = report_of(root, tmp_path / "whole", "--to", "2026-11-29")
    assert "acceptance in week 1 against week 3" in text and whole.comparison == whole.drift[-1]
    assert [w.week for w in whole.drift] == [2, 3] and whole.comparison.baseline == 1


def test_a_range_of_a_single_week_has_nothing_to_compare(later, tmp_path):
    root, _ = later
    _, summary, text, _ = report_of(root, tmp_path, "--from", "2026-11-23", "--to", "2026-11-29")
    assert summary.comparison is None and "week 1 against week 1" not in text
    assert "Nothing to compare yet: the range holds only week 3," in text


def test_one_is_singular_everywhere(later, tmp_path):
    root, events = later
    day = "2026-11-17"
    output, summary, text, html = report_of(root, tmp_path, "--from", day, "--to", day)
    assert summary.days_ingested == 1 and summary.events == (events["day"] == day).sum()
    assert "over 1 ingested day," in text and re.search(r"over\s1 ingested day,", html) and "over 1 day" in output
    singular = re.compile(r"(?<![\d,.])1 (events|days|cells|drifts)\b")
    for shown in (output, text, html):
        assert not singular.search(shown), singular.search(shown)


def test_an_ingested_day_without_events_is_a_quiet_day_not_a_gap(later, tmp_path):
    root, _ = later
    _, summary, text, html = report_of(root, tmp_path, "--from", "2026-11-23", "--to", "2026-11-29")
    quiet = next(d for d in summary.days if d.day == QUIET)
    assert quiet.ingested and quiet.events == 0 and quiet.quiet
    assert "not ingested" not in text and "not ingested" not in html
    assert f"1 quiet day (ingested, no event): {QUIET}" in text
    assert re.search(rf"<td>{QUIET}</td><td class=\"num\">0 \(quiet day\)</td>", html)


def test_each_model_version_has_its_acceptance_and_the_pooled_tables_say_so(later, tmp_path):
    root, events = later
    _, summary, text, html = report_of(root, tmp_path, "--from", "2026-11-09", "--to", "2026-11-29")
    document = json.loads((tmp_path / "report.json").read_text())
    assert [m["model_version"] for m in document["by_model"]] == ["triage-2026.11", "triage-2026.12"]
    assert summary.model_versions == ["triage-2026.11", "triage-2026.12"]
    rows = {(r.cell.model_version, r.cell.label): r for r in summary.acceptance_by_model}
    newer = rows[("triage-2026.12", "all events")]
    mine = events[events["model_version"] == "triage-2026.12"]
    assert newer.cell.events == len(mine) and [w.week for w in newer.weekly] == [1, 2, 3]
    assert newer.weekly[0].acceptance.of == 0 and newer.weekly[2].acceptance.of > 0
    assert ("triage-2026.11", "language=de") in rows and ("triage-2026.12", "Billing") in rows
    table = html.split('<table id="acceptance-by-model">')[1].split("</table>")[0]
    assert "triage-2026.12" in table and "triage-2026.11" in table
    assert "all model versions pooled" in html and "all model versions pooled" in text
    assert re.search(r"- Model triage-2026\.12: acceptance 0\.\d\d \[", text)


def test_a_single_model_version_has_no_table_of_its_own(reported):
    _, _, _, out = reported
    summary = FeedbackSummary.model_validate_json((out / "report.json").read_text())
    assert summary.acceptance_by_model == [] and summary.by_model[0].model_version == "triage-2026.11"
    assert 'id="acceptance-by-model"' not in (out / "report.html").read_text()


def test_quarantined_events_are_counted_by_reason_never_named(later, tmp_path):
    root, _ = later
    _, summary, text, html = report_of(root, tmp_path, "--from", "2026-11-16", "--to", "2026-11-29")
    assert [(q.reason, q.events) for q in summary.quarantined] == [
        ("unknown_ticket", 3),
        ("unknown_action", 1),
        ("unknown_model_version", 1),
    ]  # week 1's is outside the range
    assert "- 5 events quarantined: 3 unknown_ticket, 1 unknown_action, 1 unknown_model_version" in text
    table = html.split('<table id="quarantined">')[1].split("</table>")[0]
    assert "unknown_ticket" in table and ">3<" in table
    for shown in (text, html, (tmp_path / "report.json").read_text()):
        assert not any(secret in shown for secret in SECRETS)
    _, whole, _, _ = report_of(root, tmp_path / "whole", "--to", "2026-11-29")
    assert sum(q.events for q in whole.quarantined) == 6


def test_the_gates_show_units_and_an_unjudged_gate_is_not_a_pass(later, tmp_path):
    root, _ = later
    output, summary, text, html = report_of(root, tmp_path, "--from", "2026-11-23", "--to", "2026-11-29")
    drift = next(g for g in summary.gates if g.name == "max_feedback_drift")
    assert not drift.judged
    assert re.search(r"not judged +warn +max_feedback_drift", output), output
    assert "- Gate `max_feedback_drift` (warn): **not judged**:" in text
    row = next(r for r in html.split('<table id="gates">')[1].split("</tr>") if "max_feedback_drift" in r)
    assert '<span class="status unjudged">not judged</span>' in row and "pass" not in row
    _, whole, _, html = report_of(root, tmp_path / "whole", "--to", "2026-11-29")
    row = next(r for r in html.split('<table id="gates">')[1].split("</tr>") if "max_feedback_drift" in r)
    drifts = next(g for g in whole.gates if g.name == "max_feedback_drift").measured
    assert f'<td class="num">{drifts} drifts</td><td class="num">0 allowed</td>' in row
    row = next(r for r in html.split('<table id="gates">')[1].split("</tr>") if "max_misroute_rate" in r)
    assert '<td class="num">at most 5%</td>' in row


def cli_error(root: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["feedback", "report", "ticket_triage", "--workspace", str(root), *args])
    assert isinstance(result.exception, FeedbackReportError), result.output + repr(result.exception)
    return str(result.exception)


def test_a_range_of_ingested_days_without_events_says_so_not_to_ingest(later, pilot):
    root, _ = later
    message = cli_error(root, "--from", str(QUIET), "--to", str(QUIET))
    assert "hold no event" in message and "trainset feedback ingest" not in message
    root, _ = pilot  # GAP has no file, but the ingestion has passed it
    message = cli_error(root, "--from", str(GAP), "--to", str(GAP))
    assert "hold no event" in message and "trainset feedback ingest" not in message
    assert "the ingestion has reached 2026-11-22" in message


def test_a_range_before_the_pilot_says_when_it_starts(pilot):
    root, _ = pilot
    for args in (("--from", "2026-10-01", "--to", "2026-10-31"), ("--to", "2026-11-01")):
        message = cli_error(root, *args)
        assert "the pilot of ticket_triage starts on 2026-11-09 (feedback.start)" in message, message
        assert "trainset feedback ingest" not in message
