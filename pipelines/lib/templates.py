"""The Jinja2 templates of trainset's reports: `pipelines/templates/*.j2`, installed as package data."""

from __future__ import annotations

from pathlib import Path

import jinja2

# By file, not by package: a workspace's own `pipelines/defs/` folder, first on sys.path when a
# command runs there, would otherwise be taken for the package and hold no templates.
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def environment(autoescape: bool) -> jinja2.Environment:
    """An environment over the package's templates. StrictUndefined: a field missing from what a
    template is given raises jinja2.UndefinedError instead of rendering blank. `autoescape` is
    for HTML output (every value from the data escaped)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
