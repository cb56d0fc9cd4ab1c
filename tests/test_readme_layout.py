"""The README's Layout section leads from every key of `defs.yaml` to the code that acts on it."""

from __future__ import annotations

import re

from conftest import PROJECT
from pydantic import BaseModel

from pipelines.lib.spec import DatasetSpec, SourceSpec


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of the spec, dotted, one level into nested blocks (`privacy.consent`)."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        nested = [a for a in getattr(field.annotation, "__args__", (field.annotation,)) if isinstance(a, type)]
        for kind in nested:
            if issubclass(kind, BaseModel) and kind is not SourceSpec and not prefix and name != "gates":
                keys += [f"{name}.{sub}" for sub in kind.model_fields]
    return keys


def test_every_defs_yaml_key_has_a_row_leading_to_its_code():
    readme = (PROJECT / "README.md").read_text()
    table = readme.split("### From a `defs.yaml` key to its code", 1)[1].split("\n\n", 3)[2]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    named = set()
    for row in rows:
        cell = row.split("|")[1]
        parent = ""
        for key in re.findall(r"`([^`]+)`", cell):
            # `columns.id`, `.user` -> columns.user; `sources[]` (`name`, ...) -> sources.name
            if key.startswith("."):
                key = parent + key
            parent = key.split(".")[0] if "." in key else parent
            named.add(key.replace("[]", ""))
        if "sources[]" in cell:
            named |= {f"sources.{k}" for k in re.findall(r"`(\w+)`", cell.split("(", 1)[-1])}
        # every named place exists: `lib/x.py` `function`
        for path in re.findall(r"`((?:lib|components|templates)/[\w/.]+|runner\.py)`", row.split("|")[2]):
            assert (PROJECT / "pipelines" / path).is_file(), f"{path} in the README's key table does not exist"
    expected = set(_keys(DatasetSpec)) | {f"sources.{k}" for k in SourceSpec.model_fields}
    expected |= {"type", "requirements.env"}
    # A block's own key is covered by its keys' rows; a block named whole (`split`) covers its keys,
    # except the blocks whose keys lead to different places (each of those needs its own row).
    by_key = {"columns", "privacy", "labels", "sources"}

    def covered(key: str) -> bool:
        block = key.split(".")[0]
        return key in named or any(n.startswith(key + ".") for n in named) or (block in named and block not in by_key)

    missing = sorted(k for k in expected if not covered(k))
    assert not missing, f"defs.yaml keys without a row in the README's key table: {missing}"
