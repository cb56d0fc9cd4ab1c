"""DATASET_CARD.md, written from the manifest (in the spirit of Hugging Face dataset cards and
Google's Data Cards): purpose, sources, coverage, label quality, privacy treatment, known gaps.

The card is the Jinja2 template `pipelines/templates/dataset_card.md.j2`; this module hands it the
manifest and the one figure the manifest does not hold as such, coverage per class and split."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.lib import templates

SPLITS = ["train", "validation", "test"]

# The card is Markdown, not HTML: HTML entities would show as typed in a Markdown viewer
# (`&lt;` instead of `<`), and Markdown has no escaping that autoescape could apply. Nothing in
# the card is raw text of the data: names, counts, ids and the spec's own declarations.
_TEMPLATES = templates.environment(autoescape=False)


@dataclass(frozen=True)
class Coverage:
    """Released examples per class (sorted by name) and split, in the order of `splits`."""

    splits: list[str]
    rows: list[tuple[str, list[int]]]


def render_card(manifest: dict) -> str:
    """The Markdown card (a str ending in a newline) of one released version.

    Every figure comes from the manifest (`release.release` writes it): `dataset` and `version`
    are required, every other block is optional and shown as absent when missing. Raises
    KeyError, or jinja2.UndefinedError, if a file, source, gate, accounting step or residue entry
    lacks a field the card shows."""
    spec = manifest.get("spec", {}).get("content", {})
    return _TEMPLATES.get_template("dataset_card.md.j2").render(
        manifest=manifest,
        spec=spec,
        ref=f"{manifest['dataset']}@v{manifest['version']}",
        coverage=_coverage(manifest.get("counts", []), spec.get("labels", {}).get("column", "category")),
    )


def _coverage(counts: list[dict], label: str) -> Coverage | None:
    """Sum the class x language x channel x split counts per class and split; None if no rows."""
    if not counts:
        return None
    by_class: dict[str, dict[str, int]] = {}
    for row in counts:
        by_class.setdefault(row[label], {}).setdefault(row["split"], 0)
        by_class[row[label]][row["split"]] += row["n"]
    rows = [(name, [per_split.get(s, 0) for s in SPLITS]) for name, per_split in sorted(by_class.items())]
    return Coverage(SPLITS, rows)
