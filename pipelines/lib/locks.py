"""Workspace locks: one run, and one release, of a dataset at a time.

An flock on `data/locks/<name>.lock`: the kernel releases it when the holder dies, even by
SIGKILL, so a crash never leaves a stale lock behind. A second taker is refused at once with a
message naming the holder, rather than queueing silently behind it. The steps of a distributed
run each hold the lock shared (Dagster's pools keep them apart from one another), so that they
exclude an in-process run of the same dataset, and it them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path


class LockedError(RuntimeError):
    """Another process holds the lock."""


@contextlib.contextmanager
def exclusive(root: Path, name: str, activity: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the workspace lock `name` for the duration of `activity` (e.g. "release of x"); with
    `shared`, beside other shared holders only. Raises LockedError naming the holder."""
    path = root / "data" / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockedError(
                f"another {activity} is in progress in {root} ({holder}); wait for it to finish, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"{'a step of a distributed run, ' if shared else ''}pid {os.getpid()} since {since}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
