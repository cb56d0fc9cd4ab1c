"""Finding the declared datasets: every `defs.yaml` of type TrainingDataset under a workspace's
`pipelines/defs/`, with the environment variables each one declares it needs.

A `defs.yaml` names the variables its dataset needs the way Dagster components do:

    type: pipelines.components.TrainingDataset
    requirements:
      env: [TRAINSET_PSEUDONYM_KEY]
    attributes: {...}

`check_environment` is called when the Definitions are assembled, so a missing secret fails the
load with the file and the variable named, not a run half-way through. A variable `NAME` is set
when `NAME` is, or when `NAME_FILE` names a file holding the value (the convention of Docker
secrets, which the pseudonymisation key follows).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from pipelines.lib.errors import describe_validation
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import default_workspace, defs_folder

COMPONENT_TYPE = "pipelines.components.TrainingDataset"
FILE_SUFFIX = "_FILE"


class SpecError(ValueError):
    """A dataset spec is missing or invalid; the message names the file and the field."""


class MissingEnvironmentError(SpecError):
    """A variable a dataset declares under `requirements.env` is not set."""


def _document(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}{_yaml_place(error)}: not valid YAML: {_yaml_problem(error)}; fix the file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot be read ({error}); a spec is a UTF-8 YAML file") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: expected a mapping with `type:` and `attributes:`")
    return document


def load_spec_file(path: Path) -> DatasetSpec:
    """Parse and validate one defs.yaml.

    Returns the spec. Raises SpecError naming the file, the field and the problem, also when the
    variable holding the pseudonymisation key (`privacy.key_env`) is not under `requirements.env`."""
    document = _document(path)
    attributes = document.get("attributes") or {}
    try:
        spec = DatasetSpec.model_validate(attributes)
    except ValidationError as error:
        raise SpecError(f"{path}: {describe_validation(error, 'attributes')}") from None
    if spec.columns.timestamp is None and isinstance(attributes, dict) and "freshness" in attributes:
        # The model cannot tell a declared block from its defaults: the YAML can.
        raise SpecError(
            f"{path}: attributes.freshness needs columns.timestamp, which is declared absent (null); "
            "remove `freshness:` or declare the timestamp column"
        )
    required = required_env(path, document)
    if spec.privacy.key_env not in required:
        raise SpecError(
            f"{path}: attributes.privacy.key_env {spec.privacy.key_env} is not declared under requirements.env "
            f"(declared: {required or 'none'}); add `requirements: {{env: [{spec.privacy.key_env}]}}` beside `type:`"
        )
    return spec


def _yaml_place(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    # PyYAML's own text spans several lines and quotes "<unicode string>"; its problem is the cause.
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    return f"{problem} ({context})" if problem and context else str(problem or error).splitlines()[0]


def required_env(path: Path, document: dict | None = None) -> list[str]:
    """The variables a defs.yaml declares under `requirements.env` (empty if none).

    Raises SpecError if `requirements` is not a mapping whose `env` is a list of names."""
    document = _document(path) if document is None else document
    requirements = document.get("requirements") or {}
    names = requirements.get("env", []) if isinstance(requirements, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise SpecError(f"{path}: requirements: expected `env: [VARIABLE, ...]`, got {requirements!r}")
    return names


def dataset_specs(root: Path | None = None) -> dict[str, tuple[DatasetSpec, Path]]:
    """All datasets declared in a workspace (default: `default_workspace()`), by name, with the
    file that declares each. Raises SpecError for an invalid file or a name declared twice."""
    folder = defs_folder(Path(root or default_workspace()))
    found: dict[str, tuple[DatasetSpec, Path]] = {}
    for path in sorted(folder.glob("**/defs.yaml")):
        if _document(path).get("type") != COMPONENT_TYPE:
            continue
        spec = load_spec_file(path)
        if spec.name in found:
            raise SpecError(f"{path}: dataset {spec.name!r} is declared already in {found[spec.name][1]}")
        found[spec.name] = (spec, path)
    return found


def get_spec(name: str, root: Path | None = None) -> tuple[DatasetSpec, Path]:
    """One dataset's spec and file by name; SpecError listing the declared names if it is not one."""
    specs = dataset_specs(root)
    if name not in specs:
        raise SpecError(f"no dataset named {name!r} in {_where(root)}; declared: {sorted(specs) or 'none'}")
    return specs[name]


def choose_dataset(name: str | None, root: Path | None = None) -> tuple[DatasetSpec, Path]:
    """The dataset a command names; when it names none, the one dataset the workspace declares.

    Raises SpecError listing the declared datasets when none is named and there are several (or
    none), or when the name is not declared."""
    if name is not None:
        return get_spec(name, root)
    specs = dataset_specs(root)
    if len(specs) == 1:
        return next(iter(specs.values()))
    raise SpecError(
        f"name a dataset: {_where(root)} declares {len(specs)} ({', '.join(sorted(specs)) or 'none'}), "
        "so there is none to choose by default"
    )


def check_environment(spec_files: Iterable[Path], environ: dict[str, str] | None = None) -> None:
    """Check that every variable each defs.yaml declares under `requirements.env` is set.

    Raises MissingEnvironmentError naming each file and variable and how to set it."""
    environ = dict(os.environ) if environ is None else environ
    problems = []
    for path in spec_files:
        missing = [n for n in required_env(path) if not environ.get(n) and not environ.get(n + FILE_SUFFIX)]
        problems += [f"{path}: requirements.env names {name}, which is not set" for name in missing]
    if problems:
        raise MissingEnvironmentError(
            "; ".join(problems) + ". Set each variable (or NAME_FILE to a file holding its value) in the environment "
            "of `trainset run` or `dg dev`; the pseudonymisation key comes from `trainset keygen`, e.g. "
            "export TRAINSET_PSEUDONYM_KEY_FILE=~/.config/trainset/pseudonym.key"
        )


def _where(root: Path | None) -> str:
    return str(defs_folder(Path(root or default_workspace())))
