"""A release SIGKILLed at any point leaves no partial version, and the next run completes it.

The scenario is the hardest release there is: a user was erased, so the release writes v2 and
withdraws v1 (registry, tombstone, purge of v1's bytes from the DVC cache and remote). The
release step runs in a child process that kills itself at a named point (a KillSwitch passed to
the release, as the workspace resource's `kill_at` passes it in a Dagster run); the
workspace is checked as a crash left it, then the release runs again and must finish the job.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from conftest import AS_OF, TEST_KEY, land, make_workspace, small_spec

from pipelines.lib.catalog import get_spec
from pipelines.lib.hashing import file_sha256
from pipelines.lib.privacy.erasure import purge_stored_rows, record_request
from pipelines.lib.privacy.steps import build_eligible
from pipelines.lib.quality.steps import build_training_set
from pipelines.lib.release.consume import fetch_version
from pipelines.lib.release.killpoints import POINTS
from pipelines.lib.release.vcs import default_remote, dvc_executable
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.release.withdrawal import read_registry
from pipelines.lib.workspace import DatasetPaths
from pipelines.runner import materialize_dataset

DATASET = "ticket_triage"
SPLITS = ("train.parquet", "validation.parquet", "test.parquet")
RELEASE_STEP = """
import sys
from pathlib import Path
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.release.killpoints import KillSwitch
from pipelines.lib.release.steps import release_training_set
from pipelines.lib.workspace import DatasetPaths
root, spec_json, spec_file = Path(sys.argv[1]), Path(sys.argv[2]).read_text(), Path(sys.argv[3])
spec = DatasetSpec.model_validate_json(spec_json)
kill = KillSwitch(sys.argv[5] or None)
release_training_set(DatasetPaths(root, spec.name), spec, spec_file, sys.argv[4].encode(), "crash-test", kill=kill)
"""


@pytest.fixture(scope="module")
def erased_and_rebuilt(tmp_path_factory) -> Path:
    """A workspace with v1 released, then one of its users erased and the training set rebuilt."""
    root = make_workspace(tmp_path_factory.mktemp("template") / "workspace")
    spec = small_spec()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            env.setenv(var, "test")
        land(root, rows=3000, months=2)  # the release is under test, not retention or freshness
        summary = materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
        assert summary.success, summary.failure
        raw = pd.concat(pd.read_parquet(p) for p in (root / "data/warehouse/ticket_triage/raw_tickets").glob("*"))
        user = raw["user_id"].value_counts().index[0]
        key = TEST_KEY.encode()
        record_request(root, user, {DATASET: key}, "crash test")
        purge_stored_rows(root, DATASET, spec.columns.user, user, key)
        paths = DatasetPaths(root, DATASET)
        build_eligible(paths, spec, AS_OF, key)
        build_training_set(paths, spec, AS_OF, root / "expectations" / f"{DATASET}.json")
    (root.parent / "spec.json").write_text(spec.model_dump_json())
    return root


def release_in_child(root: Path, kill_at: str | None) -> subprocess.CompletedProcess:
    _, spec_file = get_spec(DATASET, root)
    env = os.environ | {"TRAINSET_DVC": dvc_executable()}
    args = [sys.executable, "-c", RELEASE_STEP, str(root), str(root.parent / "spec.json"), str(spec_file), TEST_KEY]
    args.append(kill_at or "")
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def assert_no_partial_version(root: Path) -> None:
    """Every version folder is complete (or withdrawn), and every tag names one."""
    releases = root / "datasets" / DATASET
    withdrawn = read_registry(root, DATASET)["withdrawn"]
    folders = sorted(p.name for p in releases.iterdir() if p.is_dir()) if releases.is_dir() else []  # + CHANGELOG.md
    assert folders == [f"v{v}" for v in versions(releases)], "a version folder without its manifest"
    for version in versions(releases):
        files = read_manifest(releases / f"v{version}").files
        for name, meta in files.items():
            if str(version) in withdrawn and name in SPLITS:
                continue
            assert file_sha256(releases / f"v{version}" / name) == meta.sha256, (version, name)
    for tag in git(root, "tag").split():
        version = int(tag.split("@v")[1])
        assert version in versions(releases), f"tag {tag} names no complete version"
        assert "md5:" in git(root, "show", f"{tag}:datasets.dvc")  # the tag carries the DVC pointer


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def stored_objects(root: Path, remote: Path, md5s: list[str]) -> list[str]:
    stores = [root / ".dvc" / "cache", remote]
    return [m for m in md5s for s in stores if (s / "files" / "md5" / m[:2] / m[2:]).exists()]


@pytest.mark.parametrize("kill_at", sorted(POINTS))
def test_a_release_killed_at_any_point_is_whole_or_absent_and_the_next_run_completes_it(
    erased_and_rebuilt, tmp_path, kill_at
):
    root = shutil.copytree(erased_and_rebuilt, tmp_path / "workspace", symlinks=True)
    # The copy gets a copy of the remote too: the template's is shared by every case.
    remote = shutil.copytree(default_remote(erased_and_rebuilt), default_remote(root))
    subprocess.run([dvc_executable(), "remote", "modify", "local", "url", str(remote)], cwd=root, check=True)
    shutil.copy(erased_and_rebuilt.parent / "spec.json", tmp_path / "spec.json")
    v1_md5s = [md5(root / "datasets" / DATASET / "v1" / n) for n in SPLITS]

    killed = release_in_child(root, kill_at)
    assert killed.returncode == -9, killed.stderr[-2000:]  # it really died at the point, by SIGKILL
    assert_no_partial_version(root)
    assert git(root, "tag").split() == ["ticket_triage@v1"]  # v2 is tagged last, after every point

    again = release_in_child(root, None)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_no_partial_version(root)
    assert git(root, "tag").split() == ["ticket_triage@v1", "ticket_triage@v2"]
    assert git(root, "status", "--porcelain", "--", "datasets.dvc", "registry").strip() == ""
    registry = json.loads(git(root, "show", "HEAD:registry/ticket_triage.json"))
    assert registry["withdrawn"]["1"]["replaced_by"] == 2
    shared = {md5(root / "datasets" / DATASET / "v2" / n) for n in SPLITS}
    assert not [m for m in stored_objects(root, remote, v1_md5s) if m not in shared], "v1 bytes survived the erasure"
    status = subprocess.run([dvc_executable(), "status", "--cloud", "-q"], cwd=root, capture_output=True)
    assert status.returncode == 0  # everything tracked is on the remote
    assert not list((root / "data" / "staging").glob("*"))
    assert sorted(fetch_version(root, DATASET, 2, tmp_path / "pulled")) == sorted(
        read_manifest(root / "datasets" / DATASET / "v2").files
    )
