"""trainset: declarative, privacy-safe, quality-gated, versioned training datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas takes 2 s to import: not for every `trainset` command
    import pandas as pd


def load(dataset: str, version: int | None = None, workspace: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Load a released version's train/validation/test splits, hash-verified (default: latest);
    the pull is entered in the workspace's audit log."""
    from pipelines.lib.audit.events import record_pull
    from pipelines.lib.release.consume import load_version
    from pipelines.lib.release.versions import versions
    from pipelines.lib.workspace import default_workspace

    root = Path(workspace or default_workspace())
    splits = load_version(root, dataset, version)
    chosen = version if version is not None else versions(root / "datasets" / dataset)[-1]
    record_pull(root, dataset, chosen, [f"{split}.parquet" for split in splits], via="pipelines.load")
    return splits
