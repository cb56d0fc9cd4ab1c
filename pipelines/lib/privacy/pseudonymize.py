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


#: shortest key accepted, in characters: a short key makes pseudonyms reversible by guessing it
MIN_KEY_CHARS = 16


class MissingKeyError(RuntimeError):
    """The pseudonymisation key is not configured, or is not a usable key."""


def load_key(env_var: str) -> bytes:
    """Read and check the key: `$env_var`, or the file named by `$env_var_FILE`.

    Returns the key's bytes (surrounding whitespace stripped). Raises MissingKeyError, saying
    what to do, when neither variable is set, the file is missing, unreadable or readable by other
    users (group or world permission bits), or the key is shorter than MIN_KEY_CHARS characters."""
    value = os.environ.get(env_var)
    source = f"${env_var}"
    if not value:
        key_file = os.environ.get(env_var + KEY_FILE_SUFFIX)
        if not key_file:
            raise MissingKeyError(
                f"pseudonymisation key missing: set {env_var} to a secret, or {env_var}{KEY_FILE_SUFFIX} to a "
                f"file holding one (create it with `trainset keygen`, which writes {DEFAULT_KEY_PATH}). "
                "Keep the key out of the repository."
            )
        path = Path(key_file).expanduser()
        source = f"{path} (named by {env_var}{KEY_FILE_SUFFIX})"
        if not path.is_file():
            raise MissingKeyError(
                f"pseudonymisation key missing: {env_var}{KEY_FILE_SUFFIX} names {path}, which does not exist; "
                f"create it with `trainset keygen --path {path}`, or point {env_var}{KEY_FILE_SUFFIX} at the key"
            )
        loose = path.stat().st_mode & 0o077
        if loose:  # as ssh refuses a private key others can read: they could reverse every pseudonym
            raise MissingKeyError(
                f"pseudonymisation key {source} is readable by other users of this host (mode "
                f"{path.stat().st_mode & 0o777:o}): anyone who reads it can reverse the pseudonyms; "
                f"run `chmod 600 {path}` (`trainset keygen` writes keys that way)"
            )
        try:
            value = path.read_text()
        except OSError as error:
            raise MissingKeyError(
                f"pseudonymisation key unreadable: {source}: {error.strerror}; create it with "
                f"`trainset keygen --path {path}`, or point {env_var}{KEY_FILE_SUFFIX} at the existing key"
            ) from None
    key = value.strip()
    if len(key) < MIN_KEY_CHARS:
        raise MissingKeyError(
            f"pseudonymisation key in {source} is {len(key)} characters, fewer than {MIN_KEY_CHARS}: a short key "
            "lets anyone who guesses it reverse the pseudonyms; use a random one (`trainset keygen` writes 64 hex "
            "characters)"
        )
    return key.encode()


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
