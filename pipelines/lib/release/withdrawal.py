"""Withdrawing released versions that hold erased users or records a partner asked to delete,
and naming what replaces them.

Every earlier version that holds a user with an erasure request (`privacy.erasure`), or a row of
a partner source whose delete lists name it (`partners.deletions`), is *withdrawn*: its data
files are deleted from the workspace, the DVC cache and the DVC remote (objects that another
version shares are kept), its manifest and card stay as a tombstone saying why, and
`registry/<dataset>.json` names the reason and the version that replaces it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.files import write_json
from pipelines.lib.partners.deletions import PARTNER_DELETION, DeleteLists, as_stored
from pipelines.lib.release import vcs
from pipelines.lib.release.killpoints import NEVER, KillSwitch
from pipelines.lib.release.versions import versions
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec

DATA_FILES = ("train.parquet", "validation.parquet", "test.parquet")
#: the reason code of a version withdrawn because it holds an erased user
ERASURE = "erasure"
#: what a tombstone says a version held, per reason
HELD = {ERASURE: "users who asked to be erased", PARTNER_DELETION: "records a partner asked to delete"}


class WithdrawnError(RuntimeError):
    """The requested version was withdrawn; the message names its replacement."""


@dataclass(frozen=True)
class Withdrawal:
    """One version withdrawn, and why: `reason` is `erasure` (`requests`: erasure request ids) or
    `partner_deletion_request` (`requests`: `<source>:<list path>` of the lists naming its rows)."""

    version: int
    replaced_by: int
    requests: list[str]
    reason: str = ERASURE


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
    found = []
    for version, folder in _withdrawable(root, dataset, latest):
        users = pd.concat([pd.read_parquet(folder / name, columns=[user_column]) for name in DATA_FILES])[user_column]
        hits = sorted({erased[u] for u in users[users.isin(erased)].unique()})
        if hits:
            found.append(Withdrawal(version, latest, hits))
    return found


def versions_holding_partner_rows(
    root: Path, dataset: str, spec: DatasetSpec, lists: dict[str, DeleteLists], latest: int, key: bytes
) -> list[Withdrawal]:
    """Earlier versions (before `latest`), not yet withdrawn and with their data files, that hold a
    row a partner asked to delete: `SOURCE_COLUMN` is the source and the id is on its list (`lists`
    by source name), as released: with the source's `id_prefix`, as its pseudonym when the id
    column is pseudonymised. A version released before rows named their source is matched by id
    alone. Each names the lists its rows are on."""
    wanted = {name: listed for name, listed in lists.items() if len(listed.ids)}
    if not wanted:
        return []
    sources = {s.name: s for s in spec.sources}
    # each source's listed ids as released -> the list first naming them
    stored = {
        name: pd.Series(listed.listed_in.to_numpy(), index=as_stored(listed.ids, spec, sources[name], key).to_numpy())
        for name, listed in wanted.items()
    }
    found = []
    for version, folder in _withdrawable(root, dataset, latest):
        names = pq.read_schema(folder / DATA_FILES[0]).names
        if spec.id_column not in names:
            continue
        columns = [spec.id_column, *([SOURCE_COLUMN] if SOURCE_COLUMN in names else [])]
        rows = pd.concat([pd.read_parquet(folder / name, columns=columns) for name in DATA_FILES])
        ids = rows[spec.id_column].astype("str")
        hits = set()
        for name, listed_in in stored.items():
            on_list = ids.isin(listed_in.index)
            if SOURCE_COLUMN in rows.columns:
                on_list &= rows[SOURCE_COLUMN] == name
            hits |= {f"{name}:{path}" for path in ids[on_list].map(listed_in).unique()}
        if hits:
            found.append(Withdrawal(version, latest, sorted(hits), PARTNER_DELETION))
    return found


def _withdrawable(root: Path, dataset: str, latest: int) -> list[tuple[int, Path]]:
    """(version, folder) of the versions before `latest` not yet withdrawn that hold their data files."""
    releases, withdrawn = root / "datasets" / dataset, read_registry(root, dataset)["withdrawn"]
    return [
        (version, releases / f"v{version}")
        for version in versions(releases)
        if version < latest and str(version) not in withdrawn and (releases / f"v{version}" / DATA_FILES[0]).exists()
    ]


def withdraw(root: Path, dataset: str, withdrawals: list[Withdrawal], kill: KillSwitch = NEVER) -> list[str]:
    """Withdraw versions: record them in the registry (reason, requests, replacement) with the DVC
    object ids (md5s) of their data files, then delete those files and leave a tombstone saying
    why. A version named for several reasons (an erased user and a partner's list) is withdrawn
    once, its entry naming both (`reason`: the codes joined by `, `).

    The registry is written first, so a crash at any point leaves a record from which the next
    release finishes the job: every withdrawn version's files are deleted again (if still there)
    and the md5s of every withdrawn version are returned, for `purge_objects`.
    """
    registry = read_registry(root, dataset)
    by_version: dict[int, list[Withdrawal]] = {}
    for item in withdrawals:
        by_version.setdefault(item.version, []).append(item)
    for version, items in by_version.items():
        folder = root / "datasets" / dataset / f"v{version}"
        registry["withdrawn"][str(version)] = {
            "withdrawn_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": ", ".join(dict.fromkeys(item.reason for item in items)),
            "requests": [request for item in items for request in item.requests],
            "replaced_by": items[0].replaced_by,
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
            held = " and ".join(HELD.get(reason, reason) for reason in entry["reason"].split(", "))
            tombstone.write_text(
                f"# {dataset} v{version} is withdrawn\n\nIts data held {held} ({entry['reason']}: "
                f"{', '.join(entry['requests'])}). Use {dataset}@v{entry['replaced_by']}. The manifest and card "
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
