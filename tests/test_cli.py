"""The trainset command, run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES, PROJECT, declare, small_spec

from pipelines.cli import cli

TRAINSET = str(Path(sys.executable).parent / "trainset")


def trainset(*args, cwd, env=None):
    return subprocess.run([TRAINSET, *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_generate_writes_a_landing_zone(tmp_path):
    result = CliRunner().invoke(
        cli, ["generate", "--rows", "500", "--months", "2", "--as-of", "2026-10-31", "--out", str(tmp_path / "landing")]
    )
    assert result.exit_code == 0, result.output
    assert "generated 500 tickets up to 2026-10-31" in result.output
    days = sorted((tmp_path / "landing" / "tickets").glob("*.csv"))
    assert days[-1].name == "2026-10-31.csv"
    assert sum(len(pd.read_csv(p)) for p in days) == 500


def test_bad_class_weights_are_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--class-weights", "Billing:1", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Billing=0.4" in result.output


def test_run_without_landed_data_says_what_to_do(tmp_path):
    declare(tmp_path, small_spec())
    result = trainset("run", "ticket_triage", "--workspace", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "no csv export at data/landing/tickets" in result.stderr and "trainset generate" in result.stderr
    assert "Traceback" not in result.stderr


def without_key() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRAINSET_PSEUDONYM_KEY")}


def test_run_without_a_key_fails_before_any_run_naming_the_variable(tmp_path):
    declare(tmp_path, small_spec())
    CliRunner().invoke(cli, ["generate", "--rows", "300", "--months", "1", "--workspace", str(tmp_path)])
    result = trainset("run", "--workspace", str(tmp_path), cwd=tmp_path, env=without_key())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "requirements.env names TRAINSET_PSEUDONYM_KEY, which is not set" in result.stderr
    assert "trainset keygen" in result.stderr
    assert not (tmp_path / "data" / "warehouse").exists()  # no asset ran


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "does not exist"),  # the variable names a file that is not there
        ("short-key\n", "9 characters, fewer than 16"),
    ],
)
def test_an_unusable_key_fails_before_any_run_saying_what_to_do(tmp_path, key, message):
    declare(tmp_path, small_spec())
    CliRunner().invoke(cli, ["generate", "--rows", "300", "--months", "1", "--workspace", str(tmp_path)])
    key_file = tmp_path / "elsewhere" / "pseudonym.key"
    if key is not None:
        key_file.parent.mkdir()
        key_file.write_text(key)
        key_file.chmod(0o600)
    env = without_key() | {"TRAINSET_PSEUDONYM_KEY_FILE": str(key_file)}
    result = trainset("run", "--workspace", str(tmp_path), cwd=tmp_path, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and str(key_file) in result.stderr and "trainset keygen" in result.stderr
    assert not (tmp_path / "data" / "warehouse").exists()


def test_pull_refuses_a_malformed_ref_and_an_unknown_version(tmp_path):
    bad = trainset("pull", "ticket_triage-v1", "-o", str(tmp_path / "o"), "--workspace", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "write it as NAME@vN" in bad.stderr
    missing = trainset(
        "pull", "ticket_triage@v9", "-o", str(tmp_path / "o"), "--workspace", str(tmp_path), cwd=tmp_path
    )
    assert missing.returncode == 2 and "not released" in missing.stderr


def test_unknown_dataset_lists_the_declared_ones(tmp_path):
    declare(tmp_path, small_spec())
    result = trainset("run", "no_such", "--workspace", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "declared: ['ticket_triage']" in result.stderr


def test_the_dataset_may_be_left_out_only_when_the_workspace_declares_one(tmp_path):
    declare(tmp_path, small_spec())
    alone = CliRunner().invoke(cli, ["versions", "--workspace", str(tmp_path)])
    assert alone.exit_code == 0 and alone.output.startswith("ticket_triage: no versions")
    shutil.copytree(FIXTURES / "second_dataset", tmp_path / "pipelines" / "defs" / "chat_intent")
    export = tmp_path / "export.csv"
    export.write_text("body\nmail me at a@example.com\n")
    for args in (
        ["versions"],
        ["gates"],
        ["run"],
        ["redact", "--in", str(export), "--out", str(tmp_path / "out.csv")],
    ):
        result = trainset(*args, "--workspace", str(tmp_path), cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "name a dataset" in result.stderr and "declares 2 (chat_intent, ticket_triage)" in result.stderr
    named = trainset("versions", "chat_intent", "--workspace", str(tmp_path), cwd=tmp_path)
    assert named.returncode == 0 and "chat_intent: no versions" in named.stdout


def test_dvc_yaml_is_generated_from_the_specs_and_committed_up_to_date(tmp_path):
    assert trainset("dvc-stages", "--check", "--workspace", str(PROJECT), cwd=PROJECT).returncode == 0
    declare(tmp_path, small_spec())
    assert trainset("dvc-stages", "--workspace", str(tmp_path), cwd=tmp_path).returncode == 0
    shutil.copytree(FIXTURES / "second_dataset", tmp_path / "pipelines" / "defs" / "chat_intent")
    stale = trainset("dvc-stages", "--check", "--workspace", str(tmp_path), cwd=tmp_path)
    assert stale.returncode == 1 and "run `trainset dvc-stages`" in stale.stderr
    assert trainset("dvc-stages", "--workspace", str(tmp_path), cwd=tmp_path).returncode == 0
    stages = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]
    chat = stages["chat_intent"]
    assert "data/landing/chats" in chat["deps"] and "expectations/chat_intent.json" in chat["deps"]
    # Only the policy blocks chat_intent declares are params (DVC refuses a missing key).
    assert chat["params"] == [
        {"pipelines/defs/chat_intent/defs.yaml": ["attributes.labels", "attributes.languages", "attributes.gates"]}
    ]
    assert list(chat["metrics"][0]) == ["reports/chat_intent/gates.json"]
    assert stages["ticket_triage"]["plots"][0]["reports/ticket_triage/coverage.csv"]["y"] == "category"


def test_help_lists_every_verb_without_loading_scikit_learn_or_dagster():
    """`trainset --help` imports each verb's module for its one-line help: none may import the heavy
    libraries at module level (scikit-learn alone takes about 2 s)."""
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pipelines.cli import VERBS, cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0 and all(verb in result.output for verb in VERBS), result.output\n"
        "print(' '.join(m for m in ('sklearn', 'scipy', 'dagster', 'great_expectations') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_a_command_works_in_the_workspace_it_is_run_from(tmp_path, monkeypatch):
    """As git finds its repository: the nearest folder at or above the current one declaring
    datasets; `$TRAINSET_WORKSPACE` wins; outside any workspace, the project folder."""
    from pipelines.lib.workspace import PROJECT_ROOT, default_workspace

    declare(tmp_path, small_spec())
    deep = tmp_path / "data" / "exports" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.delenv("TRAINSET_WORKSPACE", raising=False)
    monkeypatch.chdir(deep)
    assert default_workspace() == str(tmp_path)
    result = CliRunner().invoke(cli, ["landed"])
    assert result.exit_code == 0, result.output
    assert "ticket_triage" in result.output and str(PROJECT_ROOT) not in result.output
    monkeypatch.setenv("TRAINSET_WORKSPACE", str(PROJECT))
    assert default_workspace() == str(PROJECT)
    monkeypatch.delenv("TRAINSET_WORKSPACE")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert default_workspace() == str(PROJECT_ROOT)
