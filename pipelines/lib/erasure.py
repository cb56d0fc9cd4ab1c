"""Erasure requests meet immutable versions.

`record_request` appends to `privacy/erasure_log.jsonl` (in git): a request id, when, why, and
the user's pseudonym under each dataset key — never the user id itself. Every later build drops
those users (`eligible`), and every earlier version that holds one of them is *withdrawn*: its
data files are deleted from the workspace, the DVC cache and the DVC remote (objects that another
version shares are kept), its manifest and card stay as a tombstone, and `registry/<dataset>.json`
names the version that replaces it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib import killpoints, vcs
from pipelines.lib.accounting import record_deletion
from pipelines.lib.files import write_json, write_parquet
from pipelines.lib.pseudonymize import key_id, pseudonymize
from pipelines.lib.release import versions

ERASURE_LOG = Path("privacy") / "erasure_log.jsonl"
DATA_FILES = ("train.parquet", "validation.parquet", "test.parquet")


class ErasureError(RuntimeError):
    """An erasure request cannot be applied as recorded."""


class WithdrawnError(RuntimeError):
    """The requested version was withdrawn; the message names its replacement."""


@dataclass(frozen=True)
class Withdrawal:
    """One version withdrawn, and why."""

    version: int
    replaced_by: int
    requests: list[str]


def record_request(root: Path, user_id: str, keys: dict[str, bytes], reason: str) -> str:
    """Append an erasure request; returns its id. `keys` maps dataset name to its key."""
    request_id = "erasure-" + uuid.uuid4().hex[:12]
    pseudonyms = {key_id(key): pseudonymize(pd.Series([user_id], dtype="str"), key).iloc[0] for key in keys.values()}
    entry = {
        "request_id": request_id,
        "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "datasets": sorted(keys),
        "pseudonyms": pseudonyms,
    }
    path = root / ERASURE_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return request_id


def erased_pseudonyms(root: Path, key: bytes) -> dict[str, str]:
    """Pseudonym -> request id of every recorded request, under this key; {} without a log. Raises
    ErasureError, naming the log line, if a request was recorded under other keys only."""
    path = root / ERASURE_LOG
    if not path.is_file():
        return {}
    wanted, found = key_id(key), {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        if wanted not in entry["pseudonyms"]:
            raise ErasureError(
                f"{path}:{number}: request {entry['request_id']} was recorded under other keys "
                f"({sorted(entry['pseudonyms'])}), not the current key {wanted}. Record it again with "
                "`trainset forget USER_ID` so it can be applied."
            )
        found[entry["pseudonyms"][wanted]] = entry["request_id"]
    return found


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


def versions_to_withdraw(root: Path, dataset: str, erased: dict[str, str], latest: int) -> list[Withdrawal]:
    """Earlier versions (before `latest`), not yet withdrawn and with their data files, that hold
    any erased user; each with the ids of the requests it holds."""
    if not erased:
        return []
    releases, withdrawn = root / "datasets" / dataset, read_registry(root, dataset)["withdrawn"]
    found = []
    for version in versions(releases):
        folder = releases / f"v{version}"
        if version >= latest or str(version) in withdrawn or not (folder / DATA_FILES[0]).exists():
            continue
        users = pd.concat([pd.read_parquet(folder / name, columns=["user_id"]) for name in DATA_FILES])["user_id"]
        hits = sorted({erased[u] for u in users[users.isin(erased)].unique()})
        if hits:
            found.append(Withdrawal(version, latest, hits))
    return found


def withdraw(root: Path, dataset: str, withdrawals: list[Withdrawal]) -> list[str]:
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
    killpoints.reach("withdraw:marked")
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


def purge_stored_rows(root: Path, dataset: str, user_column: str, user_id: str, key: bytes) -> int:
    """Delete the user's rows from the dataset's stored zones (raw: by id; later zones: by
    pseudonym), so no copy waits for the next build. Returns rows deleted."""
    warehouse = root / "data" / "warehouse" / dataset
    pseudonym = pseudonymize(pd.Series([user_id], dtype="str"), key).iloc[0]
    deleted = 0
    for path in sorted(warehouse.glob("**/*.parquet")):
        is_raw = path.parent.name.startswith("raw_")
        frame = pd.read_parquet(path)
        if user_column not in frame.columns:
            continue  # e.g. quarantine records: locations only
        hit = frame[user_column] == (user_id if is_raw else pseudonym)
        if hit.any():
            write_parquet(frame.loc[~hit.to_numpy()], path)
            deleted += int(hit.sum())
            # Day zones (raw_*/, redacted/) keep stats per day; eligible and training_set one each.
            name = f"{path.parent.name}.{path.stem}" if path.parent != warehouse else path.stem
            record_deletion(warehouse / "stats" / f"{name}.json", "erasure_request", int(hit.sum()))
    return deleted
