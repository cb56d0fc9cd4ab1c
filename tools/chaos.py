"""`make chaos`: the ticket_triage pipeline under every fault trainset claims to survive.

Each scenario starts from the same generated landing zone in a fresh git workspace, injects one
fault, and runs the whole pipeline (all assets, gates, release to DVC) in a child process, so a
kill is a real SIGKILL. Rows lost are counted against what the harness itself wrote: every
record of every landed file must end in the raw zone or in quarantine, every later step must
reconcile, and a release that completes must hold exactly the rows of the clean baseline.

Prints one line per fault (fault, outcome, rows lost) and exits 1 if any row was lost or any
fault was not handled as it should be. The dataset's volume bars are scaled to the generated
size (like the tests' spec); everything else is the declared ticket_triage spec.

    python tools/chaos.py [--rows 6000] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipelines.lib.catalog import COMPONENT_TYPE, get_spec
from pipelines.lib.ingest.landing import read_ledger
from pipelines.lib.quality.reconcile import (
    reconcile_eligible,
    reconcile_raw,
    reconcile_redacted,
    reconcile_training_set,
)
from pipelines.lib.release.killpoints import POINTS
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.reports import Manifest
from pipelines.lib.spec import DatasetSpec, GatesSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

PROJECT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 10, 31)
DATASET = "ticket_triage"
TICKETS = Path("data/landing/tickets")


@dataclass
class Outcome:
    fault: str
    outcome: str
    rows_lost: int
    ok: bool


# -- the workspace and the pipeline --------------------------------------------------------------


def scaled_spec(rows: int) -> DatasetSpec:
    """The declared spec with its volume bars scaled from the demo's 60,000 tickets to `rows`."""
    spec, _ = get_spec(DATASET)
    gates = spec.gates.model_dump()
    scale = rows / 60_000
    gates["min_examples_per_class"]["min"] = int(1000 * scale)
    gates["min_examples_top_languages"]["min"] = int(300 * scale)
    gates["min_label_agreement"]["min"] = 0.7  # a few hundred doubly-labelled items: kappa is noisy
    return spec.model_copy(update={"gates": GatesSpec.model_validate(gates)})


def make_template(root: Path, rows: int, spec: DatasetSpec) -> None:
    """A git workspace at `root` (which must not exist) declaring `spec`, with the expectation
    suites and `rows` generated tickets landed over 8 months; every scenario starts from a copy of it."""
    root.mkdir(parents=True)
    shutil.copytree(PROJECT / "expectations", root / "expectations")
    declared = root / "pipelines" / "defs" / DATASET / "defs.yaml"
    # What the spec names beside it (the labeling guideline) comes too; the spec is written below.
    shutil.copytree(PROJECT / "pipelines" / "defs" / DATASET, declared.parent)
    # Column roles keep their nulls: a user or timestamp column is declared absent as null.
    attributes = spec.model_dump(mode="json", exclude_none=True) | {"columns": spec.columns.model_dump(mode="json")}
    document = {"type": COMPONENT_TYPE, "requirements": {"env": [spec.privacy.key_env]}, "attributes": attributes}
    declared.write_text(yaml.safe_dump(document, sort_keys=False))
    (root / ".gitignore").write_text("data/\n")
    write_landing(generate(GeneratorConfig(rows=rows, seed=7, as_of=AS_OF, months=8)), root / "data" / "landing")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "workspace"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=os.environ | GIT_IDENTITY)


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "chaos",
    "GIT_AUTHOR_EMAIL": "chaos@localhost",
    "GIT_COMMITTER_NAME": "chaos",
    "GIT_COMMITTER_EMAIL": "chaos@localhost",
}


def _pipeline(root: Path, spec_json: str, kill_at: str | None, results) -> None:
    """Child process: the whole pipeline, in process, on an in-memory Dagster instance."""
    import dagster as dg

    from pipelines.runner import materialize_dataset

    os.environ.update(GIT_IDENTITY)
    spec = DatasetSpec.model_validate_json(spec_json)
    try:
        summary = materialize_dataset(
            spec,
            root,
            as_of=AS_OF,
            instance=dg.DagsterInstance.ephemeral(),
            kill_at=kill_at,
            log_level="CRITICAL",  # failures are reported in the table, from the run summary
        )
        results.put((summary.success, summary.failure or summary.release or ""))
    except Exception as error:  # noqa: BLE001 - reported as the scenario's outcome
        results.put((False, f"{type(error).__name__}: {error}"))


def run_pipeline(root: Path, spec: DatasetSpec, kill_at: str | None = None, together: int = 1) -> list[tuple]:
    """Run the pipeline in `together` child processes at once; (exit code, success, message) each."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [
        context.Process(target=_pipeline, args=(root, spec.model_dump_json(), kill_at, results))
        for _ in range(together)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    reported = [results.get() for child in children if child.exitcode == 0]
    return [
        (child.exitcode, *reported.pop(0)) if child.exitcode == 0 else (child.exitcode, False, "") for child in children
    ]


# -- counting ------------------------------------------------------------------------------------


def landed_records(root: Path) -> int:
    """Records the harness wrote: data lines of every landed file (the generator writes no
    line breaks inside values, and every injected record is one line)."""
    total = 0
    for path in (root / TICKETS).glob("*.csv"):
        lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
        total += max(len(lines) - 1, 0)
    return total


def rows_lost(root: Path, spec: DatasetSpec, expected: int) -> tuple[int, list[str]]:
    """Records neither in the raw zone nor in quarantine (a count), and every later step's
    mismatches (in words)."""
    paths = DatasetPaths(root, DATASET)
    days = sorted(p.stem for p in (paths.warehouse / "raw_tickets").glob("*.parquet"))
    raw = reconcile_raw(paths, "tickets", days)
    problems = [*raw.problems, *reconcile_redacted(paths, spec, days).problems]
    if paths.stats("eligible").is_file():
        problems += reconcile_eligible(paths).problems
    if paths.stats("training_set").is_file():
        problems += reconcile_training_set(paths).problems
    # A copy replaced by a later export's copy of the same record is in neither: the ledger counts it.
    replaced = sum(e.replaced for e in read_ledger(paths, "tickets").exports)
    return expected - raw.rows_out - raw.removed - replaced, problems


def released(root: Path) -> Manifest | None:
    """The manifest of the latest released version, or None if nothing was released."""
    found = versions(root / "datasets" / DATASET)
    return read_manifest(root / "datasets" / DATASET / f"v{found[-1]}") if found else None


def quarantined(root: Path) -> str:
    """What quarantine holds, as `<rows> <reason>` by reason, or "nothing quarantined"."""
    path = DatasetPaths(root, DATASET).quarantine
    if not path.is_file():
        return "nothing quarantined"
    reasons = pd.read_parquet(path)["reason"].value_counts()
    return ", ".join(f"{n} {reason}" for reason, n in reasons.items()) or "nothing quarantined"


# -- faults --------------------------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return sorted(p for p in (root / TICKETS).glob("*.csv") if p.stat().st_size > 200)


def _edit_lines(root: Path, count: int, edit: Callable[[bytes], bytes]) -> None:
    """Apply `edit` to one record line in each of `count` landed files spread over the range."""
    files = _files(root)
    for path in [files[i] for i in np.linspace(0, len(files) - 1, count).astype(int)]:
        lines = path.read_bytes().split(b"\n")
        lines[1] = edit(lines[1])
        path.write_bytes(b"\n".join(lines))


def _edit_field(name: str, value: str) -> Callable[[bytes], bytes]:
    def edit(line: bytes) -> bytes:
        header = ["ticket_id", "user_id", "customer_name", "customer_email", "created_at"]
        header += ["channel", "language", "subject", "body", "category"]
        fields = next(csv.reader([line.decode()]))
        fields[header.index(name)] = value
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)
        return out.getvalue().encode()

    return edit


#: the outcome of a record exported twice: the later copy replaces the earlier (the ledger counts it)
UPDATED = "updated"


def _duplicate_within(root: Path) -> None:
    for path in _files(root)[::40]:
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join([*lines[:2], lines[1], *lines[2:]]))


def _duplicate_across(root: Path) -> None:
    files = _files(root)
    for source, target in ((files[3], files[50]), (files[60], files[120])):
        line = source.read_bytes().split(b"\n")[1]
        target.write_bytes(target.read_bytes().rstrip(b"\n") + b"\n" + line + b"\n")


def _random_bytes(root: Path) -> None:
    rng = np.random.default_rng(5)
    for path in _files(root)[::60]:
        junk = bytes(b for b in rng.integers(0, 256, 300).astype(np.uint8).tobytes() if b not in (10, 13))
        path.write_bytes(path.read_bytes().rstrip(b"\n") + b"\n" + junk + b"\n")


def _empty_text(root: Path) -> None:
    _edit_lines(root, 3, _edit_field("subject", ""))
    _edit_lines(root, 3, _edit_field("body", " "))


#: A fault: edits the landed files under a workspace root. What it returns is ignored (a
#: `Path.write_bytes` in a lambda returns the bytes written).
Fault = Callable[[Path], object]

ROW_FAULTS: dict[str, tuple[Fault, str]] = {
    "extra field on a line": (lambda r: _edit_lines(r, 3, lambda line: line + b',"extra"'), "malformed_record"),
    "line cut short": (lambda r: _edit_lines(r, 3, lambda line: line[: len(line) // 2]), "malformed_record"),
    "quote never closed": (lambda r: _edit_lines(r, 3, lambda line: line[:-1]), "malformed_record"),
    "bytes that are not UTF-8": (
        lambda r: _edit_lines(r, 3, lambda line: line.replace(b"e", b"\xe9", 1)),
        "bad_encoding",
    ),
    "random bytes as a line": (_random_bytes, "malformed_record"),
    "missing user id": (lambda r: _edit_lines(r, 3, _edit_field("user_id", "")), "missing_required_field"),
    "unparseable timestamp": (
        lambda r: _edit_lines(r, 3, _edit_field("created_at", "next tuesday")),
        "unparseable_timestamp",
    ),
    "future timestamp": (
        lambda r: _edit_lines(r, 3, _edit_field("created_at", "2099-01-01T00:00:00Z")),
        "future_timestamp",
    ),
    "unknown label": (lambda r: _edit_lines(r, 3, _edit_field("category", "Refunds")), "unknown_label"),
    "empty text": (_empty_text, "empty_text"),
    "oversize text": (lambda r: _edit_lines(r, 3, _edit_field("body", "log line " * 4000)), "oversize_text"),
    "duplicate id in a file": (_duplicate_within, "duplicate_id"),
    # A record exported again by a later export is an update (`duplicates: latest`), not a duplicate.
    "same record in a later file": (_duplicate_across, UPDATED),
}


def _middle(root: Path) -> Path:
    files = _files(root)
    return files[len(files) // 2]


SOURCE_FAULTS: dict[str, tuple[Fault, str]] = {
    "renamed column": (
        lambda r: _middle(r).write_bytes(_middle(r).read_bytes().replace(b'"category"', b'"label"', 1)),
        "missing column(s) ['category']",
    ),
    "empty file": (lambda r: _middle(r).write_bytes(b""), "the file is empty"),
    "not a CSV at all": (
        lambda r: _middle(r).write_bytes(np.random.default_rng(1).bytes(2000)),
        "cannot be read as csv",
    ),
}


# -- scenarios -----------------------------------------------------------------------------------


def fresh(template: Path, scratch: Path, name: str) -> Path:
    """A copy of the template workspace under `scratch`, in a folder named after the scenario."""
    root = scratch / name.replace(" ", "_").replace(":", "_")
    shutil.copytree(template, root, symlinks=True)
    return root


def row_fault(template: Path, scratch: Path, spec: DatasetSpec, name: str) -> Outcome:
    """Bad records in a few files: the run must release, with each bad row quarantined for its reason."""
    inject, reason = ROW_FAULTS[name]
    root = fresh(template, scratch, name)
    inject(root)
    expected = landed_records(root)
    [(code, success, message)] = run_pipeline(root, spec)
    lost, problems = rows_lost(root, spec, expected)
    held = quarantined(root)
    if reason == UPDATED:
        updates = sum(e.replaced for e in read_ledger(DatasetPaths(root, DATASET), "tickets").exports)
        held += f"; {updates} {UPDATED}"
    ok = code == 0 and success and reason in held and not problems and lost == 0
    return Outcome(name, f"{'released' if success else 'FAILED: ' + message[:80]}; quarantined {held}", lost, ok)


def source_fault(template: Path, scratch: Path, spec: DatasetSpec, name: str, baseline: Manifest) -> Outcome:
    """A broken file: the run must refuse it by name, and once it is re-landed release the baseline."""
    inject, message_part = SOURCE_FAULTS[name]
    root = fresh(template, scratch, name)
    broken = _middle(root)
    original = broken.read_bytes()
    inject(root)
    [(code, success, message)] = run_pipeline(root, spec)
    refused = code == 0 and not success and message_part in message and "source 'tickets'" in message
    broken.write_bytes(original)  # the steward re-lands the file
    expected = landed_records(root)
    [(code, success, _)] = run_pipeline(root, spec)
    lost, problems = rows_lost(root, spec, expected)
    final = released(root)
    same = final is not None and final.content_sha256 == baseline.content_sha256
    ok = refused and success and same and not problems and lost == 0
    reason = re.sub(r"^.*?(?:\.csv: |partition \S+: )", "", message).split(". ")[0]
    said = reason[:80] if refused else f"NOT REFUSED CLEARLY: {message[:80]}"
    return Outcome(name, f"refused ({said}); re-landed: {'same release' if same else 'DIFFERENT'}", lost, ok)


def kill_fault(template: Path, scratch: Path, spec: DatasetSpec, point: str, baseline: Manifest) -> Outcome:
    """SIGKILL at a kill point: no partial version, no tag; the next run completes v1 as the baseline."""
    root = fresh(template, scratch, f"kill {point}")
    expected = landed_records(root)
    [(code, _, _)] = run_pipeline(root, spec, kill_at=point)
    # Version folders only: the dataset's CHANGELOG.md sits beside them.
    folders = sorted(p.name for p in (root / "datasets" / DATASET).glob("*") if p.is_dir())
    partial = [f for f in folders if not (root / "datasets" / DATASET / f / "manifest.json").is_file()]
    tags = subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True).stdout.split()
    [(_, success, _)] = run_pipeline(root, spec)
    final = released(root)
    tags_after = subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True).stdout.split()
    lost, problems = rows_lost(root, spec, expected)
    lost += baseline.rows - (final.rows if final else 0)
    same = final is not None and final.content_sha256 == baseline.content_sha256
    ok = code == -9 and not partial and not tags and success and same and tags_after == [f"{DATASET}@v1"]
    outcome = f"killed (exit {code}), {len(folders)} complete version(s), no tag; rerun: " + (
        "v1 completed and tagged" if ok else f"{final and final.version} tags {tags_after}"
    )
    return Outcome(f"SIGKILL at {point}", outcome, lost, ok and not problems)


def concurrent_runs(template: Path, scratch: Path, spec: DatasetSpec, baseline: Manifest) -> Outcome:
    """Two runs at once: one runs (or both, one after the other), any other is refused; one v1."""
    root = fresh(template, scratch, "concurrent")
    expected = landed_records(root)
    results = run_pipeline(root, spec, together=2)
    refused = [m for _, success, m in results if not success and "in progress" in m]
    succeeded = [m for _, success, m in results if success]
    lost, problems = rows_lost(root, spec, expected)
    final = released(root)
    same = final is not None and final.content_sha256 == baseline.content_sha256
    ok = len(succeeded) >= 1 and len(succeeded) + len(refused) == 2 and same and not problems
    said = refused[0].split(" in /")[0] if refused else "-"
    outcome = f"{len(succeeded)} ran, {len(refused)} refused ({said}); one v1, same as the baseline"
    return Outcome("two runs at once", outcome, lost, ok)


def rerun_unchanged(root: Path, spec: DatasetSpec, baseline: Manifest) -> Outcome:
    """The clean workspace run again: no new version, and a byte-identical training set."""
    training = (DatasetPaths(root, DATASET).training_set).read_bytes()
    [(code, success, message)] = run_pipeline(root, spec)
    same_bytes = (DatasetPaths(root, DATASET).training_set).read_bytes() == training
    ok = success and "no change; latest is v1" in message and same_bytes
    said = message.split(" at /")[0]
    return Outcome("same inputs run again", f"{said}; training set byte-identical: {same_bytes}", 0, ok)


def main() -> None:
    """Every scenario, one line each; exits 1 if a row was lost or a fault not handled, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--keep", action="store_true", help="keep the scenario workspaces for inspection")
    args = parser.parse_args()
    os.environ.setdefault("TRAINSET_PSEUDONYM_KEY", "chaos-pseudonymisation-key")
    warnings.filterwarnings("ignore")  # Dagster's beta notices, once per child
    # Imported once here, so every forked child starts with Dagster and GX loaded (seconds each).
    import dagster  # noqa: F401

    import pipelines.lib.quality.expectations  # noqa: F401

    scratch = Path(tempfile.mkdtemp(prefix="trainset-chaos-"))
    # Each scenario's workspace gets its own default DVC remote: in the scratch folder, not the user's.
    os.environ["XDG_DATA_HOME"] = str(scratch / "data-home")
    spec = scaled_spec(args.rows)
    outcomes: list[Outcome] = []
    try:
        template = scratch / "template"
        make_template(template, args.rows, spec)
        clean = fresh(template, scratch, "clean")
        expected = landed_records(clean)
        [(_, success, message)] = run_pipeline(clean, spec)
        lost, problems = rows_lost(clean, spec, expected)
        baseline = released(clean)
        if not success or baseline is None:
            sys.exit(f"the clean baseline did not release: {message} {problems}")
        print(f"{'':5}{'fault':<29} {'rows lost':>9}  outcome")
        scenarios: list[Callable[[], Outcome]] = [
            lambda: Outcome("none (baseline)", f"released v1: {baseline.rows:,} rows", lost, not problems),
            lambda: rerun_unchanged(clean, spec, baseline),
            *[lambda n=name: row_fault(template, scratch, spec, n) for name in ROW_FAULTS],
            *[lambda n=name: source_fault(template, scratch, spec, n, baseline) for name in SOURCE_FAULTS],
            *[lambda p=point: kill_fault(template, scratch, spec, p, baseline) for point in POINTS],
            lambda: concurrent_runs(template, scratch, spec, baseline),
        ]
        for scenario in scenarios:
            outcomes.append(scenario())
            _print(outcomes[-1])
    finally:
        if args.keep:
            print(f"\nworkspaces kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    lost_total = sum(o.rows_lost for o in outcomes)
    failed = [o.fault for o in outcomes if not o.ok]
    print(f"\n{len(outcomes)} scenarios, {lost_total} rows lost, {len(failed)} not handled: {failed or 'none'}")
    sys.exit(1 if lost_total or failed else 0)


def _print(outcome: Outcome) -> None:
    mark = "ok  " if outcome.ok else "FAIL"
    print(f"{mark} {outcome.fault:<29} {outcome.rows_lost:>9}  {outcome.outcome}", flush=True)


if __name__ == "__main__":
    main()
