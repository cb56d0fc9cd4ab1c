"""End-to-end throughput: generate N tickets, materialize the whole ticket_triage graph, release.

Prints wall time per stage and for the slowest Dagster steps, rows per second and peak memory.
Runs in a temporary git + DVC workspace on Dagster's in-memory instance (the SQLite event log of
the demo adds ~15 s for a year of daily partitions, independent of row count).

    python benchmarks/bench_pipeline.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from pipelines.lib.catalog import get_spec
from pipelines.runner import materialize_dataset
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

PROJECT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("TRAINSET_PSEUDONYM_KEY", "benchmark-pseudonymisation-key")
    root = Path(tempfile.mkdtemp(prefix="trainset-bench-"))
    os.environ["XDG_DATA_HOME"] = str(root / "data-home")  # the release's DVC remote goes with the folder
    try:
        shutil.copytree(PROJECT / "expectations", root / "expectations")
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        as_of = date.today() - timedelta(days=1)

        started = time.perf_counter()
        export = generate(GeneratorConfig(rows=args.rows, as_of=as_of))
        write_landing(export, root / "data" / "landing")
        generated = time.perf_counter() - started
        text_mb = (export.tickets["subject"].str.len().sum() + export.tickets["body"].str.len().sum()) / 1e6
        del export

        spec, spec_file = get_spec("ticket_triage")
        started = time.perf_counter()
        instance = dg.DagsterInstance.ephemeral()
        summary = materialize_dataset(spec, root, spec_file=spec_file, instance=instance)
        ran = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"tickets generated        {args.rows:>12,}   ({text_mb:,.0f} MB of text)")
        print(f"generate + land          {generated:>12.1f} s")
        print(f"materialize + release    {ran:>12.1f} s   ({args.rows / ran:,.0f} generated tickets/s)")
        for line in summary.asset_lines:
            print(f"  {line}")
        print("slowest steps (start to end)")
        for step, seconds in step_seconds(instance)[:8]:
            print(f"  {step:<40} {seconds:>7.1f} s")
        print(f"outcome                  {summary.release or summary.failure}")
        for check in summary.failed_checks:
            print(f"  check {check}")
        print(f"peak memory (RSS)        {peak_mb:>12,.0f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def step_seconds(instance: dg.DagsterInstance) -> list[tuple[str, float]]:
    """Each step of the (only) run with its duration, slowest first."""
    run = instance.get_runs()[0]
    spans: dict[str, list[float]] = {}
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            spans.setdefault(str(entry.step_key), []).append(entry.timestamp)
    return sorted(((step, max(ts) - min(ts)) for step, ts in spans.items()), key=lambda item: -item[1])


if __name__ == "__main__":
    main()
