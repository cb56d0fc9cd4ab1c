"""Appending to, reading and committing the workspace's audit log.

`audit/log.jsonl` holds the entries up to the last release and is committed with it; the entries
since (runs that released nothing, pulls, erasure requests ...) wait in `audit/pending.jsonl`
(git-ignored), which the next release appends to the log. Read one after the other they are one
chain. Every writer takes an flock on `data/locks/audit.lock` around reading the last entry and
appending its own, so concurrent processes never interleave lines or fork the chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import getpass
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from pipelines.lib.audit.entries import GENESIS, Actor, AuditEntry, EventBase, entry_hash, new_entry, text_sha256

AUDIT_LOG = Path("audit") / "log.jsonl"
PENDING_LOG = Path("audit") / "pending.jsonl"


@dataclass(frozen=True)
class Line:
    """One line of the log as read: where it is, its text, and its entry if it parses as one."""

    file: Path
    number: int
    text: str
    entry: AuditEntry | None
    fields: dict | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


@functools.cache
def _identity(root: Path) -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        user = f"uid {os.getuid()}"
    # As git itself does for a commit: the author named in the environment, else the configured identity.
    return Actor(
        os_user=user,
        git_name=os.environ.get("GIT_AUTHOR_NAME") or _git_config(root, "user.name"),
        git_email=os.environ.get("GIT_AUTHOR_EMAIL") or _git_config(root, "user.email"),
        host=socket.gethostname(),
    )


def who(root: Path) -> Actor:
    """The operator: OS user, the workspace's git identity (may be absent), host. Read once per
    process and workspace."""
    return _identity(root.resolve())


def _git_config(root: Path, key: str) -> str | None:
    try:
        done = subprocess.run(["git", "config", "--get", key], cwd=root, capture_output=True, text=True, check=False)
    except OSError:  # no git at all
        return None
    return done.stdout.strip() or None


@contextlib.contextmanager
def audit_lock(root: Path) -> Iterator[None]:
    """The audit log's lock: held while the last entry is read and the next one appended (blocks
    until free; the kernel releases it if the holder dies)."""
    path = root / "data" / "locks" / "audit.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record(root: Path, event: EventBase, why: str | None = None) -> AuditEntry:
    """Append an entry for `event` (who: this process's operator; when: now) and return it."""
    with audit_lock(root):
        seq, prev = last_entry(root)
        entry = new_entry(seq + 1, datetime.now(UTC).replace(microsecond=0), event, who(root), why, prev)
        _append(root / PENDING_LOG, [entry.line()])
    return entry


def last_entry(root: Path) -> tuple[int, str]:
    """(seq, hash) of the last entry, (0, 64 zeros) for an empty log (call under `audit_lock`).
    A last line that is not an entry is chained to as written (its sha256), so that `trainset
    audit verify` still finds it."""
    for path in (root / PENDING_LOG, root / AUDIT_LOG):
        lines = _lines(path)
        if lines:
            return _parsed_tail(lines)
    return 0, GENESIS


def _append(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())


def commit_pending(root: Path) -> Path:
    """Append the pending entries to `audit/log.jsonl` and clear them; returns the log's path,
    relative to the workspace, for the release commit. Entries the log holds already (a release
    cut short between the append and the clearing) are not appended again."""
    with audit_lock(root):
        pending = root / PENDING_LOG
        if pending.is_file():
            _relink(root)
            committed = set(_lines(root / AUDIT_LOG))
            _append(root / AUDIT_LOG, [line for line in _lines(pending) if line not in committed])
            pending.unlink()
    return AUDIT_LOG


def relink_pending(root: Path) -> None:
    """Chain the pending entries onto the log's last entry, if they branch from an earlier one."""
    with audit_lock(root):
        _relink(root)


def _relink(root: Path) -> None:
    """Pending entries chain from the log's last entry as it was when they were written. When the
    log has gained entries since (a `git pull` of another clone's release), they are renumbered and
    chained onto its new last entry, their content unchanged: only an intact run of entries
    branching from an entry of the log is, so a damaged one is left for `verify` to name."""
    pending = _lines(root / PENDING_LOG)
    committed = _lines(root / AUDIT_LOG)
    new = [line for line in pending if line not in set(committed)]
    if not new or not committed:
        return
    seq, head = _parsed_tail(committed)
    try:
        found = [json.loads(line) for line in new]
        branched = {json.loads(line)["hash"] for line in committed}
        entries = [AuditEntry.model_validate(fields) for fields in found]
    except (ValueError, KeyError, TypeError, ValidationError):
        return
    intact = all(entry_hash(f) == f["hash"] for f in found)
    chained = all(later.prev == earlier.hash for earlier, later in zip(entries, entries[1:], strict=False))
    if entries[0].prev == head or entries[0].prev not in branched or not (intact and chained):
        return
    relinked = []
    for entry in entries:
        seq += 1
        moved = new_entry(seq, entry.at, entry.event, entry.who, entry.why, head)
        relinked.append(moved.line())
        head = moved.hash
    kept = [line for line in pending if line not in set(new)]
    (root / PENDING_LOG).write_text("".join(f"{line}\n" for line in kept + relinked), encoding="utf-8")


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.is_file() else []


def _parsed_tail(lines: list[str]) -> tuple[int, str]:
    try:
        fields = json.loads(lines[-1])
        return int(fields["seq"]), str(fields["hash"])
    except (ValueError, KeyError, TypeError):
        return len(lines), text_sha256(lines[-1])


def read_lines(root: Path) -> list[Line]:
    """Every line of the log (the committed part, then the pending part), parsed where it can be."""
    found = []
    for relative in (AUDIT_LOG, PENDING_LOG):
        path = root / relative
        if not path.is_file():
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                fields = json.loads(text)
            except ValueError:
                found.append(Line(relative, number, text, None, None))
                continue
            try:
                entry = AuditEntry.model_validate(fields)
            except ValidationError:
                entry = None
            found.append(Line(relative, number, text, entry, fields if isinstance(fields, dict) else None))
    return found


def entries(root: Path) -> list[AuditEntry]:
    """The entries of the log that parse, in order (`verify` says what the others are)."""
    return [line.entry for line in read_lines(root) if line.entry is not None]
