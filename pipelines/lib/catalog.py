"""Finding the declared datasets: every `defs.yaml` of type TrainingDataset under a workspace's
`pipelines/defs/`.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import default_workspace, defs_folder

COMPONENT_TYPE = "pipelines.components.TrainingDataset"


class SpecError(ValueError):
    """A dataset spec is missing or invalid; the message names the file and the field."""


def _document(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: expected a mapping with `type:` and `attributes:`")
    return document


def load_spec_file(path: Path) -> DatasetSpec:
    """Parse and validate one defs.yaml.

    Returns the spec. Raises SpecError naming the file, the field and the problem."""
    document = _document(path)
    try:
        spec = DatasetSpec.model_validate(document.get("attributes") or {})
    except ValidationError as error:
        problems = "; ".join(f"attributes.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise SpecError(f"{path}: {problems}") from None
    return spec


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


def _where(root: Path | None) -> str:
    return str(defs_folder(Path(root or default_workspace())))
