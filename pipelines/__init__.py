"""trainset: declarative, privacy-safe, quality-gated, versioned training datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas takes 2 s to import: not for every `trainset` command
    import pandas as pd


def load(dataset: str, version: int | None = None, workspace: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Load a released version's train/validation/test splits, hash-verified (default: latest)."""
    from pipelines.lib.release.consume import load_version
    from pipelines.lib.workspace import default_workspace

    return load_version(Path(workspace or default_workspace()), dataset, version)
