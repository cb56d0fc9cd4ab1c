"""DATASET_CARD.md, written from the manifest (in the spirit of Hugging Face dataset cards and
Google's Data Cards): purpose, sources, coverage, label quality, privacy treatment, known gaps.

The card is the Jinja2 template `pipelines/templates/dataset_card.md.j2`; this module hands it the
typed manifest, the spec it names, and the one figure the manifest does not hold as such,
coverage per class and split. A gate's result is its `status` (the one rule, `gate_verdict`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.lib import templates
from pipelines.lib.reports import CoverageCount, Manifest
from pipelines.lib.spec import DatasetSpec

SPLITS = ["train", "validation", "test"]

# The card is Markdown, not HTML: HTML entities would show as typed in a Markdown viewer
# (`&lt;` instead of `<`), and Markdown has no escaping that autoescape could apply. Nothing in
# the card is raw text of the data: names, counts, ids and the spec's own declarations.
_TEMPLATES = templates.environment(autoescape=False)
# A segment value is a category of the data (a product, a queue): a `|` or a line break in one
# would end its table cell or row.
_TEMPLATES.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


@dataclass(frozen=True)
class Coverage:
    """Released examples per class (sorted by name) and split, in the order of `splits`; and per
    segment column (the language first), examples per value, most first."""

    splits: list[str]
    rows: list[tuple[str, list[int]]]
    segments: dict[str, list[tuple[str, int]]]


def render_card(manifest: Manifest) -> str:
    """The Markdown card (a str ending in a newline) of one released version.

    Every figure comes from the manifest (`release.release` writes it); the spec it names is the
    one being released, so it is read back as a `DatasetSpec` (raises pydantic.ValidationError if
    it is not one). A block the manifest holds empty is shown as absent."""
    return _TEMPLATES.get_template("dataset_card.md.j2").render(
        manifest=manifest,
        spec=DatasetSpec.model_validate(manifest.spec.content),
        coverage=_coverage(manifest.counts),
    )


def _coverage(counts: list[CoverageCount]) -> Coverage | None:
    """Sum the class x segment values x split counts per class and split, and per segment value;
    None if no rows."""
    if not counts:
        return None
    by_class: dict[str, dict[str, int]] = {}
    for row in counts:
        per_split = by_class.setdefault(row.label, {})
        per_split[row.split] = per_split.get(row.split, 0) + row.n
    rows = [(name, [per_split.get(s, 0) for s in SPLITS]) for name, per_split in sorted(by_class.items())]
    per_value: dict[str, dict[str, int]] = {}
    for row in counts:
        for column, value in row.segments.items():
            per_value.setdefault(column, {})[value] = per_value.get(column, {}).get(value, 0) + row.n
    segments = {
        column: sorted(values.items(), key=lambda item: (-item[1], item[0])) for column, values in per_value.items()
    }
    return Coverage(SPLITS, rows, segments)
