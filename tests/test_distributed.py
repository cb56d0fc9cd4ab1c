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
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from pipelines.lib.catalog import get_spec
from pipelines.runner import materialize_dataset
from tests.conftest import ENVIRONMENT, land, make_workspace, small_spec

TRAINSET = str(Path(sys.executable).parent / "trainset")
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SPLITS = ("train.parquet", "validation.parquet", "test.parquet")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """(single-process workspace, deployed workspace, backfill output, environment): the same
    month of exports released once in process and once by a backfill through the deployment."""
    base = tmp_path_factory.mktemp("distributed")
    single = make_workspace(base / "single", small_spec())
    land(single, rows=3000, months=1)
    deployed = base / "deployed"
    shutil.copytree(single, deployed)
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
    port = str(_free_port())
    previous = dict(os.environ)
    os.environ.update(ENVIRONMENT | {"XDG_DATA_HOME": env["XDG_DATA_HOME"]})
    try:
        spec, spec_file = get_spec("ticket_triage", single)
        materialize_dataset(spec, single, spec_file=spec_file, instance=dg.DagsterInstance.ephemeral())
    finally:
        os.environ.clear()
        os.environ.update(previous)
    cli = lambda *args: subprocess.run(  # noqa: E731
        [TRAINSET, *args, "--workspace", str(deployed)], env=env, capture_output=True, text=True, timeout=900
    )
    try:
        started = cli("deploy", "start", "--port", port)
        assert started.returncode == 0, started.stdout + started.stderr
        backfill = cli("backfill", "ticket_triage", "--port", port, "--timeout", "600")
        status_running = cli("deploy", "status")
    finally:
        stopped = cli("deploy", "stop")
        with psycopg.connect(SERVER, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    yield single, deployed, backfill, status_running, stopped


def test_a_backfill_through_celery_workers_releases_what_one_process_releases(deployed):
    single, distributed, backfill, _, _ = deployed
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "completed_success" in backfill.stdout
    version = Path("datasets/ticket_triage/v1")
    for split in SPLITS:
        assert (distributed / version / split).read_bytes() == (single / version / split).read_bytes(), split
    one, other = (json.loads((root / version / "manifest.json").read_text()) for root in (single, distributed))
    # The same content, accounting, gates and inputs; only when, by which run and commit differ.
    for key in ("as_of", "content_sha256", "accounting", "quarantine", "gates", "counts", "inputs", "labels"):
        assert other[key] == one[key], key
    assert {k: v for k, v in other["files"].items() if k in SPLITS} == {
        k: v for k, v in one["files"].items() if k in SPLITS
    }


def test_both_workers_ran_steps_of_the_backfill(deployed):
    _, _, backfill, _, _ = deployed
    workers = {
        line.split(":")[0].strip(): int(line.split(":")[1].split()[0])
        for line in backfill.stdout.splitlines()
        if line.strip().startswith("worker")
    }
    assert set(workers) == {f"worker1@{socket.gethostname()}", f"worker2@{socket.gethostname()}"}, backfill.stdout
    assert all(steps >= 1 for steps in workers.values()), workers


def test_the_deployment_stops_cleanly(deployed):
    _, distributed, _, running, stopped = deployed
    assert running.stdout.count("running (pid") == 4, running.stdout  # daemon, webserver, two workers
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not list((distributed / ".deploy").glob("*.pid"))
