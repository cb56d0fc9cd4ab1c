"""What a deployment's processes use (`pipelines.deployment.usage`) and what a backfill ran
(`backfill_runs`), measured on real processes and a real Dagster instance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg

from pipelines.deployment.backfill import backfill_runs, seconds_per_step
from pipelines.deployment.usage import TreeSampler

# A worker whose pool process holds 80 MB and spends half a second of CPU, then waits.
WORKER = """
import subprocess, sys
pool = subprocess.Popen([sys.executable, "-c", '''
import time
held = b"x" * (80 << 20)
end = time.process_time() + 0.5
while time.process_time() < end:
    pass
print("ready", flush=True)
time.sleep(60)
''', "celery"], stdout=sys.stdout)
pool.wait()
"""


def test_the_sampler_sums_every_process_of_the_tree_by_kind():
    worker = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True, start_new_session=True)
    daemon = subprocess.Popen(["sleep", "60"])
    try:
        with TreeSampler(lambda: {"worker1": worker.pid, "daemon": daemon.pid}, interval=0.05) as sampler:
            started = time.time()
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
            time.sleep(0.2)
            usage = sampler.usage(started, time.time())
            of_worker = sampler.usage(started, time.time(), root="worker1")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool process
        daemon.kill()
        worker.wait()
        daemon.wait()
    assert set(usage.one_process_mb) == {"worker", "worker pool process", "daemon"}, usage
    assert usage.one_process_mb["worker pool process"] > 80
    assert usage.peak_mb >= sum(usage.one_process_mb.values()) - 1
    assert 0.4 < usage.cpu_seconds < 5, usage
    # one worker's processes alone: what a step that ran on it used
    assert set(of_worker.one_process_mb) == {"worker", "worker pool process"}
    assert 0.4 < of_worker.cpu_seconds <= usage.cpu_seconds


@dg.asset(key_prefix="demo")
def landed() -> int:
    time.sleep(0.05)
    return 1


@dg.asset(key_prefix="demo", deps=[landed])
def released() -> None:
    time.sleep(0.05)


def test_the_runs_of_a_backfill_and_their_steps_come_from_the_event_log():
    instance = dg.DagsterInstance.ephemeral()
    for backfill in ("one", "one", "other"):
        dg.materialize([landed, released], instance=instance, tags={"dagster/backfill": backfill})
    runs = backfill_runs(instance, "one")
    assert len(runs) == 2 and all(run.status == "SUCCESS" for run in runs)
    assert [list(run.steps) for run in runs] == [["landed", "released"]] * 2
    assert all(run.start <= start <= end <= run.end for run in runs for start, end in run.steps.values())
    summed = seconds_per_step(runs)
    assert {step: count for step, (count, _) in summed.items()} == {"landed": 2, "released": 2}
    assert all(seconds >= 0.1 for _, seconds in summed.values())
