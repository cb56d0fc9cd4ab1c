"""The one-page data brief of a drafted dataset (`reports/<name>/data_brief.md`): outcome, labels,
sources, coverage against the drafted bars, privacy risks, and what could not apply.

The brief is the Jinja2 template `pipelines/templates/data_brief.md.j2`; this module hands it the
profile and the draft. Nothing in it is a value of a text, id or dropped column: counts, column
names, and the categories the spec declares by value (classes, languages, segment values).
"""

from __future__ import annotations

from datetime import date

from pipelines.lib import templates
from pipelines.lib.drafting.bars import Draft
from pipelines.lib.ingest.profile import ExportProfile

_TEMPLATES = templates.environment(autoescape=False)  # Markdown: see release/card.py
# A class or segment value is data: a `|` or a line break would end its table cell or row.
_TEMPLATES.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def render_brief(draft: Draft, profile: ExportProfile, drafted_on: date) -> str:
    """The Markdown brief (a str ending in a newline) of a draft and the profile it came from."""
    total = sum(profile.classes.values()) or 1
    classes = [(name, n, n / total) for name, n in profile.classes.items()]
    return _TEMPLATES.get_template("data_brief.md.j2").render(
        spec=draft.spec,
        draft=draft,
        profile=profile,
        classes=classes,
        drafted_on=drafted_on,
        seed_severity={r.name: r.severity for r in draft.measured},
        limits=draft.spec.limits(),
        dropped=[c for c in profile.columns if c.role == "drop"],
        with_pii=[c for c in profile.columns if c.pii],
    )
