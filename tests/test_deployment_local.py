"""The local deployment's pieces that need no running deployment, against the machine's servers: a
deployment given a RabbitMQ virtual host has a `dagster` queue of its own (a step one deployment
sends is not seen by another's workers on the same broker), `drop` deletes what it made, and
stopping a process this one started does not wait out the grace period."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from kombu import Connection

from pipelines.components.execution import BROKER_ENV, Execution
from pipelines.deployment.local import GRACE, Deployment, DeploymentError, create_vhost, drop, running_pid, stop

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _deployment(root: Path) -> Deployment:
    name = f"trainset_test_{uuid.uuid4().hex[:10]}"
    return Deployment(root, pg_url=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}", vhost=name)


def _vhosts() -> list[str]:
    listed = subprocess.run(["rabbitmqctl", "list_vhosts", "-q"], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_two_deployments_on_one_broker_do_not_share_the_dagster_queue(tmp_path):
    one, other = _deployment(tmp_path / "one"), _deployment(tmp_path / "other")
    try:
        for deployment in (one, other):
            create_vhost(deployment)
        with Connection(one.broker) as connection, connection.SimpleQueue("dagster") as queue:
            queue.put({"step": "redacted"})
        with Connection(other.broker) as connection, connection.SimpleQueue("dagster") as queue:
            assert queue.qsize() == 0
        with Connection(one.broker) as connection, connection.SimpleQueue("dagster") as queue:
            message = queue.get(timeout=5)
            assert message.payload == {"step": "redacted"}
            message.ack()
    finally:
        for deployment in (one, other):
            drop(deployment)
    assert not {one.vhost, other.vhost} & set(_vhosts())


def test_the_executor_and_the_workers_are_pointed_at_the_virtual_host(tmp_path, monkeypatch):
    monkeypatch.delenv(BROKER_ENV, raising=False)
    deployment = _deployment(tmp_path)
    environment = deployment.environment()  # every process's, the workers' Celery settings included
    assert environment[BROKER_ENV] == f"amqp://guest:guest@127.0.0.1:5672/{deployment.vhost}"
    assert Deployment(tmp_path).broker == "amqp://guest:guest@127.0.0.1:5672//"  # none: the shared one
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Execution.from_environment().broker == deployment.broker  # the run processes' executor


def test_drop_deletes_the_database_and_the_virtual_host(tmp_path):
    deployment = _deployment(tmp_path)
    database = deployment.pg_url.rsplit("/", 1)[1]
    create_vhost(deployment)
    with psycopg.connect(SERVER, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    drop(deployment)
    drop(deployment)  # and again, once both are gone
    with psycopg.connect(SERVER, autocommit=True) as connection:
        assert connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None
    assert deployment.vhost not in _vhosts()


def test_a_virtual_host_on_a_redis_broker_is_refused(tmp_path):
    redis = Deployment(tmp_path, execution=Execution("celery", broker="redis://127.0.0.1:6379/0"), vhost="one")
    with pytest.raises(DeploymentError, match="Redis database number"):
        redis.environment()


def test_stop_ends_a_process_it_started_without_waiting_out_the_grace_period(tmp_path):
    deployment = Deployment(tmp_path, workers=1)
    (tmp_path / ".deploy").mkdir()
    # This process's child, as in a benchmark. It takes SIGTERM's default action whatever it
    # inherits (a test process may run with SIGTERM ignored or blocked, which exec keeps).
    sleeper = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    sleeper += "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); print(flush=True); time.sleep(300)"
    daemon = subprocess.Popen([sys.executable, "-c", sleeper], start_new_session=True, stdout=subprocess.PIPE)
    assert daemon.stdout is not None and daemon.stdout.readline() == b"\n"  # its SIGTERM is as it should be
    deployment.pid_file("daemon").write_text(str(daemon.pid))
    started = time.monotonic()
    assert stop(deployment) == [f"daemon: stopped (pid {daemon.pid})"]
    assert time.monotonic() - started < GRACE / 2
    assert running_pid(deployment, "daemon") is None and daemon.poll() is not None
    daemon.stdout.close()
