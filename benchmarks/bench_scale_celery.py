"""The history and one new day of `make bench-scale`, backfilled through the local deployment.

Generates N tickets over 18 months in a temporary workspace (the newest day held back, as
`bench_scale.py` does), starts a deployment of its own (`trainset deploy start`: a PostgreSQL
database and a RabbitMQ virtual host of its own, a free port, two Celery workers), backfills the
history with `trainset backfill`, then lands the held-back day and backfills it alone. Prints:

- wall and CPU seconds of each stage (the deployment's start and stop too), and the peak RSS summed
  over the deployment's processes (the daemon, the webserver, their code servers, the run
  processes, the workers and their pool processes, and the `trainset backfill` that lands the
  exports), sampled from /proc every 0.2 s over the whole process tree;
- per backfill: the runs it launched, each step summed per asset over its runs (from the step
  events of Dagster's event log in PostgreSQL), the steps each Celery worker ran, and the peak RSS
  of one process of each kind.

The deployment is stopped, and its database and virtual host dropped, however the benchmark ends
(an error, Ctrl-C or SIGTERM).

    python benchmarks/bench_scale_celery.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import DATASET, Stage, land_held_day, prepare_workspace  # noqa: E402

from pipelines.deployment.backfill import RunFigures, backfill_runs, seconds_per_step, steps_by_worker  # noqa: E402
from pipelines.deployment.local import Deployment, drop, running_pid, start, stop  # noqa: E402
from pipelines.deployment.usage import TreeSampler, Usage  # noqa: E402

TRAINSET = str(Path(sys.executable).parent / "trainset")


@dataclass
class Backfilled:
    """One `trainset backfill` measured."""

    name: str
    began: float
    stage: Stage
    usage: Usage
    runs: list[RunFigures]
    steps_by_worker: dict[str, int]
    #: CPU seconds of each step summed over its runs: its worker's processes while it ran
    step_cpu: dict[str, float]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run_backfill(
    name: str, deployment: Deployment, sampler: TreeSampler, cli: dict[str, int], *days: date
) -> Backfilled:
    """`trainset backfill` over `days` (all landed days when none), its process sampled as part of
    the tree; raises when it fails."""
    span = ["--from", str(days[0]), "--to", str(days[-1])] if days else []
    command = [TRAINSET, "backfill", DATASET, "--workspace", str(deployment.root), "--port", str(deployment.port)]
    command += ["--timeout", "7200"]  # a loaded machine: the history at 1M may pass the default hour
    started = time.time()
    process = subprocess.Popen([*command, *span], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cli["trainset backfill"] = process.pid
    try:
        output, _ = process.communicate()
    finally:
        if process.poll() is None:  # interrupted: its wait ends with the benchmark
            process.kill()
            process.wait()
        del cli["trainset backfill"]
    ended = time.time()
    print(output, end="", flush=True)
    found = re.search(r"^backfill (\S+):", output, re.MULTILINE)
    if process.returncode or found is None:
        raise SystemExit(f"{name}: trainset backfill exited {process.returncode}")
    import dagster as dg

    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        runs = backfill_runs(instance, found[1])
    workers = steps_by_worker(deployment, [run.run_id for run in runs])
    ran_on = {step: worker.split("@")[0] for worker, steps in workers.items() for step in steps}
    step_cpu: dict[str, float] = {}
    for run in runs:
        for step, (began, finished) in run.steps.items():
            worker = ran_on.get(f"{run.run_id[:8]}:{DATASET}__{step}")
            cpu = sampler.usage(began, finished, root=worker).cpu_seconds if worker else float("nan")
            step_cpu[step] = step_cpu.get(step, 0.0) + cpu
    usage = sampler.usage(started, ended)
    stage = Stage(name, ended - started, usage.peak_mb, usage.cpu_seconds)
    return Backfilled(name, started, stage, usage, runs, {w: len(s) for w, s in workers.items()}, step_cpu)


def print_backfill(backfill: Backfilled) -> None:
    stage, usage = backfill.stage, backfill.usage
    statuses = Counter(run.status for run in backfill.runs)
    print(f"\n== {backfill.name}: {stage.seconds:.1f} s wall, {stage.cpu_seconds:.1f} CPU s over every process")
    print(f"  runs launched: {len(backfill.runs)} ({', '.join(f'{n} {s.lower()}' for s, n in statuses.items())})")
    # From when `trainset backfill` began: the first run waits for the landing and the daemon.
    print(f"  {'run':<10} {'starts at s':>11} {'seconds':>8}  steps (partitions)")
    for run in backfill.runs:
        timing = f"{run.start - backfill.began:>11.1f} {run.end - run.start:>8.1f}"
        print(f"  {run.run_id[:8]:<10} {timing}  {', '.join(run.steps)} ({run.partitions})")
    print(f"  {'step, summed over runs':<30} {'runs':>5} {'seconds':>8} {'CPU s':>8}")
    for step, (count, seconds) in seconds_per_step(backfill.runs).items():
        print(f"  {step:<30} {count:>5} {seconds:>8.1f} {backfill.step_cpu[step]:>8.1f}")
    for worker, steps in sorted(backfill.steps_by_worker.items()):
        print(f"  {worker}: {steps} steps")
    print(f"  peak RSS of every process together: {usage.peak_mb:,.0f} MB")
    print(f"  {'kind of process':<32} {'peak of one MB':>15} {'peak of all MB':>15}")
    for kind in sorted(usage.one_process_mb, key=lambda k: -usage.one_process_mb[k]):
        print(f"  {kind:<32} {usage.one_process_mb[kind]:>15,.0f} {usage.kind_mb[kind]:>15,.0f}")


def measure(rows: int, workers: int) -> None:
    """Generate, start the deployment, backfill the history and one new day, print; always stop the
    deployment and drop its database and virtual host."""
    os.environ.setdefault("TRAINSET_PSEUDONYM_KEY", "benchmark-pseudonymisation-key")
    root = Path(tempfile.mkdtemp(prefix="trainset-bench-celery-"))
    os.environ["XDG_DATA_HOME"] = str(root / "data-home")  # the release's DVC remote goes with the folder
    name = f"trainset_bench_{uuid.uuid4().hex[:10]}"
    os.environ["TRAINSET_DAGSTER_PG_URL"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    deployment = Deployment(root, workers=workers, port=_free_port(), vhost=name)
    cli: dict[str, int] = {}

    def roots() -> dict[str, int]:
        found = {n: pid for n in deployment.processes() if (pid := running_pid(deployment, n)) is not None}
        return found | cli

    stages: list[Stage] = []
    print(f"{rows:,} tickets through the deployment: {workers} Celery workers, {os.cpu_count()} cores, {_load()}")
    try:
        new_day = date.today() - timedelta(days=1)
        generated, held = prepare_workspace(rows, root, new_day)
        stages.append(generated)
        with TreeSampler(roots) as sampler:
            started = time.time()
            print("\n".join(start(deployment)), flush=True)
            usage = sampler.usage(started, time.time())
            stages.append(Stage("trainset deploy start", time.time() - started, usage.peak_mb, usage.cpu_seconds))
            history = run_backfill("history: trainset backfill", deployment, sampler, cli)
            land_held_day(held, root)
            one_day = run_backfill("one new day: trainset backfill", deployment, sampler, cli, new_day)
            started = time.time()
            stop(deployment)
            stages += [history.stage, one_day.stage, Stage("trainset deploy stop", time.time() - started, 0, 0)]
        for backfill in (history, one_day):
            print_backfill(backfill)
        print(f"\n== {rows:,} tickets on the deployment ({_load()} at the end)")
        print(f"  {'stage':<40} {'seconds':>8} {'CPU s':>8} {'peak MB':>9}")
        for stage in stages:
            print(f"  {stage.name:<40} {stage.seconds:>8.1f} {stage.cpu_seconds:>8.1f} {stage.peak_mb:>9,.0f}")
    finally:
        stop(deployment)
        drop(deployment)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # SIGTERM ends the benchmark as Ctrl-C does: through its cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    measure(args.rows, args.workers)


if __name__ == "__main__":
    main()
