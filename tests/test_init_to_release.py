"""From an export as it comes to a released version: `trainset init`, then the `trainset run` line
it prints, nothing else. No column is invented, no file renamed, no row deleted, no waiver written:
the draft runs as written (bars the export does not meet are drafted at warn).

The exports are shaped like three public ones, their text written by Faker in several locales
(tests/faker_exports.py): a ticket export with nothing but a text and its label; a multilingual
export padded with thousands of all-empty rows; an issue tracker's export whose last record is
cut short (its quote never closed)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import ENVIRONMENT
from faker_exports import (
    issue_tracker_export,
    label_and_text_export,
    multilingual_export,
    write_cut_short,
    write_export,
    write_with_blank_rows,
)

from pipelines.lib.catalog import load_spec_file
from pipelines.lib.labeling.steps import PROVENANCE
from pipelines.lib.spec import DERIVED_ID, SOURCE_COLUMN

TRAINSET = str(Path(sys.executable).parent / "trainset")
NEWEST = date(2026, 10, 31)
BLANK_ROWS = 2543


@dataclass(frozen=True)
class Case:
    """One export: how it is written, and what it holds."""

    name: str
    file: str
    records: int
    blank: int = 0
    malformed: int = 0


CASES = {
    "label_and_text": Case("it_tickets", "exports/it_tickets.csv", records=400),
    "multilingual_padded": Case("multilingual", "exports/multilingual.csv", records=400, blank=BLANK_ROWS),
    "cut_short": Case("issues", "exports/issues.csv", records=299, malformed=1),
}


def _write(case: str, path: Path) -> None:
    if case == "label_and_text":
        write_export(label_and_text_export(400), path)
    elif case == "multilingual_padded":
        write_with_blank_rows(multilingual_export(400), path, BLANK_ROWS)
    else:
        write_cut_short(issue_tracker_export(300, NEWEST), path)


def trainset(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TRAINSET_PSEUDONYM_KEY_FILE"} | ENVIRONMENT
    return subprocess.run(
        [TRAINSET, *args, "--workspace", str(root)], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module", params=list(CASES))
def released(request, tmp_path_factory):
    """A git workspace holding one export; `trainset init` drafts it, the draft is committed as
    written, and the `trainset run` line init printed is run."""
    case = CASES[request.param]
    root = tmp_path_factory.mktemp(request.param) / "workspace"
    export = root / case.file
    export.parent.mkdir(parents=True)
    _write(request.param, export)
    exported = export.read_bytes()
    (root / ".gitignore").write_text("data/\n.dagster_home/\nexports/\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    drafted = trainset(root, "init", case.name, "--from", case.file)
    assert drafted.returncode == 0, drafted.stdout + drafted.stderr
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    commit = ["git", "-c", "user.name=test", "-c", "user.email=t@x", "commit", "-q", "-m", "drafted by trainset init"]
    subprocess.run(commit, cwd=root, check=True)
    line = next(line.strip() for line in drafted.stdout.splitlines() if line.strip().startswith("3. trainset run"))
    command = shlex.split(line.removeprefix("3. "))
    assert command[:3] == ["trainset", "run", case.name]
    ran = trainset(root, *command[1:])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert export.read_bytes() == exported and sorted(p.name for p in export.parent.iterdir()) == [export.name]
    return request.param, case, root, drafted, ran


def _manifest(root: Path, name: str) -> dict:
    return json.loads((root / "datasets" / name / "v1" / "manifest.json").read_text())


def _released_rows(root: Path, name: str) -> pd.DataFrame:
    version = root / "datasets" / name / "v1"
    return pd.concat(pd.read_parquet(version / f"{split}.parquet") for split in ("train", "validation", "test"))


def test_the_draft_releases_v1_with_every_record_accounted_for(released):
    _, case, root, _, ran = released
    assert "released v1" in ran.stdout
    manifest = _manifest(root, case.name)
    for step, accounting in manifest["accounting"].items():
        removed = sum(accounting["removed"].values())
        assert accounting["rows_in"] == accounting["rows_out"] + removed, (step, accounting)
    raw = manifest["accounting"][f"raw_{case.name}"]
    # Every record of the export is read once: none deleted, none read twice.
    assert raw["rows_in"] == case.records + case.blank + case.malformed
    assert raw["removed"].get("blank_record", 0) == case.blank
    assert manifest["quarantine"]["by_reason"] == ({"malformed_record": case.malformed} if case.malformed else {})
    assert len(_released_rows(root, case.name)) == case.records
    # No waiver: every gate not met was drafted at warn.
    assert not (root / "waivers.yaml").exists()
    assert all(gate["status"] != "waived" for gate in manifest["gates"])


def test_the_release_keeps_the_exports_own_columns(released):
    _, case, root, _, _ = released
    spec = load_spec_file(root / "pipelines" / "defs" / case.name / "defs.yaml")
    header = pd.read_csv(root / case.file, nrows=0).columns
    assert set(spec.kept_columns) - {DERIVED_ID} <= set(header)
    assert spec.sources[0].path == case.file  # the export itself, where it is
    frame = _released_rows(root, case.name)
    # besides the spec's columns, only what trainset adds: each row's source, the detected language,
    # each label's provenance
    assert set(frame.columns) - {"detected_language", *PROVENANCE} <= set(spec.stored_columns)
    assert (frame[SOURCE_COLUMN] == spec.sources[0].name).all()


def test_an_export_without_an_id_gets_derived_ids_and_the_card_says_so(released):
    kind, case, root, drafted, _ = released
    if kind == "cut_short":
        pytest.skip("this export has an id column")
    defs = (root / "pipelines" / "defs" / case.name / "defs.yaml").read_text()
    assert "    id: null  # guessed:" in defs and "overlapping exports cannot be deduplicated" in defs
    frame = _released_rows(root, case.name)
    assert frame[DERIVED_ID].str.fullmatch(r"[0-9a-f]{12}-\d+").all() and frame[DERIVED_ID].is_unique
    card = (root / "datasets" / case.name / "v1" / "DATASET_CARD.md").read_text()
    limits = card.split("## What could not apply", 1)[1].split("\n## ", 1)[0]
    assert "**deduplication**" in limits and f"`{DERIVED_ID}` comes from its export and its place in it" in limits
    assert "with no id, a record in two is two" in drafted.stdout


def test_the_cut_short_record_is_quarantined_once_where_it_starts(released):
    kind, case, root, drafted, _ = released
    if kind != "cut_short":
        pytest.skip("this export ends with a whole record")
    quarantine = pd.read_parquet(root / "data" / "warehouse" / case.name / "quarantine.parquet")
    assert list(quarantine["reason"]) == ["malformed_record"]
    assert quarantine["file"].iloc[0] == case.file and int(quarantine["row"].iloc[0]) == case.records + 1
    # The malformed record is filed on the run's as-of day: the export's newest, with the rest.
    assert f"3. trainset run {case.name} --as-of {NEWEST.isoformat()}" in drafted.stdout
    spec = load_spec_file(root / "pipelines" / "defs" / case.name / "defs.yaml")
    created = pd.to_datetime(issue_tracker_export(300, NEWEST)["Created"].iloc[:-1])
    assert spec.sources[0].start_date == created.min().date()  # nothing quarantined before_start_date


def test_blank_rows_are_counted_and_the_run_needs_no_as_of(released):
    kind, case, _, drafted, ran = released
    if kind == "cut_short":
        pytest.skip("records are dated: see the cut-short case")
    assert f"3. trainset run {case.name}\n" in drafted.stdout  # no timestamp: every record lands on one day
    if case.blank:
        assert f"{case.blank} blank records" in drafted.stdout
        assert f"{case.blank} blank_record" in ran.stdout
