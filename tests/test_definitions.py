"""The code location loads, `dg check defs` passes, a dataset added by YAML alone becomes its own
asset group, and a schedule Dagster cannot run is refused with the file and field named."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from conftest import AS_OF, PROJECT

from pipelines import runner
from pipelines.cli import main
from pipelines.components.assets import build_dataset_defs
from pipelines.components.resources import TrainsetWorkspace
from pipelines.lib.catalog import SpecError, load_spec_file
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

FIXTURES = Path(__file__).parent / "fixtures"


def test_project_definitions_load_with_every_asset_check_and_schedule():
    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    stages = ["raw_tickets", "redacted", "quarantine", "eligible", "training_set", "release"]
    assert keys == {f"ticket_triage/{stage}" for stage in stages}
    checks = {key.name for key in repo.asset_graph.asset_check_keys}
    assert {"pii_residue", "redacted_contract", "expectation_suite", "min_examples_per_class"} <= checks
    assert defs.resolve_schedule_def("ticket_triage_schedule").cron_schedule == "0 3 * * *"
    assert defs.resolve_job_def("ticket_triage_job") is not None


def test_dg_check_defs_passes():
    dg_cli = Path(sys.executable).parent / "dg"
    result = subprocess.run([str(dg_cli), "check", "defs"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_a_second_dataset_declared_in_yaml_alone_is_its_own_asset_group(tmp_path, monkeypatch):
    project = tmp_path / "fixture_project"
    package = project / "fixture_project"
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    shutil.copytree(PROJECT / "pipelines" / "defs" / "ticket_triage", package / "defs" / "ticket_triage")
    shutil.copytree(FIXTURES / "second_dataset", package / "defs" / "chat_intent")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "fixture-project"
            version = "0"
            [tool.dg]
            directory_type = "project"
            [tool.dg.project]
            root_module = "fixture_project"
            """
        )
    )
    monkeypatch.syspath_prepend(str(project))
    defs = dg.Definitions.merge(
        dg.load_from_defs_folder(project_root=project), dg.Definitions(resources={"workspace": TrainsetWorkspace()})
    )
    graph = defs.get_repository_def().asset_graph
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["chat_intent/raw_chats"] == "chat_intent"
    assert groups["chat_intent/release"] == "chat_intent"
    assert groups["ticket_triage/release"] == "ticket_triage"
    assert {k for k, g in groups.items() if g == "chat_intent"} == {
        f"chat_intent/{stage}"
        for stage in ["raw_chats", "redacted", "quarantine", "eligible", "training_set", "release"]
    }


def spec_with_schedule(folder: Path, schedule: str) -> Path:
    """ticket_triage's defs.yaml with another schedule, written under `folder`."""
    import yaml

    document = yaml.safe_load((PROJECT / "pipelines/defs/ticket_triage/defs.yaml").read_text())
    document["attributes"]["schedule"] = schedule
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs.yaml").write_text(yaml.safe_dump(document))
    return folder / "defs.yaml"


@pytest.mark.parametrize("schedule", ["daily", "0 3 * *", "0 3 * * * *", "61 3 * * *", "0 0 30 2 *", ""])
def test_a_schedule_dagster_cannot_run_is_refused_naming_the_file_and_what_to_write(tmp_path, schedule):
    path = spec_with_schedule(tmp_path, schedule)
    with pytest.raises(SpecError) as error:
        build_dataset_defs(load_spec_file(path), path)
    message = str(error.value)
    assert message.startswith(f"{path}: attributes.schedule: {schedule!r} is not a cron schedule Dagster can run")
    assert "Write five fields, minute hour day-of-month month day-of-week (UTC)" in message


@pytest.mark.parametrize("schedule", ["@daily", "0 3 * * 1-5", "*/30 6-18 * * mon-fri"])
def test_a_schedule_dagster_accepts_is_built_as_written(tmp_path, schedule):
    path = spec_with_schedule(tmp_path, schedule)
    [built] = build_dataset_defs(load_spec_file(path), path).schedules or []
    assert isinstance(built, dg.ScheduleDefinition) and built.cron_schedule == schedule


def test_trainset_run_shows_an_invalid_schedule_as_an_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Dagster wraps an error raised while it builds the definitions; the command shows the spec's.
    (A package name of its own: the other fixture project stays imported.)"""
    project = tmp_path / "schedule_project"
    (project / "schedule_project" / "defs").mkdir(parents=True)
    (project / "schedule_project" / "__init__.py").write_text("")
    (project / "schedule_project" / "defs" / "__init__.py").write_text("")
    path = spec_with_schedule(project / "schedule_project" / "defs" / "ticket_triage", "0 25 * * *")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "schedule-project"\nversion = "0"\n'
        '[tool.dg]\ndirectory_type = "project"\n[tool.dg.project]\nroot_module = "schedule_project"\n'
    )
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setattr(runner, "project_definitions", lambda: dg.load_from_defs_folder(project_root=project))
    workspace = tmp_path / "workspace"
    write_landing(generate(GeneratorConfig(rows=200, seed=3, as_of=AS_OF, months=1)), workspace / "data" / "landing")
    monkeypatch.setattr(sys, "argv", ["trainset", "run", "ticket_triage", "--workspace", str(workspace)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: attributes.schedule: '0 25 * * *' is not a cron")
