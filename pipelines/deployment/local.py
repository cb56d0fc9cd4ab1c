"""The production-shaped deployment on one machine: Dagster's daemon and webserver on a PostgreSQL
instance, and Celery workers taking steps from a RabbitMQ (or Redis) broker.

`start` launches the processes in the background, each with its log and pid file under
`<workspace>/.deploy/`, and waits until each answers; `stop` ends them (SIGTERM, then SIGKILL
after a grace period) and removes the pid files. The servers themselves (PostgreSQL, the broker)
are the machine's; the instance's database is created when missing.

Workers take steps from dagster-celery's one `dagster` queue, whichever deployment sent them. A
deployment given a RabbitMQ virtual host (`vhost`) gets its own `dagster` queue there: `start`
creates the virtual host (`rabbitmqctl`, on the broker's machine) and points the executor and the
workers at it; `drop` deletes it with the instance's database.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pipelines.components.execution import BACKEND_ENV, BROKER_ENV, DAYS_PER_RUN_ENV, EXECUTOR_ENV, Execution

#: where the deployment's committed configuration lives (dagster.yaml, workspace.yaml, celery.yaml)
CONFIG = Path(__file__).resolve().parents[2] / "deploy"
#: the instance's PostgreSQL database (dagster-postgres)
PG_URL_ENV = "TRAINSET_DAGSTER_PG_URL"
# psycopg2, as dagster-postgres expects: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3,
# on which dagster-postgres's connections are found closed.
DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/trainset_dagster"
DEFAULT_PORT = 3070
#: seconds a process has to end on SIGTERM before it is killed
GRACE = 20.0


class DeploymentError(RuntimeError):
    """A server the deployment needs is not reachable, or a process did not start."""


def instance_url(url: str) -> str:
    """The instance's database URL as dagster-postgres needs it, through psycopg2: a bare
    `postgresql://` or `postgres://` gets psycopg2's driver (SQLAlchemy 2.1 reads it as psycopg 3,
    on which dagster-postgres's NOTIFY fails and its connections are found closed). Raises
    DeploymentError for another scheme or driver."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        return f"postgresql+psycopg2://{rest}"
    raise DeploymentError(
        f"{PG_URL_ENV} starts {scheme}://: the deployment's instance is dagster-postgres, which connects "
        "through psycopg2: write postgresql://user@host:5432/database (or postgresql+psycopg2://...)"
    )


@dataclass(frozen=True)
class Deployment:
    """One local deployment of a workspace: its folder, port, workers and environment. `pg_url`
    is made a psycopg2 URL (`instance_url`)."""

    root: Path
    workers: int = 2
    port: int = DEFAULT_PORT
    pg_url: str = field(default_factory=lambda: os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL)
    execution: Execution = field(default_factory=lambda: Execution.from_environment())
    #: a RabbitMQ virtual host of the deployment's own (None: the broker URL's, shared)
    vhost: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pg_url", instance_url(self.pg_url))

    @classmethod
    def of(cls, root: Path, *, port: int | None = None, workers: int = 2) -> Deployment:
        """The deployment `trainset deploy start` started for the workspace `root`, as it recorded
        itself (`SETTINGS`): its port, virtual host and database (the `TRAINSET_DAGSTER_PG_URL` of
        this process wins: a password is never recorded). `port` given wins; with no record, the
        defaults."""
        found = recorded(root)
        pg_url = os.environ.get(PG_URL_ENV) or found.get("database") or DEFAULT_PG_URL
        return cls(root, workers, port or found.get("port") or DEFAULT_PORT, pg_url, vhost=found.get("vhost"))

    @property
    def broker(self) -> str:
        """The broker URL of the executor and the workers: the execution's, on the deployment's
        virtual host when it has one."""
        broker = self.execution.broker
        if self.vhost is None:
            return broker
        parts = urlsplit(broker)
        if not parts.scheme.startswith(("amqp", "pyamqp")):
            raise DeploymentError(
                f"a virtual host is RabbitMQ's, and the broker is {parts.scheme}: give each deployment "
                f"a broker of its own in {BROKER_ENV} (a Redis database number: redis://host:6379/N)"
            )
        return parts._replace(path="/" + quote(self.vhost, safe="")).geturl()

    @property
    def home(self) -> Path:
        """The deployment's DAGSTER_HOME (its dagster.yaml points at PostgreSQL)."""
        return self.root / ".deploy" / "dagster_home"

    @property
    def url(self) -> str:
        """The webserver, whose GraphQL endpoint launches backfills."""
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What every process of the deployment runs with: the instance, the Celery executor and
        its broker, the workspace."""
        env = dict(os.environ)
        env.update(
            {
                "DAGSTER_HOME": str(self.home),
                PG_URL_ENV: self.pg_url,
                EXECUTOR_ENV: "celery",
                BROKER_ENV: self.broker,
                BACKEND_ENV: self.execution.backend,
                DAYS_PER_RUN_ENV: str(self.execution.days_per_run),
                "TRAINSET_WORKSPACE": str(self.root),
            }
        )
        return env

    def processes(self) -> dict[str, list[str]]:
        """Each process by name, with its command line."""
        bin_dir = Path(sys.executable).parent
        workspace = ["-w", str(CONFIG / "workspace.yaml")]
        commands = {
            "daemon": [str(bin_dir / "dagster-daemon"), "run", *workspace],
            "webserver": [str(bin_dir / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(self.port)],
        }
        for n in range(1, self.workers + 1):
            commands[f"worker{n}"] = [
                str(bin_dir / "celery"),
                "-A",
                "dagster_celery.app",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",  # one step at a time per worker: two workers, two steps
                "--prefetch-multiplier=1",
                "-n",
                f"worker{n}@%h",
            ]
        return commands

    def describe(self) -> str:
        """Where the deployment is, in one line: its webserver, its database (no password) and
        its broker's virtual host."""
        from sqlalchemy.engine import make_url

        database = make_url(self.pg_url).render_as_string(hide_password=True)
        vhost = self.vhost if self.vhost is not None else "the broker URL's"
        return f"webserver {self.url}, instance {database}, broker virtual host {vhost}"

    def pid_file(self, name: str) -> Path:
        return self.root / ".deploy" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.root / ".deploy" / f"{name}.log"


def start(deployment: Deployment, timeout: float = 120.0) -> list[str]:
    """Start what is not running of the deployment and wait until the webserver answers and the
    workers listen. Returns a line per process. Raises DeploymentError naming what failed and
    where its log is."""
    create_vhost(deployment)
    _check_servers(deployment)
    deployment.home.mkdir(parents=True, exist_ok=True)
    record_settings(deployment)
    shutil.copyfile(CONFIG / "dagster.yaml", deployment.home / "dagster.yaml")
    env = deployment.environment()
    # The Celery workers read the broker from a module dagster-celery writes from celery.yaml.
    celery_config = _celery_config_dir(deployment, env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(celery_config), env.get("PYTHONPATH", "")]))
    lines = []
    for name, command in deployment.processes().items():
        if (pid := running_pid(deployment, name)) is not None:
            lines.append(f"{name}: already running (pid {pid})")
            continue
        log = deployment.log_file(name).open("wb")
        process = subprocess.Popen(
            command, cwd=deployment.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deployment.pid_file(name).write_text(str(process.pid))
        lines.append(f"{name}: started (pid {process.pid}, log {deployment.log_file(name)})")
    _wait_ready(deployment, timeout)
    return lines


def stop(deployment: Deployment) -> list[str]:
    """End every process of the deployment (SIGTERM to its process group, SIGKILL after GRACE
    seconds) and remove its pid file. Returns a line per process."""
    lines = []
    for name in deployment.processes():
        pid = running_pid(deployment, name)
        deployment.pid_file(name).unlink(missing_ok=True)
        if pid is None:
            continue
        _end(pid)
        lines.append(f"{name}: stopped (pid {pid})")
    return lines or ["nothing was running"]


#: what `start` records of a deployment in its folder, for the commands run after it
SETTINGS = "deployment.json"


def recorded(root: Path) -> dict:
    """What the last `start` recorded of the workspace's deployment (port, vhost, workers, the
    database URL without its password); empty when none was."""
    try:
        found = json.loads((root / ".deploy" / SETTINGS).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def record_settings(deployment: Deployment) -> None:
    """Record the deployment's settings in its folder (and keep the folder out of git: its logs,
    pid files and Dagster home are the machine's)."""
    from sqlalchemy.engine import make_url

    from pipelines.lib.zones import keep_out_of_git

    folder = deployment.root / ".deploy"
    keep_out_of_git(folder)
    url = make_url(deployment.pg_url)
    settings = {
        "port": deployment.port,
        "vhost": deployment.vhost,
        "workers": deployment.workers,
        "database": url._replace(password=None).render_as_string(hide_password=False),  # set() keeps it
    }
    (folder / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")


def create_vhost(deployment: Deployment) -> None:
    """Create the deployment's RabbitMQ virtual host, if it has one and it is missing, open to the
    broker URL's user."""
    if deployment.vhost is None:
        return
    user = unquote(urlsplit(deployment.broker).username or "guest")
    _rabbitmqctl("add_vhost", deployment.vhost)
    _rabbitmqctl("set_permissions", "-p", deployment.vhost, user, ".*", ".*", ".*")


def drop(deployment: Deployment) -> None:
    """Delete the deployment's database and its virtual host, if it has one: its runs, event log
    and whatever is left on its queues. For a deployment made for one test or measurement, once
    it is stopped."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(deployment.pg_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    if deployment.vhost is not None:
        _rabbitmqctl("delete_vhost", deployment.vhost, missing_ok=True)


def _rabbitmqctl(*args: str, missing_ok: bool = False) -> None:
    """Run `rabbitmqctl` on the machine's RabbitMQ; raise DeploymentError with its answer."""
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise DeploymentError(
            "rabbitmqctl is not on PATH: a deployment's own virtual host is made on the broker's machine"
        ) from None
    if done.returncode and not (missing_ok and "does not exist" in done.stderr):
        answer = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise DeploymentError(f"rabbitmqctl {' '.join(args)} failed: {' '.join(answer)} (run it as root or rabbitmq)")


def running_pid(deployment: Deployment, name: str) -> int | None:
    """The pid of the deployment's process `name` if it is alive."""
    path = deployment.pid_file(name)
    if not path.is_file():
        return None
    pid = int(path.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    return pid


def _end(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        # Started by this process (a benchmark, not `trainset deploy start`): reaped here, or its
        # group still answers as a zombie for the whole grace period.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _check_servers(deployment: Deployment) -> None:
    """Create the instance's database when missing; raise DeploymentError when PostgreSQL or the
    broker does not answer, saying how to start it."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(deployment.pg_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{url.database}"')
    except psycopg.OperationalError as error:
        raise DeploymentError(
            f"PostgreSQL at {url.host}:{url.port or 5432} does not answer ({str(error).strip().splitlines()[0]}): "
            f"start it, or point {PG_URL_ENV} at a server"
        ) from None
    broker = deployment.broker
    try:
        from kombu import Connection

        with Connection(broker, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # kombu raises the transport's own errors
        raise DeploymentError(
            f"the Celery broker {broker} does not answer ({type(error).__name__}): start it, or point {BROKER_ENV} "
            "at one (redis://host:6379/0 or amqp://guest:guest@host:5672//)"
        ) from None


def _celery_config_dir(deployment: Deployment, env: dict[str, str]) -> Path:
    """A folder holding `dagster_celery_config.py`, the worker-side settings of the executor."""
    folder = deployment.root / ".deploy" / "celery"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "broker_url": env[BROKER_ENV],
        "result_backend": env[BACKEND_ENV],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
    }
    (folder / "dagster_celery_config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    return folder


def _wait_ready(deployment: Deployment, timeout: float) -> None:
    """Wait until the webserver serves GraphQL and every worker has joined the broker."""
    deadline = time.monotonic() + timeout
    pending = set(deployment.processes())
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            if running_pid(deployment, name) is None:
                raise DeploymentError(f"{name} exited at start: read {deployment.log_file(name)}")
            if name == "webserver":
                try:
                    with urllib.request.urlopen(f"{deployment.url}/server_info", timeout=2):
                        pass
                except OSError:
                    continue
                _check_code_location(deployment)
                pending.discard(name)
            elif name.startswith("worker"):
                if b" ready." in deployment.log_file(name).read_bytes():
                    pending.discard(name)
            else:
                pending.discard(name)
        time.sleep(0.5)
    if pending:
        raise DeploymentError(
            f"{', '.join(sorted(pending))} not ready after {timeout:.0f} s: "
            f"read the logs in {deployment.root / '.deploy'}"
        )


_LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _check_code_location(deployment: Deployment) -> None:
    """Raise DeploymentError with the load error when the code location did not load (a spec
    that does not validate, a variable a spec requires missing from the environment)."""
    from dagster_graphql import DagsterGraphQLClient

    answer = DagsterGraphQLClient("127.0.0.1", port_number=deployment.port)._execute(_LOCATIONS)  # noqa: SLF001
    for entry in answer["workspaceOrError"].get("locationEntries", []):
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            message = loaded["message"].strip().splitlines()[-1]
            raise DeploymentError(
                f"the deployment's code location {entry['name']!r} did not load: {message} "
                "(fix it, then `trainset deploy stop` and start again)"
            )
