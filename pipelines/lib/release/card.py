"""DATASET_CARD.md, written from the manifest (in the spirit of Hugging Face dataset cards and
Google's Data Cards): purpose, sources, coverage, label quality, privacy treatment, known gaps."""

from __future__ import annotations

from pipelines.lib.privacy.residue_review import ResidueReview
from pipelines.lib.quality.gate_results import GateResult, GateStatus
from pipelines.lib.reports import CoverageCount, Manifest
from pipelines.lib.spec import DatasetSpec


def render_card(manifest: Manifest) -> str:
    """Markdown card for one version; every figure comes from the manifest (the spec it names
    is the one being released, so it is read back as a `DatasetSpec`)."""
    spec = DatasetSpec.model_validate(manifest.spec.content)
    lines = [
        f"# {manifest.dataset} v{manifest.version}",
        "",
        spec.description.strip() or "_No description declared._",
        "",
        "| | |",
        "| --- | --- |",
        f"| owner | {spec.owner} |",
        f"| steward | {spec.steward} |",
        f"| as of | {manifest.as_of} |",
        f"| built | {manifest.created_at.isoformat()} |",
        f"| code version | `{manifest.code_version}` |",
        f"| spec sha256 | `{manifest.spec.sha256[:16]}…` |",
        f"| content sha256 | `{manifest.content_sha256[:16]}…` |",
        f"| Dagster run | `{manifest.dagster_run_id}` |",
        "",
        "## Files",
        "",
        "| file | rows | sha256 |",
        "| --- | ---: | --- |",
    ]
    for name, meta in sorted(manifest.files.items()):
        lines.append(f"| {name} | {'' if meta.rows is None else meta.rows} | `{meta.sha256[:16]}…` |")
    lines += [
        "",
        "## Sources",
        "",
        "| source | owner | steward | legal basis | licence | partitions | rows |",
        "| --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for source in manifest.inputs:
        lines.append(
            f"| {source.source} | {source.owner} | {source.steward} | {source.legal_basis} | "
            f"{source.licence} | {source.partitions} | {source.rows} |"
        )
    lines += ["", "## Coverage", "", _coverage_table(manifest.counts)]
    lines += [
        "",
        "## Quality gates",
        "",
        "| gate | severity | measured | required | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for gate in manifest.gates:
        lines.append(f"| {gate.name} | {gate.severity} | {gate.measured} | {gate.required} | {_verdict(gate)} |")
    lines += ["", "## Privacy treatment", ""]
    for policy in manifest.policies:
        lines.append(f"- **{policy.name}**: {policy.summary}")
    lines += ["", "## PII residue in the released files", "", *_residue(manifest.pii_residue_in_files)]
    lines += ["", "## Row accounting", "", "| step | in | out | removed |", "| --- | ---: | ---: | --- |"]
    for step, counts in manifest.accounting.items():
        removed = ", ".join(f"{k}: {v}" for k, v in counts.removed.items() if v) or "—"
        lines.append(f"| {step} | {counts.rows_in} | {counts.rows_out} | {removed} |")
    lines += ["", "## Known gaps", ""]
    gaps = [_gap(g) for g in manifest.gates if not g.passed]
    lines += gaps or ["- None found by the declared gates."]
    lines += [
        "",
        "## How to get it",
        "",
        f"`trainset pull {manifest.ref} -o DIR`, or "
        f"`dvc get <repo> datasets/{manifest.dataset}/v{manifest.version} --rev {manifest.ref}`.",
        "",
    ]
    return "\n".join(lines)


def _residue(review: ResidueReview | None) -> list[str]:
    """The independent residue check on the files: counts, and each finding a steward allowed."""
    if review is None:
        return ["_Not checked._"]
    head = f"{review.findings} finding(s) in {review.rows} rows, {len(review.allowed)} allowed after review."
    if not review.allowed:
        return [head]
    lines = [head, "", "| file | row id | column | offset | kind | allowed by | until | reason |"]
    lines.append("| --- | --- | --- | ---: | --- | --- | --- | --- |")
    for entry in review.allowed:
        f = entry.finding
        lines.append(
            f"| {f.file} | {f.row_id} | {f.column} | {f.offset} | {f.kind} | "
            f"{entry.approver} | {entry.expires} | {entry.reason} |"
        )
    return lines


def _verdict(gate: GateResult) -> str:
    """The gate's status as the one rule decides it (a release holds no blocking failure)."""
    if gate.status is GateStatus.WAIVED and gate.waiver is not None:
        return f"**waived** ({gate.waiver.approver}, until {gate.waiver.expires})"
    return {GateStatus.PASSED: "pass", GateStatus.WARNED: "**warn**"}.get(gate.status, "**fail**")


def _gap(gate: GateResult) -> str:
    text = f"- {gate.name}: {gate.explanation or ', '.join(s.text for s in gate.failing) or 'below the bar'}"
    if gate.waiver:
        text += f" — waived by {gate.waiver.approver} until {gate.waiver.expires}: {gate.waiver.reason}"
    return text


def _coverage_table(counts: list[CoverageCount]) -> str:
    if not counts:
        return "_No rows._"
    by_class: dict[str, dict[str, int]] = {}
    for row in counts:
        per_split = by_class.setdefault(row.label, {})
        per_split[row.split] = per_split.get(row.split, 0) + row.n
    splits = ["train", "validation", "test"]
    out = ["| class | " + " | ".join(splits) + " | total |", "| --- |" + " ---: |" * (len(splits) + 1)]
    for name, per_split in sorted(by_class.items()):
        values = [per_split.get(s, 0) for s in splits]
        out.append(f"| {name} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |")
    return "\n".join(out)
