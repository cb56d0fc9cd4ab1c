"""The local deployment's pieces that need no running deployment, against the machine's servers: a
deployment given a RabbitMQ virtual host has a `dagster` queue of its own (a step one deployment
sends is not seen by another's workers on the same broker), `drop` deletes what it made, and
stopping a process this one started does not wait out the grace period, the commands after `start`
find the deployment it recorded, and a backfill the webserver cannot take is one short line."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest
from kombu import Connection

from pipelines.components.execution import BROKER_ENV, Execution
from pipelines.deployment.local import (
    GRACE,
    PG_URL_ENV,
    Deployment,
    DeploymentError,
    create_vhost,
    drop,
    record_settings,
    running_pid,
    stop,
)

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


def test_a_bare_postgresql_url_connects_through_psycopg2_and_another_driver_is_refused(tmp_path):
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, on which dagster-postgres fails.
    for given in ("postgresql://postgres@127.0.0.1:5432/db", "postgres://postgres@127.0.0.1:5432/db"):
        assert Deployment(tmp_path, pg_url=given).pg_url == "postgresql+psycopg2://postgres@127.0.0.1:5432/db"
    with pytest.raises(DeploymentError, match=r"starts postgresql\+psycopg://: .* psycopg2"):
        Deployment(tmp_path, pg_url="postgresql+psycopg://postgres@127.0.0.1:5432/db")


def test_the_commands_after_start_find_the_deployment_it_recorded(tmp_path, monkeypatch):
    """`status`, `stop` and `backfill` reach the port, virtual host and database `start` was
    given, not the defaults (another workspace's deployment may answer on those); no password is
    recorded, and the folder stays out of git."""
    from click.testing import CliRunner

    from pipelines.cli import cli

    monkeypatch.delenv(PG_URL_ENV, raising=False)
    started = Deployment(tmp_path, port=3075, pg_url="postgresql://ops:s3cret@127.0.0.1:5432/mine", vhost="mine")
    (tmp_path / ".deploy").mkdir()
    record_settings(started)
    found = Deployment.of(tmp_path)
    assert (found.port, found.vhost) == (3075, "mine")
    assert found.pg_url == "postgresql+psycopg2://ops@127.0.0.1:5432/mine"
    assert "s3cret" not in (tmp_path / ".deploy" / "deployment.json").read_text()
    assert (tmp_path / ".deploy" / ".gitignore").read_text() == "*\n"
    assert Deployment.of(tmp_path, port=3080).port == 3080  # given, it wins
    monkeypatch.setenv(PG_URL_ENV, "postgresql://ops:s3cret@127.0.0.1:5432/mine")
    assert Deployment.of(tmp_path).pg_url == "postgresql+psycopg2://ops:s3cret@127.0.0.1:5432/mine"
    status = CliRunner().invoke(cli, ["deploy", "status", "--workspace", str(tmp_path)])
    assert status.exit_code == 0, status.output
    assert "worker2: stopped" in status.output and "worker3" not in status.output
    assert "http://127.0.0.1:3075" in status.output and "virtual host mine" in status.output
    assert "s3cret" not in status.output


def test_a_backfill_the_webserver_cannot_take_is_one_short_line_with_where_to_look(tmp_path):
    """Not the GraphQL query and its variables, nor a server's SQL: what happened, and the logs."""
    import os
    import socket

    from conftest import small_spec

    from pipelines.deployment.backfill import BackfillError, launch

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    deployment = Deployment(tmp_path, port=port)
    (tmp_path / ".deploy").mkdir()
    for name in ("daemon", "webserver"):  # alive, as far as the pid files say
        deployment.pid_file(name).write_text(str(os.getpid()))
    day = date(2026, 10, 1)
    with pytest.raises(BackfillError) as raised:
        launch(deployment, small_spec(), day, day, day, asset_names=["redacted"])
    message = str(raised.value)
    assert message.startswith(f"the deployment's webserver at http://127.0.0.1:{port} could not take the request (")
    assert "webserver.log" in message and "mutation" not in message and "\n" not in message
    assert len(message.replace(str(tmp_path), "<ws>")) < 500 and raised.value.exit_code == 1
