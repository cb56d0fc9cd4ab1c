"""`trainset redact` run as a user runs it, on generated JSONL, CSV and Parquet exports.

    python benchmarks/redact_cli_figures.py [--big-mb 80] [--small-mb 20] [--repeat 3]

(also printed by bench_redaction.py). Each format gets an export of about `big_mb` and one of
about `small_mb`; `trainset redact` runs on each as a subprocess (median of `repeat` runs). The
marginal throughput, (big MB - small MB) / (big seconds - small seconds), leaves out what does
not grow with the file: starting Python and importing the project, about 4 s here.

Parquet compresses (the generated text about 5x), so a Parquet export holds the same rows as the
CSV one and its MB are that CSV's bytes: the data it carries; its size on disk is printed beside.
Beside each figure: the engine alone on the same texts (in memory, 2 threads), so what is left of
the marginal time is reading, parsing, locating, writing. Each timed run waits (up to a minute)
for a second in which the machine's cores are idle: the machine is shared, and a run beside
another benchmark measures both.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.catalog import get_spec
from pipelines.lib.privacy.redaction import redact
from pipelines.synthetic.generate import GeneratorConfig, generate

TRAINSET = str(Path(sys.executable).parent / "trainset")
DATASET = "ticket_triage"
FORMATS = ("jsonl", "csv", "parquet")
TARGET_MB_S = 100
WRITERS = {
    "jsonl": lambda frame, path: frame.to_json(path, orient="records", lines=True, force_ascii=False),
    "csv": lambda frame, path: frame.to_csv(path, index=False),
    "parquet": lambda frame, path: frame.to_parquet(path, index=False),
}


def write_exports(folder: Path, sizes_mb: tuple[float, float]) -> dict[str, list[tuple[Path, float]]]:
    """Per format, (file, MB) for each size; rows per MB measured on a pilot of each format."""
    pilot = generate(GeneratorConfig(rows=4_000, seed=99)).tickets
    bytes_per_row = {}
    for kind in ("jsonl", "csv"):
        WRITERS[kind](pilot, folder / f"pilot.{kind}")
        bytes_per_row[kind] = (folder / f"pilot.{kind}").stat().st_size / len(pilot)
    bytes_per_row["parquet"] = bytes_per_row["csv"]
    tickets = generate(GeneratorConfig(rows=int(max(sizes_mb) * 1e6 / min(bytes_per_row.values())) + 1, seed=99))
    exports: dict[str, list[tuple[Path, float]]] = {}
    for kind in FORMATS:
        exports[kind] = []
        for mb in sizes_mb:
            rows = tickets.tickets.head(int(mb * 1e6 / bytes_per_row[kind]))
            path = folder / f"tickets_{mb:g}mb.{kind}"
            WRITERS[kind](rows, path)
            as_csv = folder / f"tickets_{mb:g}mb.csv"
            exports[kind].append((path, (as_csv if kind == "parquet" else path).stat().st_size / 1e6))
    return exports


def cli_seconds(sources: list[Path], repeat: int) -> list[tuple[float, float]]:
    """Per source, the median wall seconds and median CPU seconds (user + system) of `trainset
    redact` on it (the dataset's text fields); the sources take turns, so a busy moment of the
    machine falls on all of them alike."""
    runs: dict[Path, list[tuple[float, float]]] = {source: [] for source in sources}
    for _ in range(repeat):
        for source in sources:
            target = source.with_name(f"redacted_{source.name}")
            target.unlink(missing_ok=True)
            QUIET.append(wait_for_quiet())
            before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(
                [TRAINSET, "redact", "--dataset", DATASET, "--in", str(source), "--out", str(target)],
                check=True,
                capture_output=True,
            )
            wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            runs[source].append((wall, cpu))
            target.unlink(missing_ok=True)
    return [
        (statistics.median(w for w, _ in runs[source]), statistics.median(c for _, c in runs[source]))
        for source in sources
    ]


#: per timed run, whether it started on a quiet machine (wait_for_quiet)
QUIET: list[bool] = []


def wait_for_quiet(busy_share: float = 0.1, patience: float = 60) -> bool:
    """Wait until the machine's cores were busy less than `busy_share` of one second (other
    work may share this machine: a run next to another benchmark measures that one too); False if
    it never was within `patience` seconds (the run goes ahead). Linux /proc/stat; elsewhere True."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return True
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        before = [int(n) for n in stat.read_text().split()[1:8]]
        time.sleep(1)
        after = [int(n) for n in stat.read_text().split()[1:8]]
        spent = [b - a for a, b in zip(before, after, strict=True)]
        idle = spent[3] + spent[4]  # idle, iowait
        if sum(spent) and (sum(spent) - idle) / sum(spent) < busy_share:
            return True
    return False


def engine_seconds(source: Path, repeat: int) -> float:
    """Median seconds of the engine alone on the export's text fields, in memory, 2 threads."""
    spec, _ = get_spec(DATASET)
    frame = pd.read_parquet(source) if source.suffix == ".parquet" else None
    if frame is None:
        frame = pd.read_csv(source, dtype=str) if source.suffix == ".csv" else pd.read_json(source, lines=True)
    texts = pa.chunked_array([pa.array(frame[c].astype(str), pa.large_string()) for c in spec.columns.text])
    texts = texts.combine_chunks()
    redact(texts[:1000], list(spec.privacy.redact))  # warm up
    wait_for_quiet()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        redact(texts, list(spec.privacy.redact), threads=2)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def print_cli_figures(big_mb: float = 80, small_mb: float = 20, repeat: int = 3) -> dict[str, float]:
    """Print the table; returns marginal MB/s per format."""
    marginal = {}
    with tempfile.TemporaryDirectory(prefix="bench-redact-") as folder:
        exports = write_exports(Path(folder), (big_mb, small_mb))
        print(
            f"\ntrainset redact as a subprocess on generated exports (median of {repeat} runs; "
            f"marginal = ({big_mb:g} MB - {small_mb:g} MB) / time difference; {os.cpu_count()} cores)"
        )
        print(
            f"{'format':<8} {'MB':>5} {'s':>6} {'MB':>5} {'s':>6} {'marginal':>9} {'CPU s':>6}"
            f" {'engine':>7} {'rest':>6}   on disk"
        )
        for kind, ((big, big_size), (small, small_size)) in exports.items():
            (big_wall, big_cpu), (small_wall, small_cpu) = cli_seconds([big, small], repeat)
            engine = [engine_seconds(big, repeat), engine_seconds(small, repeat)]
            spent, in_engine = big_wall - small_wall, engine[0] - engine[1]
            marginal[kind] = (big_size - small_size) / spent
            disk = f"{big.stat().st_size / 1e6:.1f} / {small.stat().st_size / 1e6:.1f} MB"
            print(
                f"{kind:<8} {big_size:>5.1f} {big_wall:>6.2f} {small_size:>5.1f} {small_wall:>6.2f}"
                f" {marginal[kind]:>4.0f} MB/s {big_cpu - small_cpu:>6.2f} {in_engine:>6.2f}s"
                f" {spent - in_engine:>5.2f}s   {disk}"
            )
        print(
            f"{sum(QUIET)} of {len(QUIET)} runs started on a quiet machine (cores < 10% busy for a second);"
            " the others waited a minute and ran anyway.\n"
            "marginal: MB/s of wall time; CPU s: marginal CPU seconds of the command (both cores);\n"
            "engine: marginal seconds of the engine alone on the same texts (in memory, 2 threads);\n"
            "rest: the other marginal seconds (reading, checking, locating, splicing, writing)"
        )
    return marginal


def verdicts(marginal: dict[str, float]) -> list[str]:
    """One line per format: the target met or not."""
    return [
        f"target >= {TARGET_MB_S} MB/s marginal through trainset redact ({kind}): "
        + ("met" if speed >= TARGET_MB_S else "NOT MET")
        for kind, speed in marginal.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=float, default=80, help="size of the larger export")
    parser.add_argument("--small-mb", type=float, default=20, help="size of the smaller export")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (median)")
    args = parser.parse_args()
    print("\n".join(verdicts(print_cli_figures(args.big_mb, args.small_mb, args.repeat))))


if __name__ == "__main__":
    main()
