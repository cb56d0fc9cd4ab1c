"""The TrainingDataset component type: one `defs.yaml` becomes one dataset's asset group."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import BaseModel

from pipelines.components.assets import build_dataset_defs
from pipelines.lib.spec import DatasetSpec


class TrainingDataset(dg.Component):
    """A privacy-safe, quality-gated, versioned training dataset declared in YAML.

    The attributes are `pipelines.lib.spec.DatasetSpec`: sources, privacy, labels, gates, split
    and schedule, each field described there so `dg check defs` validates the YAML.
    """

    def __init__(self, spec: DatasetSpec, spec_file: Path):
        self.spec = spec
        self.spec_file = spec_file

    @classmethod
    def get_model_cls(cls) -> type[BaseModel]:
        return DatasetSpec

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> TrainingDataset:
        if attributes is None:
            raise ValueError(f"{context.path}/defs.yaml: a TrainingDataset needs `attributes:`")
        spec = (
            attributes if isinstance(attributes, DatasetSpec) else DatasetSpec.model_validate(attributes.model_dump())
        )
        return cls(spec, Path(context.path) / "defs.yaml")

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_dataset_defs(self.spec, self.spec_file)
