"""Consuming releases: fetch an exact version through DVC, verify it, load it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from pipelines.lib.errors import BAD_DATA
from pipelines.lib.hashing import file_sha256
from pipelines.lib.release import vcs
from pipelines.lib.release.versions import MANIFEST, ManifestError, read_manifest, release_tag, versions
from pipelines.lib.release.withdrawal import check_not_withdrawn

REF = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*)@v(?P<version>\d+)$")


class IntegrityError(RuntimeError):
    """A fetched file does not match the hash its manifest records."""

    exit_code = BAD_DATA


def parse_ref(ref: str) -> tuple[str, int]:
    """`ticket_triage@v3` -> ("ticket_triage", 3)."""
    match = REF.match(ref)
    if not match:
        raise ValueError(f"{ref!r} is not a dataset version; write it as NAME@vN, e.g. ticket_triage@v1")
    return match["dataset"], int(match["version"])


def fetch_version(root: Path, dataset: str, version: int, out: Path) -> list[str]:
    """Copy a version into `out` through DVC (by its git tag where there is one), then verify it."""
    check_not_withdrawn(root, dataset, version)
    if out.exists():
        raise FileExistsError(f"{out} exists; pull into a new folder so nothing is mixed or overwritten")
    path = f"datasets/{dataset}/v{version}"
    tag = release_tag(dataset, version)
    if vcs.is_git_repo(root) and vcs.tag_exists(root, tag):
        vcs.dvc(root, "get", str(root), path, "--rev", tag, "-o", str(out), what=f"fetching {tag} with dvc get")
    elif (root / path / MANIFEST).is_file():
        shutil.copytree(root / path, out)
    else:
        known = ", ".join(f"v{v}" for v in versions(root / "datasets" / dataset)) or "none"
        raise FileNotFoundError(f"{dataset}@v{version} is not released in {root} (versions: {known})")
    return verify_version(out)


def verify_version(folder: Path) -> list[str]:
    """Check every file the manifest lists against its sha256; return the names verified. Raises
    IntegrityError naming the file that is missing or differs, or the manifest if it is damaged."""
    try:
        manifest = read_manifest(folder)
    except (ManifestError, FileNotFoundError) as error:
        raise IntegrityError(f"{error}; nothing in {folder} can be trusted") from None
    for name, meta in sorted(manifest.files.items()):
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"{folder}: {name} is listed in manifest.json but missing")
        actual = file_sha256(path)
        if actual != meta.sha256:
            raise IntegrityError(f"{folder}: {name} has sha256 {actual}, manifest.json says {meta.sha256}")
    return sorted(manifest.files)


def load_version(root: Path, dataset: str, version: int | None = None) -> dict[str, pd.DataFrame]:
    """The splits of a released version as DataFrames, verified first (default: the latest)."""
    releases = root / "datasets" / dataset
    available = versions(releases)
    if not available:
        raise FileNotFoundError(f"{dataset} has no released versions in {root}")
    chosen = available[-1] if version is None else version
    check_not_withdrawn(root, dataset, chosen)
    folder = releases / f"v{chosen}"
    if not folder.is_dir():
        vcs.dvc(root, "pull", "-q", "datasets.dvc", what=f"pulling {dataset} versions from the DVC remote")
    verify_version(folder)
    return {split: pd.read_parquet(folder / f"{split}.parquet") for split in ("train", "validation", "test")}
