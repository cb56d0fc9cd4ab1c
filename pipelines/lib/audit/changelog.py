"""`datasets/<name>/CHANGELOG.md`: what changed from one version to the next, newest first.

Derived from the versions' manifests, the registry of withdrawals and the audit log, never
written by hand: rows added and removed (by id, where both versions' data files are kept) and
removed by reason, the spec's keys that moved (a bar, a rule), the gates whose status changed,
the waivers and allowances each stood on, the erasure requests it honours, and its withdrawal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.lib.audit.entries import AuditEntry
from pipelines.lib.files import write_text
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.release.withdrawal import DATA_FILES, read_registry
from pipelines.lib.reports import Manifest
from pipelines.lib.spec import DatasetSpec

CHANGELOG = "CHANGELOG.md"


def write_changelog(root: Path, dataset: str, log: list[AuditEntry]) -> Path:
    """Write the dataset's change log beside its versions; returns its path."""
    path = root / "datasets" / dataset / CHANGELOG
    write_text(changelog(root, dataset, log), path)  # its mode follows the releases folder's
    return path


def changelog(root: Path, dataset: str, log: list[AuditEntry], pulls: bool = False) -> str:
    """The change log's Markdown; with `pulls`, each version also lists who pulled it so far."""
    releases = root / "datasets" / dataset
    numbers = versions(releases)
    manifests = {n: read_manifest(releases / f"v{n}") for n in numbers}
    withdrawn = read_registry(root, dataset)["withdrawn"]
    lines = [
        f"# {dataset}: change log",
        "",
        "Written at each release from the manifests, `registry/` and `audit/log.jsonl`; do not edit. "
        f"Who pulled a version: `trainset audit show --dataset {dataset} --version N`.",
    ]
    for n in reversed(numbers):
        before = manifests.get(n - 1)
        lines += ["", *_section(root, manifests[n], before, withdrawn.get(str(n)), log, pulls)]
    return "\n".join(lines) + "\n"


def _section(
    root: Path, manifest: Manifest, before: Manifest | None, withdrawal: dict | None, log: list[AuditEntry], pulls: bool
) -> list[str]:
    n, dataset = manifest.version, manifest.dataset
    released = next(
        (e for e in log if e.event.type == "release" and e.event.dataset == dataset and e.event.version == n), None
    )
    record = manifest.release_record
    by = record.released_by if record else (released.who.model_copy(update={"git_email": None}) if released else None)
    head = f"## v{n} — {manifest.created_at.date()}" + (f", released by {by}" if by else "")
    lines = [head, ""]
    if withdrawal:
        lines.append(
            f"- **withdrawn** {withdrawal['withdrawn_at']} ({withdrawal['reason']}: {len(withdrawal['requests'])} "
            f"request(s)); use v{withdrawal['replaced_by']}"
        )
    delta = f" ({manifest.rows - before.rows:+,} since v{before.version})" if before else " (first version)"
    lines.append(f"- rows: {manifest.rows:,}{delta}")
    moved = _ids_moved(root, manifest, before)
    if moved:
        lines.append(f"- examples added: {moved[0]:,}; removed: {moved[1]:,} (by id, against v{before.version})")  # type: ignore[union-attr]
    removed, earlier = _removed(manifest), _removed(before) if before else {}
    if any(removed.values()) or any(earlier.values()):
        reasons = sorted(r for r in removed.keys() | earlier.keys() if removed.get(r) or earlier.get(r))
        shown = [
            f"{r} {removed.get(r, 0):,}" + (f" ({removed.get(r, 0) - earlier.get(r, 0):+,})" if before else "")
            for r in reasons
        ]
        lines.append(
            "- rows removed by reason (this build"
            + (", change since the last" if before else "")
            + "): "
            + "; ".join(shown)
        )
    if before:
        changes = _spec_changes(before.spec.content, manifest.spec.content)
        lines.append("- spec and policy: " + ("; ".join(changes) if changes else "unchanged"))
        statuses = {g.name: g.status.value for g in before.gates}
        moved_gates = [
            f"{g.name} {statuses.get(g.name, 'absent')} → {g.status.value}"
            for g in manifest.gates
            if statuses.get(g.name) != g.status.value
        ]
        moved_gates += [
            f"{name} {status} → absent"
            for name, status in statuses.items()
            if name not in {g.name for g in manifest.gates}
        ]
        lines.append("- gates that changed status: " + ("; ".join(moved_gates) if moved_gates else "none"))
    if record:
        waivers = [f"{w.gate} (by {w.approver}, until {w.expires}: {w.reason})" for w in record.waivers]
        lines.append("- waivers: " + ("; ".join(waivers) if waivers else "none"))
        allowed = [
            f"{a.kind} in {a.column} ({a.finding_sha256[:12]}, by {a.approver}, until {a.expires})"
            for a in record.allowances
        ]
        lines.append("- residue allowances: " + ("; ".join(allowed) if allowed else "none"))
        honoured = f"{record.erasure_requests}"
        if record.erasure_requests_sha256:
            honoured += f" (sha256 {record.erasure_requests_sha256[:12]})"
        lines.append(
            f"- erasure requests honoured: {honoured}; partner delete lists: {len(record.partner_delete_lists)}"
        )
    if pulls:
        pulled = [e for e in log if e.event.type == "pull" and e.event.dataset == dataset and e.event.version == n]
        shown = [f"{e.at.isoformat()} {e.who}" for e in pulled]
        lines.append(f"- pulled through trainset: {len(pulled)}" + (": " + "; ".join(shown) if shown else ""))
    return lines


def _removed(manifest: Manifest) -> dict[str, int]:
    """Rows removed by reason, summed over every step of the build."""
    total: dict[str, int] = {}
    for counts in manifest.accounting.values():
        for reason, n in counts.removed.items():
            total[reason] = total.get(reason, 0) + n
    return total


def _ids_moved(root: Path, manifest: Manifest, before: Manifest | None) -> tuple[int, int] | None:
    """(ids added, ids removed) against the version before, when both keep their data files."""
    if before is None:
        return None
    folders = [root / "datasets" / m.dataset / f"v{m.version}" for m in (before, manifest)]
    if not all((f / name).is_file() for f in folders for name in DATA_FILES):
        return None  # withdrawn: its data files are gone
    column = DatasetSpec.model_validate(manifest.spec.content).id_column
    ids = []
    for folder in folders:
        found: set[str] = set()
        for name in DATA_FILES:
            if column not in pq.read_schema(folder / name).names:
                return None
            found.update(map(str, pq.read_table(folder / name, columns=[column]).column(0).to_pylist()))
        ids.append(found)
    return len(ids[1] - ids[0]), len(ids[0] - ids[1])


def _spec_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """`gates.min_examples_per_class.min: 100 → 120` for every key of the spec that moved."""
    old, new = _flatten(before), _flatten(after)
    return [
        f"{key}: {old.get(key, 'absent')} → {new.get(key, 'absent')}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of the spec by its path: `sources[0].path`, `gates.min_examples_per_class.min`. A
    list of mappings (the sources) is flattened by position; a list of plain values is one leaf."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return flat
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        flat = {}
        for n, item in enumerate(value):
            flat |= _flatten(item, f"{prefix}[{n}]")
        return flat
    return {prefix: value}
