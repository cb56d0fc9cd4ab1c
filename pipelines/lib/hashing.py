"""Content hashes used for lineage and immutability checks."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def combined_sha256(hashes: list[str]) -> str:
    """One hash for an ordered list of hashes (e.g. every file of a partition range)."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()
