"""What a steward reads: every gate of a run with the failing segments and a few redacted
examples, and how gates and coverage moved between two versions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines.lib.quality.check_records import check_run_ids, load_checks
from pipelines.lib.quality.gates import gate_status
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

# Which column a gate's failing segment ("Account: ...") names, to pick examples from.
SEGMENT_COLUMNS = {
    "min_examples_per_class": "label",
    "min_share_per_class": "label",
    "min_label_agreement": "label",
    "min_examples_top_languages": "language",
    "required_channels": "channel",
}


class GateReportError(LookupError):
    """No gate results for what was asked."""


def load_run(paths: DatasetPaths, run_id: str | None = None) -> dict:
    """Gate results of one run and the checks beside them (pii_residue, row_accounting): by
    default the latest training_set evaluation and the latest verdict of each check. A run that
    a check stopped before the training set was built has checks and no gates."""
    if run_id is None:
        path: Path | None = paths.stats("gates")
        check_run = None
    else:
        runs = {p.stem: p for p in (paths.warehouse / "gate_runs").glob("*.json")}
        known = sorted(set(runs) | set(check_run_ids(paths)))
        matches = [r for r in known if r.startswith(run_id)]
        if len(matches) != 1:
            raise GateReportError(
                f"run {run_id!r} matches {len(matches)} runs of {paths.dataset}; known: {[r[:8] for r in known]}"
            )
        check_run = matches[0]
        path = runs.get(check_run)
    empty: dict = {"run_id": check_run, "as_of": None, "gates": [], "contract": None, "expectations": []}
    run = json.loads(path.read_text()) if path is not None and path.is_file() else empty
    run["checks"] = [c.model_dump(mode="json") for c in load_checks(paths, check_run)]
    if not run["gates"] and not run["checks"]:
        raise GateReportError(
            f"no gate results for {paths.dataset} in {paths.warehouse}; run `trainset run {paths.dataset}`"
        )
    return run


def with_examples(run: dict, paths: DatasetPaths, spec: DatasetSpec, per_segment: int = 2) -> dict:
    """Add a few redacted subjects to each failing segment that names a class, language or channel."""
    frame = pd.read_parquet(paths.training_set) if paths.training_set.is_file() else None
    for gate in run["gates"]:
        gate["examples"] = {}
        column = SEGMENT_COLUMNS.get(gate["name"])
        if frame is None or column is None or gate["passed"]:
            continue
        column = spec.labels.column if column == "label" else column
        for segment in gate["failing"]:
            value = segment.split(":", 1)[0]
            rows = frame.loc[frame[column] == value, spec.columns.text[0]].head(per_segment)
            gate["examples"][segment] = rows.tolist()  # post-redaction text only
    return run


def compare(releases: Path, old: int, new: int, spec: DatasetSpec) -> dict:
    """Gate measurements and class/language shares of two versions, side by side."""
    a, b = read_manifest(releases / f"v{old}"), read_manifest(releases / f"v{new}")
    gates_a = {g["name"]: g for g in a.get("gates", [])}
    rows = []
    for gate in b.get("gates", []):
        before = gates_a.get(gate["name"], {}).get("measured")
        rows.append({"gate": gate["name"], f"v{old}": before, f"v{new}": gate["measured"], "status": gate_status(gate)})
    shares = []
    for column in (spec.labels.column, "language", "channel"):
        share_a, share_b = _shares(a, column), _shares(b, column)
        for value in sorted(set(share_a) | set(share_b)):
            x, y = share_a.get(value, 0.0), share_b.get(value, 0.0)
            shares.append(
                {
                    "segment": f"{column}={value}",
                    f"v{old}": round(x, 4),
                    f"v{new}": round(y, 4),
                    "change": round(y - x, 4),
                }
            )
    return {"gates": rows, "shares": shares}


def _shares(manifest: dict, column: str) -> dict[str, float]:
    counts = pd.DataFrame(manifest.get("counts", []))
    if counts.empty:
        return {}
    totals = counts.groupby(column)["n"].sum()
    return (totals / totals.sum()).to_dict()
