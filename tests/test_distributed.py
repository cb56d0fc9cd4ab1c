"""The deployment past one process, against the machine's real servers: Dagster on PostgreSQL,
its daemon and webserver, and two Celery workers on the RabbitMQ broker (`trainset deploy start`).

A month of days is backfilled through it (`trainset backfill`): ingest once, redaction in runs
of days shared by both workers, then the whole-history steps and the release; the worker that
begins the training set is SIGKILLed mid-step. The release must still hold the very bytes the
single-process run releases from the same exports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from conftest import ENVIRONMENT, land, make_workspace, small_spec

from pipelines.lib.catalog import get_spec
from pipelines.runner import materialize_dataset

TRAINSET = str(Path(sys.executable).parent / "trainset")
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SPLITS = ("train.parquet", "validation.parquet", "test.parquet")
STEP = "ticket_triage__training_set"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The same month of exports released once in process and once by a backfill through the
    deployment, which keeps running until the module's tests end."""
    base = tmp_path_factory.mktemp("distributed")
    single = make_workspace(base / "single", small_spec())
    land(single, rows=3000, months=1)
    distributed = base / "deployed"
    shutil.copytree(single, distributed)
    database = f"trainset_test_{uuid.uuid4().hex[:10]}"
    env = (
        os.environ
        | ENVIRONMENT
        | {
            "XDG_DATA_HOME": str(base / "data-home"),
            "TRAINSET_DAGSTER_PG_URL": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}",
            "TRAINSET_DAYS_PER_RUN": "16",  # two runs of days: one for each worker
        }
    )
    port = _free_port()
    previous = dict(os.environ)
    os.environ.update(ENVIRONMENT | {"XDG_DATA_HOME": env["XDG_DATA_HOME"]})
    try:
        spec, spec_file = get_spec("ticket_triage", single)
        materialize_dataset(spec, single, spec_file=spec_file, instance=dg.DagsterInstance.ephemeral())
    finally:
        os.environ.clear()
        os.environ.update(previous)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [TRAINSET, *args, "--workspace", str(distributed)], env=env, capture_output=True, text=True, timeout=900
        )

    try:
        # A virtual host of its own: no other deployment on the broker takes its steps.
        started = cli("deploy", "start", "--port", str(port), "--vhost", database)
        assert started.returncode == 0, started.stdout + started.stderr
        status = cli("deploy", "status")
        command = [TRAINSET, "backfill", "ticket_triage", "--workspace", str(distributed), "--port", str(port)]
        running = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Mid-backfill, SIGKILL the worker that begins the training set (and its pool).
        os.environ["TRAINSET_DAGSTER_PG_URL"] = env["TRAINSET_DAGSTER_PG_URL"]
        with dg.DagsterInstance.from_config(str(distributed / ".deploy" / "dagster_home")) as instance:
            run_id, killed = _kill_worker_running(instance, STEP, distributed)
            out, err = running.communicate(timeout=900)
            ran_on = _workers_of(instance, run_id, STEP)
        backfill = subprocess.CompletedProcess(command, running.returncode, out, err)
        audit = cli("audit", "show", "--dataset", "ticket_triage")
        yield Deployed(single, distributed, backfill, status, killed, ran_on, audit)
    finally:
        stopped = cli("deploy", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        assert not list((distributed / ".deploy").glob("*.pid"))
        with psycopg.connect(SERVER, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", database], capture_output=True, check=False)


@dataclass
class Deployed:
    single: Path
    distributed: Path
    backfill: subprocess.CompletedProcess
    status: subprocess.CompletedProcess
    #: the worker killed while it ran the training set, and the workers that began it, in order
    killed: str
    ran_on: list[str]
    audit: subprocess.CompletedProcess


def test_a_backfill_through_celery_workers_releases_what_one_process_releases(deployed):
    single, distributed, backfill = deployed.single, deployed.distributed, deployed.backfill
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "completed_success" in backfill.stdout
    assert "gate report: " in backfill.stdout  # and each gate failed, as `trainset run` says them
    version = Path("datasets/ticket_triage/v1")
    for split in SPLITS:
        assert (distributed / version / split).read_bytes() == (single / version / split).read_bytes(), split
    one, other = (_manifest(root / version / "manifest.json", root) for root in (single, distributed))
    assert other == one  # but for when, by which run and from which commit


def _manifest(path: Path, root: Path) -> dict:
    """The manifest without what differs between two builds of the same content: when, by which run,
    from which commit, in which folder, and the card that says so."""
    manifest = json.loads(path.read_text().replace(str(root), "<workspace>"))
    for volatile in ("created_at", "dagster_run_id", "code_version"):
        manifest.pop(volatile)
    manifest["files"].pop("DATASET_CARD.md")
    return manifest


def test_both_workers_ran_steps_of_the_backfill(deployed):
    backfill = deployed.backfill  # counted before and after the kill
    workers = {
        line.split(":")[0].strip(): int(line.split(":")[1].split()[0])
        for line in backfill.stdout.splitlines()
        if line.strip().startswith("worker")
    }
    assert set(workers) == {f"worker1@{socket.gethostname()}", f"worker2@{socket.gethostname()}"}, backfill.stdout
    assert all(steps >= 1 for steps in workers.values()), workers


def test_every_process_of_the_deployment_runs(deployed):
    # the daemon, the webserver and the two workers
    assert deployed.status.stdout.count("running (pid") == 4, deployed.status.stdout


def test_a_step_whose_worker_is_killed_runs_again_on_the_other_worker(deployed):
    """The worker running the training set was SIGKILLed mid-step: RabbitMQ gave the step back,
    the other worker ran it, the backfill succeeded, and its release is byte-identical (above)."""
    assert deployed.backfill.returncode == 0, deployed.backfill.stdout + deployed.backfill.stderr
    assert deployed.ran_on[0] == deployed.killed and len(set(deployed.ran_on)) == 2, deployed.ran_on


def test_the_backfill_and_its_release_are_in_the_audit_log(deployed):
    assert deployed.audit.returncode == 0, deployed.audit.stderr
    assert "backfill" in deployed.audit.stdout and "release" in deployed.audit.stdout, deployed.audit.stdout


def _workers_of(instance, run_id: str, step: str) -> list[str]:
    """The Celery workers that began executing `step` in the run, in order."""
    return [
        str(entry.dagster_event.event_specific_data.metadata["Celery worker"].value)
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        if entry.step_key == step and "Celery worker" in (entry.dagster_event.event_specific_data.metadata or {})
    ]


def _kill_worker_running(instance, step: str, root: Path) -> tuple[str, str]:
    """Wait until a worker begins `step` in any run, then SIGKILL that worker and its pool;
    returns (the run's id, the worker's name)."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        for run in instance.get_runs():
            if workers := _workers_of(instance, run.run_id, step):
                pid = int((root / ".deploy" / f"{workers[0].split('@')[0]}.pid").read_text())
                os.killpg(pid, signal.SIGKILL)
                return run.run_id, workers[0]
        time.sleep(0.2)
    raise AssertionError(f"no worker began {step} within 900 s")
