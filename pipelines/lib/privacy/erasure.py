"""Erasure requests: recorded once, applied to every later build and to what is stored.

`record_request` appends to `privacy/erasure_log.jsonl` (in git): a request id, when, why, and
the user's pseudonym under each dataset key — never the user id itself. Every later build drops
those users (`eligible`), `purge_stored_rows` deletes their rows from the stored zones, and every
earlier version that holds one of them is withdrawn (`release.withdrawal`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.lib.feedback.ingest import purge_feedback_tickets
from pipelines.lib.files import write_parquet
from pipelines.lib.privacy.pseudonymize import key_id, pseudonymize
from pipelines.lib.report_files import record_deletion
from pipelines.lib.workspace import DatasetPaths

ERASURE_LOG = Path("privacy") / "erasure_log.jsonl"


class ErasureError(RuntimeError):
    """An erasure request cannot be applied as recorded."""


def record_request(root: Path, user: str, keys: dict[str, bytes], reason: str) -> str:
    """Append an erasure request for the raw user id `user`; returns its id. `keys` maps dataset
    name to its key."""
    request_id = "erasure-" + uuid.uuid4().hex[:12]
    pseudonyms = {key_id(key): pseudonymize(pd.Series([user], dtype="str"), key).iloc[0] for key in keys.values()}
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
    """Pseudonym -> request id of every recorded request, under this key."""
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
                "`trainset forget USER` so it can be applied."
            )
        found[entry["pseudonyms"][wanted]] = entry["request_id"]
    return found


def purge_stored_rows(
    root: Path, dataset: str, user_column: str, user: str, key: bytes, id_column: str | None = None
) -> int:
    """Delete the user's rows from the dataset's stored zones (raw: by id; later zones: by
    pseudonym), so no copy waits for the next build; with `id_column`, the ingested feedback
    events about the user's tickets too. Returns rows deleted (feedback events not counted:
    `purged_tickets` lists the tickets, as the exports write their ids)."""
    deleted, _ = purge_user(root, dataset, user_column, user, key, id_column)
    return deleted


def purge_user(
    root: Path, dataset: str, user_column: str, user: str, key: bytes, id_column: str | None = None
) -> tuple[int, set[str]]:
    """`purge_stored_rows`, also returning the ids of the user's tickets found in the raw zone
    (as the exports write them), for the stores that hold events about them."""
    paths = DatasetPaths(root, dataset)
    warehouse = paths.warehouse
    pseudonym = pseudonymize(pd.Series([user], dtype="str"), key).iloc[0]
    deleted, tickets, stored_ids = 0, set[str](), set[str]()
    for path in sorted(warehouse.glob("**/*.parquet")):
        # Landed days and the raw zone hold the user's id as written; later zones its pseudonym.
        is_raw = path.parent.name.startswith(("raw_", "landed_"))
        frame = pd.read_parquet(path)
        if user_column not in frame.columns:
            continue  # e.g. quarantine records: locations only
        hit = frame[user_column] == (user if is_raw else pseudonym)
        if hit.any() and id_column in frame.columns:
            (tickets if is_raw else stored_ids).update(frame.loc[hit.to_numpy(), id_column].astype("str"))
        if hit.any():
            write_parquet(frame.loc[~hit.to_numpy()], path)
            deleted += int(hit.sum())
            # Day zones (raw_*/, redacted/) keep a report per day; eligible and training_set one each.
            zone, day = (path.parent.name, path.stem) if path.parent != warehouse else (path.stem, None)
            record_deletion(paths, zone, day, "erasure_request", int(hit.sum()))
    if stored_ids:
        purge_feedback_tickets(paths, stored_ids)
    return deleted, tickets
