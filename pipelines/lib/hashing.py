"""Content hashes used for lineage and immutability checks."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, as 64 lowercase hex digits; read in blocks, never whole.

    Raises FileNotFoundError (or another OSError) if the file cannot be read."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def combined_sha256(hashes: list[str]) -> str:
    """One hash (64 lowercase hex digits) for an ordered list of hashes, e.g. every file of a
    partition range: the sha256 of the hashes joined by newlines, so order matters."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()
