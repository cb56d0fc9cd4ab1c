"""The code location loads from the workspace's specs, `dg check defs` passes, a dataset added
by YAML alone becomes its own asset group, a variable a spec needs is checked at load, and a
schedule Dagster cannot run is refused with the file and field named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from conftest import AS_OF, PROJECT, make_workspace

from pipelines.cli import main
from pipelines.components.assets import build_dataset_defs
from pipelines.definitions import build_definitions
from pipelines.lib.catalog import MissingEnvironmentError, SpecError, dataset_specs, load_spec_file
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

FIXTURES = Path(__file__).parent / "fixtures"


def test_project_definitions_load_with_every_asset_check_and_schedule():
    from pipelines.definitions import defs as load

    defs = load()
    repo = defs.get_repository_def()
    # `make demo` may have declared a second dataset (help_desk) in this checkout: look at ticket_triage's.
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys() if key.path[0] == "ticket_triage"}
    stages = ["raw_tickets", "redacted", "quarantine", "eligible", "labeled", "training_set", "release"]
    stages += ["feedback_events", "feedback_metrics"]
    assert keys == {f"ticket_triage/{stage}" for stage in stages}
    # The dataset's job materializes its own graph; feedback is ingested by its sensor's job.
    job_keys = {k.to_user_string() for k in defs.resolve_job_def("ticket_triage_job").asset_layer.selected_asset_keys}
    assert "ticket_triage/feedback_events" not in job_keys and "ticket_triage/labeled" in job_keys
    assert defs.resolve_sensor_def("ticket_triage_feedback_sensor").job_name == "ticket_triage_feedback_job"
    checks = {key.name for key in repo.asset_graph.asset_check_keys}
    assert {"pii_residue", "redacted_contract", "expectation_suite", "min_examples_per_class"} <= checks
    assert defs.resolve_schedule_def("ticket_triage_schedule").cron_schedule == "0 3 * * *"
    job = defs.resolve_job_def("ticket_triage_job")
    # One process per run: the workspace resource holds the dataset's run lock from first step to last.
    assert job.executor_def.name == dg.in_process_executor.name
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == dg.in_process_executor.name


def test_dg_check_defs_passes():
    dg_cli = Path(sys.executable).parent / "dg"
    result = subprocess.run([str(dg_cli), "check", "defs"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_a_second_dataset_declared_in_yaml_alone_is_its_own_asset_group(tmp_path):
    root = make_workspace(tmp_path / "workspace")
    shutil.copytree(FIXTURES / "second_dataset", root / "pipelines" / "defs" / "chat_intent")
    defs = build_definitions(root)
    graph = defs.get_repository_def().asset_graph
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["chat_intent/raw_chats"] == "chat_intent"
    assert groups["chat_intent/release"] == "chat_intent"
    assert groups["ticket_triage/release"] == "ticket_triage"
    assert {k for k, g in groups.items() if g == "chat_intent"} == {
        f"chat_intent/{stage}"
        for stage in ["raw_chats", "redacted", "quarantine", "eligible", "labeled", "training_set", "release"]
    }
    assert defs.resolve_job_def("chat_intent_job") and defs.resolve_sensor_def("chat_intent_landing_sensor")


def test_the_workspace_not_the_project_declares_the_datasets(tmp_path):
    root = make_workspace(tmp_path / "workspace")
    shutil.rmtree(root / "pipelines" / "defs" / "ticket_triage")
    shutil.copytree(FIXTURES / "second_dataset", root / "pipelines" / "defs" / "chat_intent")
    assert sorted(dataset_specs(root)) == ["chat_intent"]
    keys = {k.path[0] for k in build_definitions(root).get_repository_def().asset_graph.get_all_asset_keys()}
    assert keys == {"chat_intent"}


def test_a_variable_a_spec_needs_is_checked_when_the_definitions_load(tmp_path, monkeypatch):
    root = make_workspace(tmp_path / "workspace")
    monkeypatch.delenv("TRAINSET_PSEUDONYM_KEY")
    with pytest.raises(MissingEnvironmentError) as error:
        build_definitions(root)
    message = str(error.value)
    assert "pipelines/defs/ticket_triage/defs.yaml: requirements.env names TRAINSET_PSEUDONYM_KEY" in message
    assert "trainset keygen" in message
    monkeypatch.setenv("TRAINSET_PSEUDONYM_KEY_FILE", str(tmp_path / "key"))  # a file holding it also counts
    assert build_definitions(root).resolve_job_def("ticket_triage_job")


def test_dg_check_defs_names_a_missing_variable(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TRAINSET_PSEUDONYM_KEY")}
    dg_cli = Path(sys.executable).parent / "dg"
    result = subprocess.run([str(dg_cli), "check", "defs"], cwd=PROJECT, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "requirements.env names TRAINSET_PSEUDONYM_KEY, which is not set" in result.stdout + result.stderr


def test_the_key_variable_must_be_declared_under_requirements(tmp_path):
    text = (PROJECT / "pipelines/defs/ticket_triage/defs.yaml").read_text()
    path = tmp_path / "defs.yaml"
    path.write_text(text.replace("  env: [TRAINSET_PSEUDONYM_KEY]", "  env: []"))
    with pytest.raises(
        SpecError, match="privacy.key_env TRAINSET_PSEUDONYM_KEY is not declared under requirements.env"
    ):
        load_spec_file(path)


def spec_with_schedule(folder: Path, schedule: str) -> Path:
    """ticket_triage's defs.yaml with another schedule, written under `folder`."""
    import yaml

    document = yaml.safe_load((PROJECT / "pipelines/defs/ticket_triage/defs.yaml").read_text())
    document["attributes"]["schedule"] = schedule
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs.yaml").write_text(yaml.safe_dump(document))
    (folder / "guideline.md").write_bytes((PROJECT / "pipelines/defs/ticket_triage/guideline.md").read_bytes())
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
    workspace = tmp_path / "workspace"
    path = spec_with_schedule(workspace / "pipelines" / "defs" / "ticket_triage", "0 25 * * *")
    write_landing(generate(GeneratorConfig(rows=200, seed=3, as_of=AS_OF, months=1)), workspace / "data" / "landing")
    monkeypatch.setattr(sys, "argv", ["trainset", "run", "ticket_triage", "--workspace", str(workspace)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: attributes.schedule: '0 25 * * *' is not a cron")
