"""The deployment past one process, against the machine's real servers: Dagster on PostgreSQL,
its daemon and webserver, and two Celery workers on the Redis broker (`trainset deploy start`).

A month of days is backfilled through it (`trainset backfill`): ingest once, redaction in runs
of days shared by both workers, then the whole-history steps and the release. The release must
hold the very bytes the single-process run releases from the same exports.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from conftest import AS_OF, ENVIRONMENT, land, make_workspace, small_spec

from pipelines.components.assets import RANGE_END, RANGE_START
from pipelines.components.resources import AS_OF_TAG
from pipelines.deployment.backfill import DATASET_TAG
from pipelines.lib.catalog import get_spec
from pipelines.runner import materialize_dataset

TRAINSET = str(Path(sys.executable).parent / "trainset")
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SPLITS = ("train.parquet", "validation.parquet", "test.parquet")


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
        started = cli("deploy", "start", "--port", str(port))
        assert started.returncode == 0, started.stdout + started.stderr
        backfill = cli("backfill", "ticket_triage", "--port", str(port), "--timeout", "600")
        status = cli("deploy", "status")
        yield Deployed(single, distributed, backfill, status, port, env, cli)
    finally:
        stopped = cli("deploy", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        assert not list((distributed / ".deploy").glob("*.pid"))
        with psycopg.connect(SERVER, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Deployed:
    single: Path
    distributed: Path
    backfill: subprocess.CompletedProcess
    status: subprocess.CompletedProcess
    port: int
    env: dict
    cli: Callable[..., subprocess.CompletedProcess]


def test_a_backfill_through_celery_workers_releases_what_one_process_releases(deployed):
    single, distributed, backfill = deployed.single, deployed.distributed, deployed.backfill
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "completed_success" in backfill.stdout
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
    backfill = deployed.backfill
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
    """SIGKILL the worker running a step: RabbitMQ gives the step back, the other worker runs it,
    the run succeeds, and the release it reaches holds the same rows as before."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=deployed.port)
    first, last = deployed.backfill.stdout.split("ticket_triage ")[1].split()[0].split("..")  # the backfill's days
    range_tags = {RANGE_START: first, RANGE_END: last, AS_OF_TAG: AS_OF.isoformat()}
    run_id = client.submit_job_execution("ticket_triage_job", tags=range_tags | {DATASET_TAG: "ticket_triage"})
    os.environ["TRAINSET_DAGSTER_PG_URL"] = deployed.env["TRAINSET_DAGSTER_PG_URL"]
    home = deployed.distributed / ".deploy" / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        killed = _kill_worker_running(instance, run_id, "ticket_triage__training_set", deployed.distributed)
        deadline = time.monotonic() + 600
        while not (run := instance.get_run_by_id(run_id)).is_finished and time.monotonic() < deadline:
            time.sleep(1)
        ran_on = _workers_of(instance, run_id, "ticket_triage__training_set")
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    assert killed in ran_on and len(ran_on) == 2, (killed, ran_on)
    versions = sorted(p.name for p in (deployed.distributed / "datasets" / "ticket_triage").glob("v*"))
    assert versions == ["v1"]  # the retried step built the same training set: nothing new to release


def _workers_of(instance, run_id: str, step: str) -> list[str]:
    """The Celery workers that began executing `step` in the run, in order."""
    return [
        str(entry.dagster_event.event_specific_data.metadata["Celery worker"].value)
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        if entry.step_key == step and "Celery worker" in (entry.dagster_event.event_specific_data.metadata or {})
    ]


def _kill_worker_running(instance, run_id: str, step: str, root: Path) -> str:
    """Wait until a worker begins `step`, then SIGKILL that worker and its pool; returns its name."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if workers := _workers_of(instance, run_id, step):
            name = workers[0].split("@")[0]
            pid = int((root / ".deploy" / f"{name}.pid").read_text())
            os.killpg(pid, signal.SIGKILL)
            return workers[0]
        time.sleep(0.1)
    raise AssertionError(f"no worker began {step} within 300 s")
