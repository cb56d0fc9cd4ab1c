"""Runs that Dagster launches (the UI's launchpad, a schedule, a sensor: submitted to the instance,
started by its run launcher in a run worker) take the same per-dataset lock as `trainset run`:
two runs of a dataset never write its zones at the same time, however each was started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from conftest import AS_OF, land, make_workspace

from pipelines.components.resources import run_lock_name
from pipelines.lib.release.versions import versions

BIN = Path(sys.executable).parent
# Launch at once (the run queue would need the daemon); the run launcher starts a run worker.
INSTANCE = """telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def launch(root: Path, env: dict, log: Path) -> subprocess.Popen:
    """Submit ticket_triage_job to the instance, as the UI's launchpad does, from the code location
    `dg dev` serves (pipelines.definitions, reading the workspace named by TRAINSET_WORKSPACE).
    Output goes to `log`: the code server and the run worker outlive the command, and a pipe nobody
    reads would block them once full."""
    days = sorted(p.stem for p in (root / "data/landing/tickets").glob("*.csv"))
    tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
    config = json.dumps({"resources": {"workspace": {"config": {"as_of": AS_OF.isoformat()}}}})
    args = [str(BIN / "dagster"), "job", "launch", "-m", "pipelines.definitions", "-a", "defs"]
    args += ["-j", "ticket_triage_job", "--tags", json.dumps(tags), "--config-json", config]
    with log.open("w") as output:
        return subprocess.Popen(args, env=env, cwd=root, stdout=output, stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_two_dagster_launched_runs_and_trainset_run_exclude_each_other(tmp_path, monkeypatch):
    root = make_workspace(tmp_path / "workspace")
    land(root, rows=3000, months=2)  # the lock is under test, not retention or freshness
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE)
    env = os.environ | {"TRAINSET_WORKSPACE": str(root), "DAGSTER_HOME": str(home)}
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the instance the three runs are recorded in
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs() == []  # its storage created now, not by two launches racing to

    # Two runs launched at once, as two clicks on "Materialize", or a schedule tick and a sensor's run.
    logs = [tmp_path / "launch-1.log", tmp_path / "launch-2.log"]
    launched = [launch(root, env, log) for log in logs]
    lock = root / "data" / "locks" / f"{run_lock_name('ticket_triage')}.lock"
    wait_for(lambda: lock.is_file() and lock.read_text().startswith("pid "), 180, "a launched run to start")
    # While one of them runs, `trainset run` in a terminal.
    cli = subprocess.run(
        [str(BIN / "trainset"), "run", "--workspace", str(root), "--as-of", AS_OF.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "another run of ticket_triage is in progress" in cli.stderr and "wait for it to finish" in cli.stderr
    for process, log in zip(launched, logs, strict=True):
        assert process.wait(timeout=600) == 0, log.read_text()[-3000:]

    with dg.DagsterInstance.get() as instance:
        runs = wait_for(
            lambda: (runs := instance.get_runs()) and len(runs) == 3 and all(r.is_finished for r in runs) and runs,
            600,
            "the three runs to finish",
        )
        assert sorted(r.status.value for r in runs) == ["FAILURE", "FAILURE", "SUCCESS"]
        for run in runs:
            records = instance.all_logs(run.run_id)
            steps = [e for e in records if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
            if run.status == dg.DagsterRunStatus.SUCCESS:
                assert steps
                continue
            assert not steps, "a refused run executed a step"
            said = [str(e.dagster_event.event_specific_data) for e in records if e.dagster_event]
            assert "another run of ticket_triage is in progress" in " ".join(said)
    assert versions(root / "datasets" / "ticket_triage") == [1]
