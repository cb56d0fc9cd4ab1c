"""Where a partner assessment goes: `reports/<dataset>/partners/<source>/assessment.md` (the page a
steward reads, from the Jinja2 template `partner_assessment.md.j2`) and `assessment.json` (the
whole `PartnerAssessment`), and the drafted decision record `decisions/<dataset>/<source>.yaml`,
written only where no record exists: a steward's record is never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.lib import templates
from pipelines.lib.files import write_text
from pipelines.lib.partners.assessment import Assessed
from pipelines.lib.partners.assessment_model import PartnerAssessment
from pipelines.lib.partners.decisions import decision_path

_TEMPLATES = templates.environment(autoescape=False)  # Markdown, as the data brief and the card
# A name or a sentence is data: a `|` or a line break would end its table cell or row.
_TEMPLATES.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


@dataclass(frozen=True)
class Written:
    """The files an assessment wrote, and whether the decision record was drafted now."""

    markdown: Path
    json: Path
    decision: Path
    drafted: bool


def assessment_folder(root: Path, dataset: str, source: str) -> Path:
    """reports/<dataset>/partners/<source>/ in the workspace."""
    return root / "reports" / dataset / "partners" / source


def render_assessment(assessment: PartnerAssessment) -> str:
    """The Markdown page (a str ending in a newline) of an assessment."""
    return _TEMPLATES.get_template("partner_assessment.md.j2").render(a=assessment)


def write_assessment(root: Path, assessed: Assessed) -> Written:
    """Write the assessment's Markdown and JSON (replacing an earlier assessment of the source),
    and its drafted decision record when the source has none. Raises OSError for a path that
    cannot be written."""
    a = assessed.assessment
    folder = assessment_folder(root, a.dataset, a.source)
    markdown, json = folder / "assessment.md", folder / "assessment.json"
    write_text(render_assessment(a), markdown)
    write_text(a.model_dump_json(indent=2) + "\n", json)
    record = decision_path(root, a.dataset, a.source)
    record.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Created exclusively: a record written meanwhile (or one a steward signed) stays as it is.
        with record.open("x", encoding="utf-8") as handle:
            handle.write(assessed.draft)
        drafted = True
    except FileExistsError:
        drafted = False
    return Written(markdown=markdown, json=json, decision=record, drafted=drafted)
