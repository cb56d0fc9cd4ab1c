"""dvc.yaml, generated from the workspace's specs: one stage per declared dataset.

Each stage names what builds the dataset (its landed sources, annotations and opt-outs, the code,
its defs.yaml and GX suite), the policy part of its defs.yaml as DVC params, its gate metrics and
its coverage plot. So `dvc params diff` and `dvc metrics diff` between two release tags show,
per dataset, how the policy and the measured bars moved. `trainset dvc-stages` writes the file;
each release writes it too, so a dataset declared by YAML alone has its stage in the release
commit. The released bytes are owned by `datasets.dvc`, never by a stage.
"""

from __future__ import annotations

import itertools
from pathlib import Path, PurePosixPath

import yaml

from pipelines.lib.catalog import dataset_specs
from pipelines.lib.partners.decisions import decision_path
from pipelines.lib.spec import DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths

DVC_YAML = "dvc.yaml"
#: the blocks of a spec's `attributes:` that are policy: DVC params of the dataset's stage
POLICY_BLOCKS = ("privacy", "labels", "labeling", "languages", "freshness", "gates", "split")
HEADER = """\
# Generated from pipelines/defs/*/defs.yaml by `trainset dvc-stages` (and by every release):
# edit the specs, not this file. One stage per dataset: `dvc repro <name>` rebuilds it when its
# landed data, code, spec or suite change; `dvc params diff <name>@v1 <name>@v2` shows how its
# policy moved and `dvc metrics diff <name>@v1 <name>@v2` how its gates did. The released bytes
# are owned by datasets.dvc, not by a stage.
"""


def _source_dep(source: SourceSpec) -> str | None:
    """What DVC can watch of a source: its file or folder, a glob's fixed folder, a SQLite database
    file; nothing for a database server (its rows change outside the workspace)."""
    if source.kind in ("files", "partner"):
        assert source.path is not None
        parts = PurePosixPath(source.path).parts
        fixed = [part for part in itertools.takewhile(lambda part: not any(c in part for c in "*?["), parts)]
        return PurePosixPath(*fixed).as_posix() if fixed else "."
    if source.url is not None and source.url.startswith("sqlite:///") and not source.url.startswith("sqlite:////"):
        return source.url.removeprefix("sqlite:///").split("?")[0] or None
    return None


def stage(root: Path, spec: DatasetSpec, spec_file: Path) -> dict:
    """The dvc.yaml stage of one dataset, as a mapping; paths relative to the workspace `root`."""
    paths = DatasetPaths(root, spec.name)
    spec_path = spec_file.relative_to(root).as_posix()
    declared = (yaml.safe_load(spec_file.read_text()) or {}).get("attributes") or {}
    inputs = [dep for source in spec.sources if (dep := _source_dep(source)) is not None]
    inputs += [block.path for block in (spec.labels.annotations, spec.privacy.consent) if block is not None]
    # The labels a version is built from: the guideline, imported annotations, the steward's decisions.
    if spec.labeling is not None and spec.labeling.guideline:
        inputs.append(spec.labeling.guideline)
    if paths.labels_store.is_dir():
        inputs.append(paths.labels_store.relative_to(root).as_posix())
    # Which partner rows may be used: the steward's decision records.
    decisions = decision_path(root, spec.name, "-").parent
    if any(source.kind == "partner" for source in spec.sources) and decisions.is_dir():
        inputs.append(decisions.relative_to(root).as_posix())
    reports = paths.released_reports.relative_to(root).as_posix()
    return {
        "cmd": f".venv/bin/trainset run {spec.name} --workspace .",
        "deps": [
            *inputs,
            "pipelines/lib",
            "pipelines/components",
            spec_path,
            paths.suite.relative_to(root).as_posix(),
        ],
        # Only blocks the file declares: DVC refuses a params key that is missing from its file.
        "params": [{spec_path: [f"attributes.{block}" for block in POLICY_BLOCKS if block in declared]}],
        # persist: a run that releases nothing leaves the latest release's metrics where they are.
        "metrics": [{f"{reports}/gates.json": {"cache": False, "persist": True}}],
        "plots": [
            {
                f"{reports}/coverage.csv": {
                    "cache": False,
                    "persist": True,
                    "template": "bar_horizontal",
                    "x": "n",
                    "y": spec.labels.column,
                }
            }
        ],
    }


def render_stages(root: Path) -> str:
    """The text of dvc.yaml for every dataset the workspace declares (sorted by name)."""
    stages = {name: stage(root, spec, path) for name, (spec, path) in sorted(dataset_specs(root).items())}
    return HEADER + yaml.safe_dump({"stages": stages}, sort_keys=False, width=120)


def write_stages(root: Path) -> bool:
    """Write dvc.yaml from the workspace's specs; returns whether its text changed."""
    path = root / DVC_YAML
    text = render_stages(root)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
