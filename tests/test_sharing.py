"""Releases a team shares: the default DVC remote lives outside the work tree (in the user's data
folder, here a temporary XDG_DATA_HOME), so a clone of a workspace pulls its releases, runs the
same inputs without writing a second v1, and releases its own versions for the origin to pull.
`dvc params diff` and `dvc metrics diff` compare two releases of one dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from conftest import AS_OF, land, make_workspace, small_spec

from pipelines.lib.catalog import get_spec
from pipelines.lib.release.consume import verify_version
from pipelines.lib.release.vcs import default_remote, dvc_executable
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.runner import materialize_dataset

TRAINSET = str(Path(sys.executable).parent / "trainset")
SPEC = "pipelines/defs/ticket_triage/defs.yaml"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def trainset(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"DAGSTER_HOME": str(home)}  # never the project's instance
    return subprocess.run([TRAINSET, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def run(root: Path):
    """A run of the dataset as the workspace declares it (what `trainset run --workspace ROOT` runs)."""
    spec, spec_file = get_spec("ticket_triage", root)
    return materialize_dataset(spec, root, spec_file=spec_file, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    """A workspace that released ticket_triage@v1 to its default remote."""
    root = make_workspace(tmp_path_factory.mktemp("origin") / "workspace")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", "test-pseudonymisation-key")
        land(root, rows=3000, months=2)  # sharing does not depend on retention or freshness
        summary = materialize_dataset(small_spec(), root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
    assert summary.success, summary.failure
    return root


def test_the_default_remote_is_outside_the_work_tree_named_per_workspace(origin):
    remote = default_remote(origin)
    assert remote.parent == Path(os.environ["XDG_DATA_HOME"]) / "trainset" / "dvc-remote"
    assert remote.name.startswith("workspace-") and not remote.is_relative_to(origin)
    assert str(remote) in git(origin, "show", "ticket_triage@v1:.dvc/config")  # the tag says where the bytes are
    assert list((remote / "files" / "md5").rglob("*")), "nothing was pushed"


def test_a_clone_pulls_runs_and_releases_through_the_shared_remote(origin, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    home = tmp_path / "dagster_home"
    pulled = trainset(
        "pull", "ticket_triage@v1", "-o", str(tmp_path / "v1"), "--workspace", str(clone), cwd=clone, home=home
    )
    assert pulled.returncode == 0, pulled.stderr
    assert verify_version(tmp_path / "v1") == ["DATASET_CARD.md", "test.parquet", "train.parquet", "validation.parquet"]

    # What `make demo` does in a clone that holds v1: the same inputs, run again.
    shutil.copytree(origin / "data" / "landing", clone / "data" / "landing")
    head = git(clone, "rev-parse", "HEAD")
    again = run(clone)
    assert again.success, again.failure
    assert again.release == f"no change; latest is v1 at {clone}/datasets/ticket_triage/v1 (git tag ticket_triage@v1)"
    assert git(clone, "rev-parse", "HEAD") == head and git(clone, "tag").split() == ["ticket_triage@v1"]
    assert git(clone, "status", "--porcelain") == ""
    original = read_manifest(origin / "datasets" / "ticket_triage" / "v1")
    assert read_manifest(clone / "datasets" / "ticket_triage" / "v1") == original  # fetched, not rebuilt
    repulled = trainset(
        "pull", "ticket_triage@v1", "-o", str(tmp_path / "v1b"), "--workspace", str(clone), cwd=clone, home=home
    )
    assert repulled.returncode == 0, repulled.stderr

    # A policy change in the clone's own spec releases v2 to the same remote.
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("seed: 13", "seed: 14"))
    changed = run(clone)
    assert changed.success, changed.failure
    assert changed.release_metadata["version"] == 2 and versions(clone / "datasets" / "ticket_triage") == [1, 2]
    assert git(clone, "log", "-1", "--format=%s") == "Release ticket_triage@v2\n"
    assert git(clone, "status", "--porcelain") == ""  # the spec change went in with the release
    dvc = dvc_executable()
    params = subprocess.run(
        [dvc, "params", "diff", "ticket_triage@v1", "ticket_triage@v2", "--targets", SPEC],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "attributes.split.seed" in params and "13" in params and "14" in params
    metrics = subprocess.run(
        [
            dvc,
            "metrics",
            "diff",
            "ticket_triage@v1",
            "ticket_triage@v2",
            "--all",
            "--targets",
            "reports/ticket_triage/gates.json",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "min_examples_per_class" in metrics

    # The origin pulls the clone's release: same remote, nothing copied by hand.
    git(origin, "pull", "-q", "--tags", str(clone), "main")
    back = trainset(
        "pull", "ticket_triage@v2", "-o", str(tmp_path / "v2"), "--workspace", str(origin), cwd=origin, home=home
    )
    assert back.returncode == 0, back.stderr
    # The audit log came with the clone's release (its pulls, its release of v2); the origin's pull follows it.
    shown = trainset("audit", "show", "--workspace", str(origin), cwd=origin, home=home).stdout.splitlines()
    assert [line.split()[2:4] for line in shown][-4:] == [
        ["pull", "ticket_triage@v1"],
        ["pull", "ticket_triage@v1"],
        ["release", "ticket_triage@v2"],
        ["pull", "ticket_triage@v2"],
    ]
    verified = trainset("audit", "verify", "--workspace", str(origin), cwd=origin, home=home)
    assert verified.returncode == 0, verified.stderr
