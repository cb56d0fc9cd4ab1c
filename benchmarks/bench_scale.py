"""Cost against rows: N generated tickets end to end at several scales, then one new day on top.

For each scale (default 1M, 3M, 10M tickets over 18 months), in a child process of its own:
generate and land the export (one CSV per day, the last day held back), materialize the whole
ticket_triage graph and release it, then land the held-back day and run that day alone in a
process of its own, as the landing sensor and the daily schedule do (`trainset run --from DAY
--to DAY`). Prints wall time
and peak RSS per stage (each Dagster step, from its start and end events in the run's event log;
RSS sampled every 20 ms from /proc/self/status and the maximum taken over the step), then a
linear fit of seconds and peak MB against rows across the scales run.

A scale whose projected peak (from the scales before it) exceeds the memory limit is refused; a
child whose RSS passes the limit is stopped and reported at the memory it reached, so an
out-of-memory is a figure, not a crash. Runs in temporary git + DVC workspaces on Dagster's
in-memory instance.

    python benchmarks/bench_scale.py --scales 1000000 3000000 10000000 [--max-rss-mb 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipelines.deployment.usage import PeriodicSampler

PROJECT = Path(__file__).resolve().parents[1]
DATASET = "ticket_triage"
#: how often the RSS sampler and the parent's memory guard look
SAMPLE_SECONDS = 0.02


@dataclass
class Stage:
    """One stage of a run: wall seconds, CPU seconds of the process (every thread; steadier than
    wall time on a shared machine) and the peak RSS (MB) of the process while it ran."""

    name: str
    seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0


@dataclass
class ScaleResult:
    """What one scale measured, or why it was not measured (`outcome` other than `ok`)."""

    rows: int
    outcome: str = "ok"
    stages: list[Stage] = field(default_factory=list)
    incremental: list[Stage] = field(default_factory=list)
    end_to_end_seconds: float = 0.0
    peak_mb: float = 0.0
    incremental_seconds: float = 0.0
    incremental_peak_mb: float = 0.0
    release: str = ""
    incremental_release: str = ""


# -- measuring, inside a child -----------------------------------------------------------------


def rss_kb(status: Path = Path("/proc/self/status"), field_name: str = "VmRSS") -> int:
    """Resident set size (kB) of a process from its /proc status file (0 once the process is gone)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class RssSampler(PeriodicSampler[tuple[int, float]]):
    """Samples this process's RSS (kB) and CPU seconds in a background thread; `peak_mb(start,
    end)` is the maximum RSS sampled between two `time.time()` instants (a step's start and end
    events)."""

    def __init__(self) -> None:
        super().__init__(SAMPLE_SECONDS)

    def take(self) -> tuple[int, float]:
        times = os.times()
        return rss_kb(), times.user + times.system

    def peak_mb(self, start: float, end: float) -> float:
        inside = [kb for t, (kb, _) in self.samples if start <= t <= end]
        # A step shorter than a sample interval: the sample just before it holds its RSS.
        before = [kb for t, (kb, _) in self.samples if t < start][-1:]
        return max(inside or before or [0]) / 1024

    def cpu_seconds(self, start: float, end: float) -> float:
        """CPU seconds of the process between two instants (to the nearest sample)."""
        at = lambda when: min(self.samples, key=lambda s: abs(s[0] - when))[1][1] if self.samples else 0.0  # noqa: E731
        return at(end) - at(start)

    def stage(self, name: str, start: float, end: float) -> Stage:
        return Stage(name, end - start, self.peak_mb(start, end), self.cpu_seconds(start, end))


def timed_run(sampler: RssSampler, label: str, **options) -> tuple[list[Stage], str]:
    """Materialize the dataset (`pipelines.runner.materialize_dataset` with `options`) on an
    ephemeral instance; returns the stages (landing before the run, each step, the summary after
    it) and the outcome in words."""
    import dagster as dg

    from pipelines.lib.catalog import get_spec
    from pipelines.runner import materialize_dataset

    spec, spec_file = get_spec(DATASET, options["root"])
    instance = dg.DagsterInstance.ephemeral()
    started = time.time()
    summary = materialize_dataset(spec, spec_file=spec_file, instance=instance, **options)
    ended = time.time()
    spans = step_spans(instance)
    first = min((s for s, _ in spans.values()), default=ended)
    last = max((e for _, e in spans.values()), default=ended)
    stages = [sampler.stage(f"{label}: land + plan (before the run)", started, first)]
    stages += [sampler.stage(f"{label}: {step}", s, e) for step, (s, e) in spans.items()]
    stages.append(sampler.stage(f"{label}: summary (after the run)", last, ended))
    outcome = summary.release or summary.failure or ""
    if summary.failed_checks:
        outcome += "; failed checks: " + ", ".join(c.split(":")[0] for c in summary.failed_checks)
    return stages, outcome


def step_spans(instance) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of each step of the instance's only run, in the order they started."""
    run = instance.get_runs()[0]
    spans: dict[str, list[float]] = {}
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            spans.setdefault(str(entry.step_key).removeprefix(f"{DATASET}__"), []).append(entry.timestamp)
    return {step: (min(ts), max(ts)) for step, ts in sorted(spans.items(), key=lambda item: min(item[1]))}


def generate_landing(rows: int, root: Path, as_of: date) -> None:
    """Generate `rows` tickets and write the landing zone under `root` (run as its own process, so
    the generator's memory is not the pipeline's), a block of days at a time: the generator's
    memory stays about flat in `rows`."""
    from pipelines.synthetic.day_blocks import write_landing_in_blocks
    from pipelines.synthetic.generate import GeneratorConfig

    write_landing_in_blocks(GeneratorConfig(rows=rows, as_of=as_of), root / "data" / "landing")


def prepare_workspace(rows: int, root: Path, new_day: date) -> tuple[Stage, Path]:
    """A git workspace under `root` declaring the dataset, with `rows` generated tickets landed up
    to `new_day`, which waits outside the landing folder; returns the generator's stage (a
    process of its own) and where the held-back day waits."""
    shutil.copytree(PROJECT / "expectations", root / "expectations")
    defs = Path("pipelines") / "defs" / DATASET  # the spec and its labeling guideline
    shutil.copytree(PROJECT / defs, root / defs)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    started = time.time()
    generator = [sys.executable, __file__, "--generate", str(rows), "--root", str(root), "--as-of", str(new_day)]
    made = json.loads(subprocess.run(generator, check=True, capture_output=True, text=True).stdout)
    held = root / f"{new_day}.csv"
    (root / "data" / "landing" / "tickets" / held.name).replace(held)
    stage = Stage("generate + land (own process)", time.time() - started, made["peak_mb"], made["cpu_seconds"])
    return stage, held


def land_held_day(held: Path, root: Path) -> None:
    """Put the held-back day into the landing folder, as a new export arrives."""
    held.replace(root / "data" / "landing" / "tickets" / held.name)


def measure_scale(rows: int, out: Path) -> None:
    """Child: one scale, history then one new day; writes a `ScaleResult` as JSON to `out`."""
    os.environ.setdefault("TRAINSET_PSEUDONYM_KEY", "benchmark-pseudonymisation-key")
    root = Path(tempfile.mkdtemp(prefix="trainset-bench-scale-"))
    os.environ["XDG_DATA_HOME"] = str(root / "data-home")  # the release's DVC remote goes with the folder
    result = ScaleResult(rows)
    try:
        new_day = date.today() - timedelta(days=1)
        with RssSampler() as sampler:
            # The newest day waits outside the landing folder: the incremental run lands it.
            generated, held = prepare_workspace(rows, root, new_day)
            result.stages.append(generated)

            started = time.time()
            stages, result.release = timed_run(sampler, "history", root=root)
            result.end_to_end_seconds = generated.seconds + time.time() - started
            result.stages += stages

            land_held_day(held, root)
            day = run_day(root, new_day)
            result.incremental = [Stage(**stage) for stage in day["stages"]]
            result.incremental_release, result.incremental_seconds = day["outcome"], day["seconds"]
            result.incremental_peak_mb = max(s.peak_mb for s in result.incremental)
        # The pipeline's peak: the generator is a process of its own, shown on its line.
        result.peak_mb = max(s.peak_mb for s in result.stages[1:])
    finally:
        shutil.rmtree(root, ignore_errors=True)
        out.write_text(json.dumps(asdict(result)))


# -- driving the scales, in the parent ---------------------------------------------------------


def available_mb() -> float:
    """MemAvailable of the machine, MB."""
    return rss_kb(Path("/proc/meminfo"), "MemAvailable") / 1024


def run_day(root: Path, day: date) -> dict:
    """The one-day run in a process of its own, as the schedule's and the sensor's runs are (a
    run after the history in the same process would carry what the history left in memory):
    its stages, outcome and wall seconds."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        command = [sys.executable, __file__, "--day", str(day), "--root", str(root), "--out", str(out)]
        subprocess.run(command, check=True)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def measure_day(root: Path, day: date, out: Path) -> None:
    """Grandchild: land the day the child put back and run it alone; writes its stages, outcome
    and wall seconds as JSON to `out`."""
    with RssSampler() as sampler:
        started = time.time()
        stages, outcome = timed_run(sampler, "one day", root=root, start=day, end=day)
    out.write_text(
        json.dumps({"stages": [asdict(s) for s in stages], "outcome": outcome, "seconds": time.time() - started})
    )


def run_child(rows: int, limit_mb: float) -> ScaleResult:
    """One scale in a child process; stopped (and reported so) when its RSS passes `limit_mb`."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    child = subprocess.Popen([sys.executable, __file__, "--one", str(rows), "--out", str(out)])
    status, peak = Path(f"/proc/{child.pid}/status"), 0.0
    while child.poll() is None:
        peak = max(peak, rss_kb(status) / 1024)
        if peak > limit_mb:
            child.kill()
            child.wait()
            return ScaleResult(rows, outcome=f"stopped: RSS passed {limit_mb:,.0f} MB", peak_mb=peak)
        time.sleep(SAMPLE_SECONDS * 5)
    try:
        data = json.loads(out.read_text())
    except (json.JSONDecodeError, FileNotFoundError):
        return ScaleResult(rows, outcome=f"failed: exit code {child.returncode}", peak_mb=peak)
    finally:
        out.unlink(missing_ok=True)
    data["stages"] = [Stage(**s) for s in data["stages"]]
    data["incremental"] = [Stage(**s) for s in data["incremental"]]
    result = ScaleResult(**data)
    if child.returncode:
        result.outcome = f"failed: exit code {child.returncode}"
    return result


def projected_mb(done: list[ScaleResult], rows: int) -> float | None:
    """Peak MB at `rows` by a straight line through the scales measured (None with fewer than one)."""
    measured = [r for r in done if r.outcome == "ok"]
    if not measured:
        return None
    if len(measured) == 1:  # through the origin's baseline: memory at least proportional to rows
        return measured[0].peak_mb * rows / measured[0].rows
    import numpy as np

    slope, intercept = np.polyfit([r.rows for r in measured], [r.peak_mb for r in measured], 1)
    return float(slope * rows + intercept)


def print_result(result: ScaleResult) -> None:
    print(f"\n== {result.rows:,} tickets: {result.outcome}")
    if result.outcome != "ok":
        print(f"  peak RSS reached {result.peak_mb:,.0f} MB")
        return
    print(f"  {'stage':<50} {'seconds':>8} {'CPU s':>8} {'peak MB':>9}")
    for stage in [*result.stages, *result.incremental]:
        print(f"  {stage.name:<50} {stage.seconds:>8.1f} {stage.cpu_seconds:>8.1f} {stage.peak_mb:>9,.0f}")
    print(f"  end to end (generate, land, materialize, release)   {result.end_to_end_seconds:>8.1f} s")
    print(f"  peak RSS of the pipeline                            {result.peak_mb:>8,.0f} MB")
    print(f"  one new day on top of the history                   {result.incremental_seconds:>8.1f} s")
    print(f"  peak RSS of the one-day run                         {result.incremental_peak_mb:>8,.0f} MB")
    print(f"  outcome: {result.release}; one day: {result.incremental_release}")


def print_fit(results: list[ScaleResult]) -> None:
    measured = [r for r in results if r.outcome == "ok"]
    print("\n== linear fit against rows (y = a * rows/1M + b), and y at 10M rows")
    if len(measured) < 2:
        print("  needs two scales measured")
        return
    import numpy as np

    millions = [r.rows / 1e6 for r in measured]
    for what, values in (
        ("end-to-end seconds", [r.end_to_end_seconds for r in measured]),
        ("peak RSS MB", [r.peak_mb for r in measured]),
        ("one-day seconds", [r.incremental_seconds for r in measured]),
        ("one-day peak RSS MB", [r.incremental_peak_mb for r in measured]),
    ):
        a, b = np.polyfit(millions, values, 1)
        print(f"  {what:<22} a = {a:>9.2f} per 1M rows   b = {b:>9.2f}   at 10M: {a * 10 + b:>10,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--max-rss-mb", type=float, default=None, help="default: 85%% of MemAvailable")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--day", type=date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.day:
        measure_day(args.root, args.day, args.out)
        return
    if args.generate:
        started = time.time()
        generate_landing(args.generate, args.root, args.as_of)
        times = os.times()
        peak = rss_kb(field_name="VmHWM") / 1024
        print(json.dumps({"seconds": time.time() - started, "peak_mb": peak, "cpu_seconds": times.user + times.system}))
        return
    if args.one:
        measure_scale(args.one, args.out)
        return
    limit = args.max_rss_mb or 0.85 * available_mb()
    print(f"memory limit per scale: {limit:,.0f} MB; {os.cpu_count()} cores")
    results: list[ScaleResult] = []
    for rows in args.scales:
        projected = projected_mb(results, rows)
        if projected is not None and projected > limit:
            result = ScaleResult(rows, outcome=f"refused: projected peak {projected:,.0f} MB > {limit:,.0f} MB")
        else:
            result = run_child(rows, limit)
        results.append(result)
        print_result(result)
    print_fit(results)


if __name__ == "__main__":
    main()
