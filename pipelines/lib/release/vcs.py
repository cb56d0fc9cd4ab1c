"""git and DVC driven through their command lines.

DVC is never imported: dvc 3.x and Dagster need incompatible antlr4 runtimes, so DVC lives in its
own tool environment and is found as an executable (see `dvc_executable`); the one thing its CLI
cannot do, deleting chosen objects, runs in that environment's interpreter (`delete_dvc_objects`).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: name of the DVC remote a workspace gets when it has none
DEFAULT_REMOTE = "local"


class VcsError(RuntimeError):
    """A git or DVC command failed."""


def dvc_executable() -> str:
    """`$TRAINSET_DVC`, else a `dvc` beside this interpreter (the Makefile links one), else PATH."""
    candidates = [os.environ.get("TRAINSET_DVC"), str(Path(sys.executable).parent / "dvc"), shutil.which("dvc")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise VcsError(
        "DVC not found: install it in its own environment (`make .tools/dvc` does) and set "
        "TRAINSET_DVC to its `dvc`, or put `dvc` on PATH. It cannot share Dagster's environment."
    )


def dvc_python() -> str:
    """The interpreter DVC runs in: the one its launcher's `#!` line names, or (for a launcher
    that starts through /bin/sh, as pip writes for long paths) the `python` beside it."""
    launcher = Path(dvc_executable()).resolve()
    first_line = launcher.read_bytes()[:512].split(b"\n", 1)[0].decode(errors="replace")
    named = first_line[2:].strip().split(" ")[0] if first_line.startswith("#!") else ""
    for candidate in (named, str(launcher.parent / "python")):
        if "python" in Path(candidate).name and Path(candidate).is_file():
            return candidate
    raise VcsError(
        f"cannot find the Python environment of {launcher}: deleting DVC objects needs DVC installed "
        "as a Python package (`make setup` installs it in .tools/dvc), not as a standalone binary"
    )


# `dvc gc` keeps or drops objects by what the workspace references; erasure must delete exactly
# the objects of withdrawn versions, on whatever remote DVC is configured with (a folder, S3,
# GCS, Azure, SSH ... as far as the installed DVC supports it), so DVC's Python API does it.
_DELETE_OBJECTS = """
import json, sys
from dvc.repo import Repo
repo = Repo(sys.argv[1])
stores = [repo.cache.local]
if repo.config["core"].get("remote"):
    stores.append(repo.cloud.get_remote_odb(command="trainset forget"))
deleted = 0
for store in stores:
    for oid in json.loads(sys.argv[2]):
        if store.exists(oid):
            store.delete(oid)
            deleted += 1
print(deleted)
"""


def delete_dvc_objects(root: Path, md5s: list[str]) -> int:
    """Delete objects from the DVC cache and the default remote; returns how many were deleted."""
    if not md5s:
        return 0
    args = [dvc_python(), "-c", _DELETE_OBJECTS, str(root), json.dumps(sorted(md5s))]
    return int(run(args, root, "deleting withdrawn objects from the DVC cache and remote").strip())


def run(args: list[str], cwd: Path, what: str) -> str:
    """Run a command; on failure raise VcsError saying what was being done and the tool's output."""
    env = os.environ | {"DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}
    completed = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise VcsError(f"{what} failed in {cwd}: `{' '.join(args[:3])} …` exited {completed.returncode}: {output}")
    return completed.stdout


def dvc(root: Path, *args: str, what: str) -> str:
    return run([dvc_executable(), *args], root, what)


def git(root: Path, *args: str, what: str) -> str:
    # A release commit must not depend on the user having configured an identity.
    identity = [
        "-c",
        "user.name=" + _git_config(root, "user.name", "trainset"),
        "-c",
        "user.email=" + _git_config(root, "user.email", "trainset@localhost"),
    ]
    return run(["git", *identity, *args], root, what)


def _git_config(root: Path, key: str, default: str) -> str:
    completed = subprocess.run(["git", "config", key], cwd=root, capture_output=True, text=True, check=False)
    return completed.stdout.strip() or default


def is_git_repo(root: Path) -> bool:
    return (root / ".git").exists()


def git_head(root: Path) -> str | None:
    """The workspace's commit, suffixed `+dirty` when tracked files differ from it."""
    if not is_git_repo(root):
        return None
    try:
        sha = git(root, "rev-parse", "HEAD", what="reading the code version").strip()
    except VcsError:
        return None  # a repository without commits yet
    dirty = git(root, "status", "--porcelain", "--untracked-files=no", what="checking for local changes").strip()
    return sha + ("+dirty" if dirty else "")


def default_remote(root: Path) -> Path:
    """Where a workspace's releases go when it names no DVC remote: outside the work tree, in the
    user's data folder, one folder per workspace: `$XDG_DATA_HOME/trainset/dvc-remote/<folder
    name>-<8 hex digits of its path>` (XDG_DATA_HOME defaults to ~/.local/share).

    The remote's absolute path is committed in `.dvc/config` with the first release, so every
    clone of the workspace on this machine pushes to and pulls from the same folder."""
    configured = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
    data_home = Path(configured) if configured and Path(configured).is_absolute() else Path.home() / ".local" / "share"
    resolved = root.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return data_home / "trainset" / "dvc-remote" / f"{resolved.name}-{digest}"


def ensure_dvc_repo(root: Path) -> None:
    """Make `root` a DVC repository with a default remote (`default_remote`), if it is not one already."""
    if not (root / ".dvc").is_dir():
        dvc(root, "init", *([] if is_git_repo(root) else ["--no-scm"]), "-q", what="initialising DVC")
        dvc(root, "config", "core.analytics", "false", what="configuring DVC")
    if is_git_repo(root):
        _ignore_working_zones(root)
    if _has_default_remote(root / ".dvc" / "config"):
        return  # what `dvc remote list` would confirm, without starting DVC (0.7 s a call here)
    remotes = dvc(root, "remote", "list", what="listing DVC remotes").strip()
    if not remotes:
        remote = default_remote(root)
        remote.mkdir(parents=True, exist_ok=True)
        dvc(root, "remote", "add", "-d", DEFAULT_REMOTE, str(remote), what="adding the default DVC remote")


def _has_default_remote(config: Path) -> bool:
    """Whether the repository's own DVC config names a default remote (`core.remote`) and defines
    it. False when it cannot tell (no file, another layout): DVC is asked then."""
    parser = configparser.ConfigParser()
    try:
        parser.read(config, encoding="utf-8")
    except configparser.Error:
        return False
    name = parser.get("core", "remote", fallback="").strip()
    return bool(name) and parser.has_option(f"'remote \"{name}\"'", "url")


#: trainset's working zones: landed exports, raw rows (PII) and runs' state, never committed; and
#: the audit entries since the last release, which the next release moves into audit/log.jsonl
WORKING_ZONES = ("/data/", "/.dagster_home/", "/audit/pending.jsonl")


def _ignore_working_zones(root: Path) -> None:
    """Add `WORKING_ZONES` to the workspace's .gitignore where it does not ignore them yet, so that
    a `git add -A` cannot commit the raw zone."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    listed = {line.strip().strip("/") for line in text.splitlines()}
    missing = [zone for zone in WORKING_ZONES if zone.strip("/") not in listed]
    if missing:
        lead = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + lead + "\n".join(missing) + "\n", encoding="utf-8")


def released_versions(root: Path, dataset: str) -> list[int]:
    """Versions of `dataset` that have a release tag (`<dataset>@v<N>`) in git, ascending."""
    prefix = f"{dataset}@v"
    tags = git(root, "tag", "--list", f"{prefix}*", what="listing release tags").split()
    return sorted(int(t[len(prefix) :]) for t in tags if t[len(prefix) :].isdigit())


def tag_exists(root: Path, tag: str) -> bool:
    return bool(git(root, "tag", "--list", tag, what="listing tags").strip())
