"""The Jinja2 templates of trainset's reports: `pipelines/templates/*.j2`, installed as package data."""

from __future__ import annotations

import jinja2


def environment(autoescape: bool) -> jinja2.Environment:
    """An environment over the package's templates. StrictUndefined: a field missing from what a
    template is given raises jinja2.UndefinedError instead of rendering blank. `autoescape` is
    for HTML output (every value from the data escaped)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
