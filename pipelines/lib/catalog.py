"""Finding the declared datasets: every `defs.yaml` of type TrainingDataset under a defs folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipelines.lib.spec import DatasetSpec

COMPONENT_TYPE = "pipelines.components.TrainingDataset"
DEFS_ROOT = Path(__file__).resolve().parents[1] / "defs"


class SpecError(ValueError):
    """A dataset spec is missing or invalid; the message names the file and the field."""


def load_spec_file(path: Path) -> DatasetSpec:
    """Parse and validate one defs.yaml; errors name the file, the field and the problem."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}") from None
    try:
        return DatasetSpec.model_validate(document.get("attributes") or {})
    except ValidationError as error:
        problems = "; ".join(f"attributes.{'.'.join(str(p) for p in e['loc'])}: {_message(e)}" for e in error.errors())
        raise SpecError(f"{path}: {problems}") from None


def _message(error: Any) -> str:
    # A validator's own message already says what is wrong and where; drop pydantic's prefix.
    return str(error["ctx"]["error"]) if error["type"] == "value_error" and "ctx" in error else error["msg"]


def dataset_specs(defs_root: Path = DEFS_ROOT) -> dict[str, tuple[DatasetSpec, Path]]:
    """All declared datasets by name, with the file that declares each."""
    found: dict[str, tuple[DatasetSpec, Path]] = {}
    for path in sorted(defs_root.glob("**/defs.yaml")):
        document = yaml.safe_load(path.read_text()) or {}
        if document.get("type") != COMPONENT_TYPE:
            continue
        spec = load_spec_file(path)
        found[spec.name] = (spec, path)
    return found


def get_spec(name: str, defs_root: Path = DEFS_ROOT) -> tuple[DatasetSpec, Path]:
    """One dataset's spec by name, or a SpecError listing the names that exist."""
    specs = dataset_specs(defs_root)
    if name not in specs:
        raise SpecError(f"no dataset named {name!r} under {defs_root}; declared: {sorted(specs) or 'none'}")
    return specs[name]
