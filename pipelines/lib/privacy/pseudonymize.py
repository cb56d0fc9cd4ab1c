"""Keyed pseudonymisation of id columns (HMAC-SHA256); the key never enters the repository."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

KEY_FILE_SUFFIX = "_FILE"
DEFAULT_KEY_PATH = Path.home() / ".config" / "trainset" / "pseudonym.key"


class MissingKeyError(RuntimeError):
    """The pseudonymisation key is not configured."""


def load_key(env_var: str) -> bytes:
    """Read the key from `$env_var`, or from the file named by `$env_var_FILE`."""
    value = os.environ.get(env_var)
    if value:
        return value.encode()
    key_file = os.environ.get(env_var + KEY_FILE_SUFFIX)
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise MissingKeyError(f"{env_var}{KEY_FILE_SUFFIX} names {path}, which does not exist")
        return path.read_text().strip().encode()
    raise MissingKeyError(
        f"pseudonymisation key missing: set {env_var} to a secret, or {env_var}{KEY_FILE_SUFFIX} to a "
        f"file holding one (create it with `trainset keygen`, which writes {DEFAULT_KEY_PATH}). "
        "Keep the key out of the repository."
    )


def generate_key(path: Path) -> Path:
    """Write a new random key to `path` (mode 600) unless one is there already."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32) + "\n")
    return path


def key_id(key: bytes) -> str:
    """A short public identifier of the key, for manifests: which key, never the key itself."""
    return hmac.new(key, b"trainset-key-id", hashlib.sha256).hexdigest()[:12]


def pseudonymize(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace each id by the first 20 hex digits (80 bits) of HMAC-SHA256(key, id).

    Hashes each distinct id once (far fewer than rows) and maps codes back, so the cost is one
    HMAC per user, not per row.
    """
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    hashed = [hmac.new(key, str(u).encode(), hashlib.sha256).hexdigest()[:20] for u in uniques]
    lookup = pd.array(hashed + [None], dtype="str")  # code -1 (missing id) maps to the last slot
    return pd.Series(lookup[codes], index=ids.index, dtype="str")
