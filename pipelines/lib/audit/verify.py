"""Checking the audit log's chain: every entry's hash, its link to the one before, its number.

An edited entry no longer matches its own hash; a removed one leaves the next entry pointing at
a hash that is not the one before it, and a gap in the numbers. Each problem names the file and
line, the entry, and what happened to it. In a git workspace the log committed with the last
release must also still be the start of the log: an entry removed or rewritten there, hashes
and all, is found by that comparison.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.audit.entries import GENESIS, entry_hash, text_sha256
from pipelines.lib.audit.log import AUDIT_LOG, PENDING_LOG, Line, read_lines
from pipelines.lib.errors import BAD_DATA


class AuditChainError(RuntimeError):
    """The audit log's chain is broken; the message names each entry and what happened to it."""

    exit_code = BAD_DATA


@dataclass(frozen=True)
class Problem:
    """One break in the chain: where (file:line) and what, in words."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def verify(root: Path) -> tuple[int, list[Problem]]:
    """(entries read, problems found) for the workspace's audit log; no problems: the chain holds."""
    lines = read_lines(root)
    problems: list[Problem] = []
    expected_seq, prev_hash, prev_label = 1, GENESIS, "the start of the log"
    committed: dict[str, tuple[int, str]] = {}  # hash -> (seq, label) of the committed entries
    previous_file = AUDIT_LOG
    for line in lines:
        fields = line.fields or {}
        branch = fields.get("prev")
        if line.file != previous_file and isinstance(branch, str) and branch != prev_hash and branch in committed:
            # The entries since the last release branch from an entry the log has gained others
            # after (a `git pull` of another clone's release): the next release re-links them.
            expected_seq, prev_label = committed[branch][0] + 1, committed[branch][1]
            prev_hash = branch
        previous_file = line.file
        if line.fields is None or "hash" not in line.fields or "seq" not in line.fields:
            problems.append(
                Problem(
                    line.where, "not an audit entry (not a JSON object with seq and hash): damaged or written by hand"
                )
            )
            expected_seq, prev_hash, prev_label = expected_seq + 1, text_sha256(line.text), f"line {line.number}"
            continue
        seq, label = line.fields.get("seq"), _label(line)
        if entry_hash(line.fields) != line.fields["hash"]:
            problems.append(
                Problem(line.where, f"{label} was edited after it was written: its content no longer matches its hash")
            )
        elif line.entry is None:
            problems.append(Problem(line.where, f"{label} is not a well-formed audit entry"))
        if line.fields.get("prev") != prev_hash:
            if isinstance(seq, int) and seq > expected_seq:
                gone = f"entry #{expected_seq}" if seq == expected_seq + 1 else f"entries #{expected_seq}..#{seq - 1}"
                problems.append(Problem(line.where, f"{label} follows {prev_label}: {gone} removed"))
            else:
                problems.append(
                    Problem(
                        line.where,
                        f"{label} does not chain to {prev_label}: an entry before it was removed, replaced or moved",
                    )
                )
        elif isinstance(seq, int) and seq != expected_seq:
            problems.append(Problem(line.where, f"{label} is numbered {seq} where #{expected_seq} was due: renumbered"))
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
        prev_hash, prev_label = str(line.fields["hash"]), label
        if line.file == AUDIT_LOG and isinstance(seq, int):
            committed[prev_hash] = (seq, label)
    if not problems:  # a chain rewritten whole, hashes and all, still differs from what was committed
        problems = _committed_prefix(root, [line for line in lines if line.file == AUDIT_LOG])
    return len(lines), problems


def _label(line: Line) -> str:
    """`entry #7 (release ticket_triage@v1 at 2026-11-30T04:43:11Z)`."""
    fields = line.fields or {}
    found = fields.get("event")
    event: dict = found if isinstance(found, dict) else {}
    what = str(event.get("type", "?"))
    if event.get("dataset"):
        what += f" {event['dataset']}" + (f"@v{event['version']}" if event.get("version") else "")
    return f"entry #{fields.get('seq', '?')} ({what} at {fields.get('at', '?')})"


def _committed_prefix(root: Path, lines: list[Line]) -> list[Problem]:
    """The log as the last commit holds it must be the start of the log in the work tree."""
    if not (root / ".git").exists():
        return []
    done = subprocess.run(["git", "show", f"HEAD:{AUDIT_LOG}"], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []  # nothing committed yet
    committed = [text for text in done.stdout.splitlines() if text.strip()]
    for number, text in enumerate(committed, start=1):
        if number > len(lines):
            return [
                Problem(
                    f"{AUDIT_LOG}:{number}",
                    f"the last commit's log has {len(committed)} entries, the work tree's {len(lines)}: "
                    f"entries from line {number} on were removed (`git show HEAD:{AUDIT_LOG}` has them)",
                )
            ]
        if lines[number - 1].text != text:
            return [
                Problem(
                    lines[number - 1].where,
                    "differs from the same line of the log committed with the last release "
                    f"(`git diff HEAD -- {AUDIT_LOG}` shows how)",
                )
            ]
    return []


def check_chain(root: Path) -> int:
    """The number of entries, if the chain holds; else raise AuditChainError naming every problem
    (file:line, the entry, what happened) and what to do."""
    count, problems = verify(root)
    if problems:
        listed = "\n".join(f"  {problem}" for problem in problems)
        raise AuditChainError(
            f"the audit log of {root} is broken: {len(problems)} problem(s) in {count} entries\n{listed}\n"
            f"Entries are never edited or removed: restore {AUDIT_LOG} from the last release "
            f"(`git show HEAD:{AUDIT_LOG}`; {PENDING_LOG} holds the entries since) and find out who changed it."
        )
    return count
