"""DATASET_CARD.md, written from the manifest (in the spirit of Hugging Face dataset cards and
Google's Data Cards): purpose, sources, coverage, label quality, privacy treatment, known gaps."""

from __future__ import annotations


def render_card(manifest: dict) -> str:
    """Markdown card for one version; every figure comes from the manifest."""
    spec = manifest.get("spec", {}).get("content", {})
    ref = f"{manifest['dataset']}@v{manifest['version']}"
    lines = [
        f"# {manifest['dataset']} v{manifest['version']}",
        "",
        spec.get("description", "").strip() or "_No description declared._",
        "",
        "| | |",
        "| --- | --- |",
        f"| owner | {spec.get('owner', '?')} |",
        f"| steward | {spec.get('steward', '?')} |",
        f"| as of | {manifest.get('as_of')} |",
        f"| built | {manifest.get('created_at')} |",
        f"| code version | `{manifest.get('code_version')}` |",
        f"| spec sha256 | `{manifest.get('spec', {}).get('sha256', '')[:16]}…` |",
        f"| content sha256 | `{manifest.get('content_sha256', '')[:16]}…` |",
        f"| Dagster run | `{manifest.get('dagster_run_id')}` |",
        "",
        "## Files",
        "",
        "| file | rows | sha256 |",
        "| --- | ---: | --- |",
    ]
    for name, meta in sorted(manifest.get("files", {}).items()):
        lines.append(f"| {name} | {meta.get('rows', '')} | `{meta['sha256'][:16]}…` |")
    lines += [
        "",
        "## Sources",
        "",
        "| source | owner | steward | legal basis | licence | partitions | rows |",
        "| --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for source in manifest.get("inputs", []):
        lines.append(
            f"| {source['source']} | {source.get('owner')} | {source.get('steward')} | {source.get('legal_basis')} | "
            f"{source.get('licence')} | {source.get('partitions')} | {source.get('rows')} |"
        )
    lines += ["", "## Coverage", "", _coverage_table(manifest.get("counts", []), spec)]
    lines += [
        "",
        "## Quality gates",
        "",
        "| gate | severity | measured | required | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for gate in manifest.get("gates", []):
        lines.append(
            f"| {gate['name']} | {gate['severity']} | {gate['measured']} | {gate['required']} | {_verdict(gate)} |"
        )
    lines += ["", "## Privacy treatment", ""]
    for policy in manifest.get("policies", []):
        lines.append(f"- **{policy['name']}**: {policy['summary']}")
    lines += ["", "## PII residue in the released files", "", *_residue(manifest.get("pii_residue_in_files"))]
    lines += ["", "## Row accounting", "", "| step | in | out | removed |", "| --- | ---: | ---: | --- |"]
    for step, counts in manifest.get("accounting", {}).items():
        removed = ", ".join(f"{k}: {v}" for k, v in counts["removed"].items() if v) or "—"
        lines.append(f"| {step} | {counts['rows_in']} | {counts['rows_out']} | {removed} |")
    lines += ["", "## Known gaps", ""]
    gaps = [_gap(g) for g in manifest.get("gates", []) if not g["passed"]]
    lines += gaps or ["- None found by the declared gates."]
    lines += [
        "",
        "## How to get it",
        "",
        f"`trainset pull {ref} -o DIR`, or "
        f"`dvc get <repo> datasets/{manifest['dataset']}/v{manifest['version']} --rev {ref}`.",
        "",
    ]
    return "\n".join(lines)


def _residue(review: dict | None) -> list[str]:
    """The independent residue check on the files: counts, and each finding a steward allowed."""
    if not review:
        return ["_Not checked._"]
    allowed = review.get("allowed", [])
    head = f"{review['findings']} finding(s) in {review['rows']} rows, {len(allowed)} allowed after review."
    if not allowed:
        return [head]
    lines = [head, "", "| file | row id | column | offset | kind | allowed by | until | reason |"]
    lines.append("| --- | --- | --- | ---: | --- | --- | --- | --- |")
    for entry in allowed:
        f = entry["finding"]
        lines.append(
            f"| {f['file']} | {f['row_id']} | {f['column']} | {f['offset']} | {f['kind']} | "
            f"{entry['approver']} | {entry['expires']} | {entry['reason']} |"
        )
    return lines


def _verdict(gate: dict) -> str:
    waiver = gate.get("waiver")
    if gate["passed"]:
        return "pass"
    return f"**waived** ({waiver['approver']}, until {waiver['expires']})" if waiver else "**fail**"


def _gap(gate: dict) -> str:
    text = f"- {gate['name']}: {', '.join(gate['failing']) or 'below the bar'}"
    if gate.get("waiver"):
        waiver = gate["waiver"]
        text += f" — waived by {waiver['approver']} until {waiver['expires']}: {waiver['reason']}"
    return text


def _coverage_table(counts: list[dict], spec: dict) -> str:
    if not counts:
        return "_No rows._"
    label = spec.get("labels", {}).get("column", "category")
    by_class: dict[str, dict[str, int]] = {}
    for row in counts:
        by_class.setdefault(row[label], {}).setdefault(row["split"], 0)
        by_class[row[label]][row["split"]] += row["n"]
    splits = ["train", "validation", "test"]
    out = ["| class | " + " | ".join(splits) + " | total |", "| --- |" + " ---: |" * (len(splits) + 1)]
    for name, per_split in sorted(by_class.items()):
        values = [per_split.get(s, 0) for s in splits]
        out.append(f"| {name} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |")
    return "\n".join(out)
