"""`trainset init`: profile an export nobody declared, draft its spec, suite and brief; the draft
releases v1 as written. Exports are written by Faker in four locales with column names unlike the
demo's, and the field cases of ../shared/field-cases/ingest/ (copied into tests/fixtures/init/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import FIXTURES
from faker_exports import help_desk_export, write_export

from pipelines.lib.catalog import load_spec_file
from pipelines.lib.drafting.first_run import FirstRun, plan_first_run, source_path
from pipelines.lib.ingest.profile import export_format, profile_export, read_export
from pipelines.lib.quality.expectations import load_suite
from pipelines.synthetic.help_desk import write_help_desk_export

TRAINSET = str(Path(sys.executable).parent / "trainset")
NEWEST = date(2026, 10, 31)
#: days of tickets in the drafted export: the run processes one partition per day
DAYS = 21
PII_COLUMNS = ["Customer Name", "Customer Email", "Customer Phone"]


def trainset(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TRAINSET, *args, "--workspace", str(root)], cwd=root, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    """A git workspace holding one Faker export, and `trainset init helpdesk` run on it."""
    root = tmp_path_factory.mktemp("init") / "workspace"
    frame = help_desk_export(1500, NEWEST, days=DAYS)
    export = write_export(frame, root / "exports" / "helpdesk.csv")
    (root / ".gitignore").write_text("data/\n.dagster_home/\nexports/\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    return root, frame, export, trainset(root, "init", "helpdesk", "--from", "exports/helpdesk.csv")


def test_init_drafts_a_valid_spec_with_every_guess_marked(drafted):
    root, _, _, result = drafted
    assert result.returncode == 0, result.stdout + result.stderr
    defs = root / "pipelines" / "defs" / "helpdesk" / "defs.yaml"
    spec = load_spec_file(defs)
    c = spec.columns
    assert (c.id, c.user, c.timestamp) == ("Ticket Number", "Customer ID", "Created")
    assert c.text == ["Ticket Subject", "Ticket Description"]
    assert c.segments == ["Ticket Channel", "Ticket Priority"]
    assert spec.labels.column == "Ticket Type" and len(spec.labels.classes) == 4
    assert {"en", "de", "fr", "es"} <= set(spec.languages)
    assert not set(PII_COLUMNS + ["Customer Gender", "Customer Age"]) & set(spec.kept_columns)
    text = defs.read_text()
    for role in ("id", "user", "timestamp", "column"):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{role}:"))
        assert "# guessed:" in line and line.endswith("— review"), line
    for placeholder in ("owner", "steward", "legal_basis", "licence"):
        assert f"{placeholder}: TODO-" in text
    # Who may read it and whom to call are people's to say: drafted as placeholders, listed as such.
    assert spec.classification == "confidential" and spec.sources[0].classification == "confidential"
    assert {"access.raw", "access.releases", "escalation.pii_found", "sources[0].escalation.gate_failure"} <= set(
        spec.placeholders()
    )
    assert "must be filled in" in text
    # 1500 tickets cannot hold 1000 of every class: the seed's bar is drafted at warn, measured.
    assert spec.gates["min_examples_per_class"].severity == "warn"
    assert "min_examples_per_class: {min: 1000, severity: warn}  # measured" in text and "< 1000 on this export" in text
    assert spec.gates["max_split_leakage"].severity == "error"
    assert "min_recent_share" in spec.gates and "required_values" in spec.gates
    assert "min_label_agreement" not in spec.gates  # no annotations
    assert spec.gates["required_values"].values == ["Email", "Chat", "Web"]  # the seed's channels, as spelled


def test_the_suite_loads_whole_and_names_the_id_and_classes(drafted):
    root, _, _, _ = drafted
    path = root / "expectations" / "helpdesk.json"
    suite = json.loads(path.read_text())
    assert len(load_suite(path).expectations) == len(suite["expectations"])
    kinds = {(e["type"], e["kwargs"]["column"]) for e in suite["expectations"]}
    assert ("expect_column_values_to_be_unique", "Ticket Number") in kinds
    assert ("expect_column_values_to_not_be_null", "Ticket Number") in kinds
    in_classes = [e for e in suite["expectations"] if e["kwargs"]["column"] == "Ticket Type"]
    assert all(e["kwargs"]["value_set"] == {"$PARAMETER": "classes"} for e in in_classes)


def test_the_brief_and_the_output_hold_no_pii_and_say_what_to_do(drafted):
    root, frame, _, result = drafted
    brief = (root / "reports" / "helpdesk" / "data_brief.md").read_text()
    written = brief + result.stdout + result.stderr
    written += (root / "pipelines" / "defs" / "helpdesk" / "defs.yaml").read_text()
    written += (root / "expectations" / "helpdesk.json").read_text()
    for column in [*PII_COLUMNS, "Ticket Description", "Ticket Subject"]:
        leaked = [value for value in frame[column].head(200) if value in written]
        assert not leaked, f"{column} values in the brief, draft or output"
    assert not [value for value in frame["Ticket Number"].head(200) if f" {value} " in written]
    for section in ("## Outcome", "## Labels", "## Sources", "## Coverage against the drafted bars",
                    "## Privacy risks", "## What could not apply"):  # fmt: skip
        assert section in brief
    assert "| Customer Email | drop | email 1500 | drop the column |" in brief
    assert "| min_examples_per_class |" in brief and "warn (seed: error)" in brief
    # The export is the source, where it is: no dated copy to land, no --as-of (every record is dated).
    assert "put them beside exports/helpdesk.csv and turn `path:` into their folder or a glob" in result.stdout
    assert "  3. trainset run helpdesk\n" in result.stdout
    assert "dated file" not in written and "YYYY-MM-DD" not in written and "--as-of" not in written
    oldest = pd.to_datetime(frame["Created"]).min().date()
    assert f"Measured as `trainset run helpdesk` will measure them (days {oldest} to 2026-10-30" in brief


def test_the_draft_releases_v1_as_written(drafted):
    root, frame, _, _ = drafted
    spec = load_spec_file(root / "pipelines" / "defs" / "helpdesk" / "defs.yaml")
    assert spec.sources[0].path == "exports/helpdesk.csv"
    oldest = pd.to_datetime(frame["Created"]).min().date()
    assert spec.sources[0].start_date == oldest  # the earliest timestamp's day: nothing before_start_date
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "drafted by trainset init"], cwd=root, check=True)
    result = trainset(root, "run", "helpdesk")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"partitions {oldest}..2026-10-30" in result.stdout
    assert "released v1" in result.stdout and "quarantine: 0 rows" in result.stdout
    manifest = json.loads((root / "datasets" / "helpdesk" / "v1" / "manifest.json").read_text())
    assert manifest["accounting"]["training_set"]["rows_out"] == len(frame)


def test_init_refuses_to_overwrite_a_spec_unless_forced(drafted):
    root, _, _, _ = drafted
    again = trainset(root, "init", "helpdesk", "--from", "exports/helpdesk.csv")
    assert again.returncode == 2 and "pass --force" in again.stderr and "Traceback" not in again.stderr
    forced = trainset(root, "init", "helpdesk", "--from", "exports/helpdesk.csv", "--force")
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv.gz", ".jsonl.xz"])
def test_the_profile_reads_other_formats_alike(tmp_path, suffix):
    kind, _, compressed = suffix[1:].partition(".")
    export = write_export(help_desk_export(300, NEWEST, seed=9), tmp_path / f"tickets.{kind}")
    if compressed:  # downloaded compressed: the format is the suffix before the compression's
        import gzip
        import lzma

        packed = tmp_path / f"tickets{suffix}"
        packed.write_bytes((gzip if compressed == "gz" else lzma).compress(export.read_bytes()))
        export.unlink()
        export = packed
    assert export_format(export) == kind
    frame, malformed, blank = read_export(export)
    profile = profile_export(frame, malformed, str(export), kind, blank=blank)
    roles = {c.name: c.role for c in profile.columns}
    assert roles["Ticket Number"] == "id" and roles["Created"] == "timestamp" and roles["Ticket Type"] == "label"
    assert all(roles[name] == "drop" for name in PII_COLUMNS)
    assert profile.column("Customer Email").pii == {"email": 300}
    assert profile.column("Customer Email").values == {}  # never a value of a dropped column
    assert profile.column("Ticket Description").values == {}


def test_init_outside_any_workspace_drafts_into_the_current_folder(tmp_path, monkeypatch):
    """Never into the project folder the command happens to be installed in."""
    from click.testing import CliRunner

    from pipelines.cli import cli
    from pipelines.lib.workspace import PROJECT_ROOT

    write_export(help_desk_export(200, NEWEST), tmp_path / "tickets.csv")
    monkeypatch.delenv("TRAINSET_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init", "stray_tickets", "--from", "tickets.csv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pipelines" / "defs" / "stray_tickets" / "defs.yaml").is_file()
    assert not (PROJECT_ROOT / "pipelines" / "defs" / "stray_tickets").exists()


def test_the_label_can_be_named(tmp_path):
    export = write_export(help_desk_export(200, NEWEST), tmp_path / "tickets.csv")
    result = trainset(tmp_path, "init", "by_priority", "--from", str(export), "--label", "Ticket Priority")
    assert result.returncode == 0, result.stderr
    spec = load_spec_file(tmp_path / "pipelines" / "defs" / "by_priority" / "defs.yaml")
    assert spec.labels.column == "Ticket Priority"
    assert sorted(spec.labels.classes) == ["Critical", "High", "Low", "Medium"]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--from", "missing.csv"], 2, "missing.csv: no such file"),
        (["--from", "tickets.csv", "--label", "Queue"], 2, "no column 'Queue'"),
        (["--from", "notes.txt"], 2, "not a .csv, .jsonl or .parquet file"),
        (["--from", "empty.csv"], 1, "the file is empty"),
    ],
)
def test_bad_input_is_one_line_without_a_traceback(tmp_path, args, code, says):
    write_export(help_desk_export(50, NEWEST), tmp_path / "tickets.csv")
    (tmp_path / "notes.txt").write_text("ticket notes\n")
    (tmp_path / "empty.csv").write_text("")
    shutil.copy(FIXTURES / "init" / "semicolon-export.csv", tmp_path)
    result = trainset(tmp_path, "init", "tickets", *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    # One error line (click adds its usage line and hint before a usage error's).
    assert len([line for line in result.stderr.splitlines() if line.lower().startswith("error")]) == 1
    assert not (tmp_path / "pipelines").exists()


def test_field_case_a_semicolon_export_is_profiled_by_its_sniffed_delimiter(tmp_path):
    shutil.copy(FIXTURES / "init" / "semicolon-export.csv", tmp_path)
    result = trainset(tmp_path, "init", "tickets", "--from", "semicolon-export.csv")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    profile = _profile("semicolon-export.csv")
    assert profile.records == 2 and profile.one("id") == "ticket_id" and profile.one("label") == "category"


def _profile(name: str, label: str | None = None):
    path = FIXTURES / "init" / name
    frame, malformed, blank = read_export(path)
    return profile_export(frame, malformed, str(path), path.suffix[1:], label, blank)


def test_field_case_trailing_empty_rows_are_counted_not_profiled():
    profile = _profile("trailing-empty-rows.csv")
    assert (profile.records, profile.blank_records) == (3, 40)
    assert profile.column("ticket_id").blank_share == 0 and profile.one("id") == "ticket_id"
    assert profile.role("drop") == ["customer_name", "customer_email"]


def test_field_case_an_unclosed_quote_is_counted_as_malformed_once():
    profile = _profile("unclosed-quote-multiline.csv")
    assert profile.records == 3 and profile.malformed == {"malformed_record": 1}
    assert (profile.one("label"), profile.one("language")) == ("category", "language")


def test_field_case_timestamps_with_offsets_are_read_as_utc():
    profile = _profile("tz-offsets.csv", label="category")
    assert profile.one("timestamp") == "created_at"
    assert profile.last_timestamp is not None and profile.last_timestamp.isoformat() == "2026-11-21T03:30:00+00:00"


def test_field_case_a_windows_1252_export_is_read_with_its_encoding_detected():
    profile = _profile("cp1252-export.csv", label="category")
    assert profile.malformed == {} and profile.records == 4


def test_field_case_excel_bom_export_gets_an_answer_not_a_traceback(tmp_path):
    shutil.copy(FIXTURES / "init" / "excel-bom-crlf-numeric-ids.csv", tmp_path / "excel.csv")
    result = trainset(tmp_path, "init", "excel", "--from", "excel.csv", "--label", "category")
    assert "Traceback" not in result.stderr
    if result.returncode == 0:  # once the record reader strips the byte-order mark
        spec = yaml.safe_load((tmp_path / "pipelines" / "defs" / "excel" / "defs.yaml").read_text())
        assert spec["attributes"]["columns"]["id"] == "ticket_id"
    else:
        assert result.returncode == 1 and "cannot be read as csv" in result.stderr


def test_a_person_named_in_words_is_dropped_and_a_duplicated_ticket_keeps_the_id(tmp_path):
    """A `Requester` column of names is no user id and no text, and one ticket exported twice does
    not make the ticket number something else (a run quarantines the copy)."""
    frame = help_desk_export(300, NEWEST).rename(columns={"Customer Name": "Requester"})
    frame = pd.concat([frame, frame.iloc[[7]]], ignore_index=True)
    path = write_export(frame, tmp_path / "export.csv")
    rows, malformed, blank = read_export(path)
    profile = profile_export(rows, malformed, str(path), "csv", blank=blank)
    assert profile.column("Requester").role == "drop"
    assert "names a person in words" in profile.column("Requester").reason
    assert profile.one("id") == "Ticket Number" and "but for 1 repeated value" in profile.column("Ticket Number").reason


def test_the_first_run_needs_as_of_only_for_records_it_would_file_apart_from_an_old_export(tmp_path):
    """A run files records without a usable timestamp (and blank and malformed ones) on its as-of
    day, at most yesterday: `--as-of` is drafted only when that day would be far from the export's."""
    export = write_export(help_desk_export(60, NEWEST, days=5), tmp_path / "tickets.csv")
    rows, malformed, blank = read_export(export)
    dated = profile_export(rows, malformed, str(export), "csv", blank=blank)
    today = date(2026, 11, 29)
    first = dated.first_timestamp.date()
    assert plan_first_run(dated, today) == FirstRun(start_date=first, as_of=None)
    padded = dated.model_copy(update={"blank_records": 40})
    assert plan_first_run(padded, today) == FirstRun(start_date=first, as_of=date(2026, 10, 30))
    undated = dated.model_copy(update={"undated": 1})
    assert plan_first_run(undated, today).as_of == date(2026, 10, 30)
    # An export up to yesterday: its stray records are filed on yesterday, with the rest.
    assert plan_first_run(undated, date(2026, 10, 31)).as_of is None
    timeless = dated.model_copy(update={"first_timestamp": None, "last_timestamp": None, "blank_records": 40})
    assert plan_first_run(timeless, today) == FirstRun(start_date=date(2026, 11, 28), as_of=None)
    assert FirstRun(first, date(2026, 10, 30)).command("t") == "trainset run t --as-of 2026-10-30"


def test_the_source_path_is_the_export_relative_to_the_workspace_when_inside_it(tmp_path):
    workspace = tmp_path / "workspace"
    inside = workspace / "exports" / "tickets.csv"
    outside = tmp_path / "elsewhere" / "tickets.csv"
    assert source_path(inside, workspace) == "exports/tickets.csv"
    assert source_path(outside, workspace) == str(outside)
    write_export(help_desk_export(120, NEWEST, days=3), outside)
    workspace.mkdir()
    result = trainset(workspace, "init", "elsewhere", "--from", str(outside))
    assert result.returncode == 0, result.stderr
    spec = load_spec_file(workspace / "pipelines" / "defs" / "elsewhere" / "defs.yaml")
    assert spec.sources[0].path == str(outside)
    assert f"put them beside {outside} and turn `path:`" in result.stdout


def test_the_demos_help_desk_export_is_one_file_with_its_own_names(tmp_path):
    """`make demo` drafts help_desk from this export: other names than ticket_triage's, one file,
    the same bytes when written again (a repeated demo lands nothing new)."""
    path = write_help_desk_export(tmp_path / "help_desk.csv", rows=400, as_of=NEWEST)
    written = path.read_bytes()
    assert write_help_desk_export(path, rows=400, as_of=NEWEST).read_bytes() == written
    rows, malformed, blank = read_export(path)
    profile = profile_export(rows, malformed, str(path), "csv", blank=blank)
    roles = {c.name: c.role for c in profile.columns}
    assert roles == {
        "Ticket Number": "id",
        "Requester": "drop",
        "Opened": "timestamp",
        "Issue": "text",
        "Description": "text",
        "Queue": "label",
    }
    assert profile.last_timestamp.date() == NEWEST and profile.first_timestamp.date() == date(2026, 10, 18)


def test_free_text_that_mentions_contacts_in_every_row_is_text_to_redact_and_a_contact_column_is_dropped(tmp_path):
    """A description in which every customer signs with an e-mail is the ticket's text: redacted,
    not dropped (only the subject would be left to train on); the e-mail column itself is dropped."""
    frame = help_desk_export(200, NEWEST)
    frame["Ticket Description"] = frame["Ticket Description"] + " Reach me at " + frame["Customer Email"] + " please."
    path = write_export(frame, tmp_path / "export.csv")
    rows, malformed, blank = read_export(path)
    profile = profile_export(rows, malformed, str(path), "csv", blank=blank)
    description = profile.column("Ticket Description")
    assert description.role == "text" and "mentions email: redacted" in description.reason
    assert profile.column("Customer Email").role == "drop"
