"""`trainset redact` run as a user runs it, on generated JSONL, CSV and Parquet exports.

    python benchmarks/redact_cli_figures.py [--big-mb 80] [--small-mb 20] [--repeat 3]

(also printed by bench_redaction.py). Each format gets an export of about `big_mb` and one of
about `small_mb`; `trainset redact` runs on each as a subprocess (median of `repeat` runs). The
marginal throughput, (big MB - small MB) / (big seconds - small seconds), leaves out what does
not grow with the file: starting Python and importing the project, about 4 s here.

Parquet compresses (the generated text about 5x), so a Parquet export holds the same rows as the
CSV one and its MB are that CSV's bytes: the data it carries; its size on disk is printed beside.
Beside each figure: the engine alone on the same texts (in memory, 2 threads), so what is left of
the marginal time is reading, parsing, locating, writing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.catalog import get_spec
from pipelines.lib.generate import GeneratorConfig, generate
from pipelines.lib.redaction import redact

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


def cli_seconds(source: Path, repeat: int) -> float:
    """Median wall seconds of `trainset redact` on `source` (the dataset's text fields)."""
    seconds = []
    target = source.with_name(f"redacted_{source.name}")
    for _ in range(repeat):
        target.unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [TRAINSET, "redact", "--dataset", DATASET, "--in", str(source), "--out", str(target)],
            check=True,
            capture_output=True,
        )
        seconds.append(time.perf_counter() - started)
    target.unlink(missing_ok=True)
    return statistics.median(seconds)


def engine_seconds(source: Path, repeat: int) -> float:
    """Median seconds of the engine alone on the export's text fields, in memory, 2 threads."""
    spec, _ = get_spec(DATASET)
    frame = pd.read_parquet(source) if source.suffix == ".parquet" else None
    if frame is None:
        frame = pd.read_csv(source, dtype=str) if source.suffix == ".csv" else pd.read_json(source, lines=True)
    texts = pa.chunked_array([pa.array(frame[c].astype(str), pa.large_string()) for c in spec.columns.text])
    texts = texts.combine_chunks()
    redact(texts[:1000], list(spec.privacy.redact))  # warm up
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
            f"marginal = ({big_mb:g} MB - {small_mb:g} MB) / time difference)"
        )
        print(
            f"{'format':<8} {'MB':>6} {'s':>6} {'MB':>6} {'s':>6} {'marginal MB/s':>14}"
            f" {'of which engine':>16} {'rest':>6}  on disk"
        )
        for kind, ((big, big_size), (small, small_size)) in exports.items():
            cli = [cli_seconds(big, repeat), cli_seconds(small, repeat)]
            engine = [engine_seconds(big, repeat), engine_seconds(small, repeat)]
            spent, in_engine = cli[0] - cli[1], engine[0] - engine[1]
            marginal[kind] = (big_size - small_size) / spent
            disk = f"{big.stat().st_size / 1e6:.1f} / {small.stat().st_size / 1e6:.1f} MB"
            print(
                f"{kind:<8} {big_size:>6.1f} {cli[0]:>6.2f} {small_size:>6.1f} {cli[1]:>6.2f}"
                f" {marginal[kind]:>14.0f} {in_engine:>14.2f} s {spent - in_engine:>4.2f} s  {disk}"
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
