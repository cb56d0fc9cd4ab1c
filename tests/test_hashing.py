"""Content hashes: a file's sha256 and DVC's md5 are those of its bytes, whatever its size."""

from __future__ import annotations

import hashlib
import os

from pipelines.lib.hashing import combined_sha256, file_sha256
from pipelines.lib.release.withdrawal import _md5


def test_a_file_hash_is_the_hash_of_its_bytes_over_many_blocks(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)  # more than one read block, not a multiple of one
    (tmp_path / "big").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "big") == hashlib.sha256(data).hexdigest()
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
    # DVC names a stored object by the md5 of the file's bytes: erasure purges objects by that name
    assert _md5(tmp_path / "big") == hashlib.md5(data).hexdigest()


def test_a_combined_hash_depends_on_the_order():
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    assert combined_sha256([a, b]) == hashlib.sha256(f"{a}\n{b}".encode()).hexdigest()
    assert combined_sha256([a, b]) != combined_sha256([b, a])
