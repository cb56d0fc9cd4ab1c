"""Withdrawing released versions that hold erased users, and naming what replaces them.

Every earlier version that holds a user with an erasure request (`privacy.erasure`) is
*withdrawn*: its data files are deleted from the workspace, the DVC cache and the DVC remote
(objects that another version shares are kept), its manifest and card stay as a tombstone, and
`registry/<dataset>.json` names the version that replaces it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib.files import write_json
from pipelines.lib.release import vcs
from pipelines.lib.release.killpoints import NEVER, KillSwitch
from pipelines.lib.release.versions import versions

DATA_FILES = ("train.parquet", "validation.parquet", "test.parquet")


class WithdrawnError(RuntimeError):
    """The requested version was withdrawn; the message names its replacement."""


@dataclass(frozen=True)
class Withdrawal:
    """One version withdrawn, and why."""

    version: int
    replaced_by: int
    requests: list[str]


def registry_path(root: Path, dataset: str) -> Path:
    """`registry/<dataset>.json` under the workspace root: the dataset's withdrawn versions."""
    return root / "registry" / f"{dataset}.json"


def read_registry(root: Path, dataset: str) -> dict:
    """The dataset's registry: `{"withdrawn": {version (str): entry}}`, empty if none was written."""
    path = registry_path(root, dataset)
    return json.loads(path.read_text()) if path.is_file() else {"withdrawn": {}}


def check_not_withdrawn(root: Path, dataset: str, version: int) -> None:
    """Raise WithdrawnError naming the replacement if the version was withdrawn."""
    entry = read_registry(root, dataset)["withdrawn"].get(str(version))
    if entry:
        raise WithdrawnError(
            f"{dataset}@v{version} was withdrawn on {entry['withdrawn_at']} ({entry['reason']}: "
            f"{len(entry['requests'])} request(s)); use {dataset}@v{entry['replaced_by']} instead"
        )


def versions_to_withdraw(
    root: Path, dataset: str, user_column: str | None, erased: dict[str, str], latest: int
) -> list[Withdrawal]:
    """Earlier versions (before `latest`), not yet withdrawn and with their data files, that hold
    any erased user in `user_column`; each with the ids of the requests it holds. [] for a
    dataset with no user column."""
    if not erased or user_column is None:
        return []
    releases, withdrawn = root / "datasets" / dataset, read_registry(root, dataset)["withdrawn"]
    found = []
    for version in versions(releases):
        folder = releases / f"v{version}"
        if version >= latest or str(version) in withdrawn or not (folder / DATA_FILES[0]).exists():
            continue
        users = pd.concat([pd.read_parquet(folder / name, columns=[user_column]) for name in DATA_FILES])[user_column]
        hits = sorted({erased[u] for u in users[users.isin(erased)].unique()})
        if hits:
            found.append(Withdrawal(version, latest, hits))
    return found


def withdraw(root: Path, dataset: str, withdrawals: list[Withdrawal], kill: KillSwitch = NEVER) -> list[str]:
    """Withdraw versions: record them in the registry with the DVC object ids (md5s) of their
    data files, then delete those files and leave a tombstone.

    The registry is written first, so a crash at any point leaves a record from which the next
    release finishes the job: every withdrawn version's files are deleted again (if still there)
    and the md5s of every withdrawn version are returned, for `purge_objects`.
    """
    registry = read_registry(root, dataset)
    for item in withdrawals:
        folder = root / "datasets" / dataset / f"v{item.version}"
        registry["withdrawn"][str(item.version)] = {
            "withdrawn_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": "erasure",
            "requests": item.requests,
            "replaced_by": item.replaced_by,
            "objects": [_md5(folder / name) for name in DATA_FILES if (folder / name).exists()],
        }
    if withdrawals:
        write_json(registry, registry_path(root, dataset))
    kill.reach("withdraw:marked")
    objects = []
    for version, entry in sorted(registry["withdrawn"].items()):
        folder = root / "datasets" / dataset / f"v{version}"
        for name in DATA_FILES:
            (folder / name).unlink(missing_ok=True)
        tombstone = folder / "WITHDRAWN.md"
        if folder.is_dir() and not tombstone.exists():
            tombstone.write_text(
                f"# {dataset} v{version} is withdrawn\n\nIts data held users who asked to be erased "
                f"({', '.join(entry['requests'])}). Use {dataset}@v{entry['replaced_by']}. The manifest and card "
                "stay as a record; the data files were deleted from the workspace, the DVC cache and the remote.\n"
            )
        objects += entry.get("objects", [])
    return objects


def _md5(path: Path) -> str:
    """DVC's object id of a file: the md5 of its bytes (read in blocks), in hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def purge_objects(root: Path, md5s: list[str]) -> int:
    """Delete DVC objects from the cache and the default remote, whatever its kind, unless a file
    still in the workspace has the same content (another version shares the object). Returns how
    many objects were deleted. Raises VcsError, with DVC's output, if the cache or remote refuses."""
    remaining = {_md5(p) for p in (root / "datasets").rglob("*.parquet")}
    return vcs.delete_dvc_objects(root, sorted(set(md5s) - remaining))
