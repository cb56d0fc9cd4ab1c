"""Every third-party package the code imports is declared in pyproject.toml (dependencies or an
extra), so a clean install never runs on what another package happened to pull in."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata

from conftest import PROJECT

FOLDERS = ("pipelines", "tools", "benchmarks", "tests")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(requirement for extra in extras for requirement in extra)]
    return {_normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]) for requirement in requirements}


def imported_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, for every import that is neither the standard
    library, the project, nor a script beside the importing one."""
    found: dict[str, str] = {}
    for folder in FOLDERS:
        for path in sorted((PROJECT / folder).rglob("*.py")):
            beside = {p.stem for p in path.parent.glob("*.py")}
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "pipelines" and top not in beside:
                        found.setdefault(top, str(path.relative_to(PROJECT)))
    return found


def test_every_imported_package_is_declared():
    declared = declared_distributions()
    # Module name -> distribution names for what is installed; an extra not installed here
    # (`bench`) is matched by name.
    distributions = metadata.packages_distributions()
    undeclared = {
        module: where
        for module, where in imported_modules().items()
        if not any(_normalise(d) in declared for d in distributions.get(module, [module]))
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
