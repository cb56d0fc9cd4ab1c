"""Workspace locks: one run, and one release, of a dataset at a time.

An flock on `data/locks/<name>.lock`: the kernel releases it when the holder dies, even by
SIGKILL, so a crash never leaves a stale lock behind. A second taker is refused at once with a
message naming the holder, rather than queueing silently behind it.
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
def exclusive(root: Path, name: str, activity: str) -> Iterator[None]:
    """Hold the workspace lock `name` for the duration of `activity` (e.g. "release of x")."""
    path = root / "data" / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockedError(
                f"another {activity} is in progress in {root} ({holder}); wait for it to finish, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
