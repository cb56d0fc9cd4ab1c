"""A release cut short after its version folder was renamed into place is finished by the next run."""

from __future__ import annotations

import subprocess

import dagster as dg
from conftest import AS_OF, land, make_workspace, small_spec

from pipelines.lib.release.vcs import dvc_executable
from pipelines.lib.release.versions import versions
from pipelines.runner import materialize_dataset


def run(root):
    spec = small_spec()
    return materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


def test_a_failed_push_is_completed_by_the_next_run(tmp_path, monkeypatch):
    root = make_workspace(tmp_path / "workspace")
    land(root, rows=3000, months=2)
    real = dvc_executable()
    broken = tmp_path / "dvc-without-remote"
    broken.write_text(
        f'#!/bin/sh\nif [ "$1" = push ]; then echo "remote unreachable" >&2; exit 1; fi\nexec {real} "$@"\n'
    )
    broken.chmod(0o755)

    monkeypatch.setenv("TRAINSET_DVC", str(broken))
    failed = run(root)
    assert not failed.success and "pushing the release to the DVC remote failed" in failed.failure
    assert versions(root / "datasets" / "ticket_triage") == [1]  # complete, but neither pushed nor tagged
    assert subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True).stdout == ""

    monkeypatch.setenv("TRAINSET_DVC", real)
    again = run(root)
    assert again.success, again.failure
    assert again.release_metadata["version"] == 1 and not again.release_metadata["created"]
    assert again.release_metadata["tag"] == "ticket_triage@v1"
    status = subprocess.run([real, "status", "--cloud", "-q"], cwd=root, capture_output=True, text=True)
    assert status.returncode == 0  # everything in the cache is on the remote
