"""Immutable versions: content-addressed, never rewritten, complete or absent."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from pipelines.lib.catalog import get_spec
from pipelines.lib.locks import LockedError
from pipelines.lib.release import vcs
from pipelines.lib.release.consume import verify_version
from pipelines.lib.release.versions import ReleaseError, read_manifest, release, release_lock, versions
from pipelines.lib.reports import ContractResult, ManifestBody, QuarantineReport, SpecRecord


def body(as_of: str = "2026-10-31") -> ManifestBody:
    """The least a manifest holds: no inputs, policies or gates."""
    spec, _ = get_spec("ticket_triage")
    return ManifestBody(
        created_at=datetime.now(UTC),
        as_of=date.fromisoformat(as_of),
        spec=SpecRecord(path="defs.yaml", sha256=spec.fingerprint(), content=spec.model_dump(mode="json")),
        pseudonymisation_key_id="k",
        inputs=[],
        policies=[],
        accounting={},
        quarantine=QuarantineReport(rows=0),
        contract=ContractResult(schema="demo.training_set", passed=True),
        expectations=[],
        gates=[],
        counts=[],
    )


def frame(n=30, offset=0):
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i + offset}" for i in range(n)],
            "body": ["text"] * n,
            "split": (["train"] * 8 + ["validation", "test"]) * (n // 10),
        }
    )


def test_versions_are_numbered_and_identical_content_is_not_released_twice(tmp_path):
    first = release(tmp_path, "demo", frame(), body("2026-10-31"))
    again = release(tmp_path, "demo", frame(), body("2026-11-01"))
    changed = release(tmp_path, "demo", frame(offset=100), body("2026-11-01"))
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    assert (changed.version, changed.created) == (2, True)
    assert versions(tmp_path / "datasets" / "demo") == [1, 2]
    assert read_manifest(first.path).files["train.parquet"].rows == 24
    assert verify_version(first.path)
    assert not list((tmp_path / "data" / "staging").iterdir())  # nothing half-written left behind


def test_an_existing_version_folder_is_never_written_again(tmp_path):
    release(tmp_path, "demo", frame(), body())
    squatter = tmp_path / "datasets" / "demo" / "v2"
    squatter.mkdir()
    (squatter / "note.txt").write_text("someone else's")
    with pytest.raises(ReleaseError, match="v2 exists already; versions are immutable"):
        release(tmp_path, "demo", frame(offset=5), body())
    assert (squatter / "note.txt").read_text() == "someone else's"
    assert versions(tmp_path / "datasets" / "demo") == [1]


def test_a_second_release_at_the_same_time_is_refused_with_a_clear_message(tmp_path):
    import multiprocessing

    ready, done = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.get_context("fork").Process(target=_hold_lock, args=(tmp_path, ready, done))
    holder.start()
    try:
        assert ready.wait(10)
        refused = pytest.raises(LockedError, match=r"another release of demo is in progress .*pid \d+ since")
        with refused, release_lock(tmp_path, "demo"):
            pass
    finally:
        done.set()
        holder.join(10)
    with release_lock(tmp_path, "demo"):  # free again once the first one ends
        pass


def _hold_lock(root, ready, done):
    with release_lock(root, "demo"):
        ready.set()
        done.wait(10)


def test_a_second_run_of_a_dataset_at_the_same_time_is_refused(tmp_path):
    import multiprocessing

    import dagster as dg
    from conftest import declare, land, small_spec

    from pipelines.runner import materialize_dataset

    declare(tmp_path, small_spec())
    land(tmp_path, rows=200, months=1)
    ready, done = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.get_context("fork").Process(target=_hold_run_lock, args=(tmp_path, ready, done))
    holder.start()
    try:
        assert ready.wait(10)
        refused = materialize_dataset(small_spec(), tmp_path, instance=dg.DagsterInstance.ephemeral())
        assert not refused.success and refused.asset_lines == []  # refused before any asset ran
        assert refused.failure.startswith("another run of ticket_triage is in progress")  # no class name
    finally:
        done.set()
        holder.join(10)


def _hold_run_lock(root, ready, done):
    from pipelines.components.resources import run_lock_name
    from pipelines.lib.locks import exclusive

    with exclusive(root, run_lock_name("ticket_triage"), "run of ticket_triage"):
        ready.set()
        # Held until the test is done: on a busy machine the refused run can take more than 10 s to
        # reach the lock, and must not find it free.
        done.wait(300)


def test_the_default_remote_is_read_from_the_config_dvc_wrote(tmp_path, monkeypatch):
    """A release does not start DVC to learn whether the workspace has a default remote when its
    own config says so, as DVC itself wrote it; a remote it cannot see there (another config
    level) is left to `dvc remote list`, so none is added beside it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    subprocess.run(["git", "init", "-q", str(tmp_path / "ws")], check=True)
    root = tmp_path / "ws"
    vcs.ensure_dvc_repo(root)
    assert vcs._has_default_remote(root / ".dvc" / "config")
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    vcs.dvc(other, "init", "-q", what="init")
    vcs.dvc(other, "remote", "add", "--local", "-d", "mine", str(tmp_path / "mine"), what="remote")
    assert not vcs._has_default_remote(other / ".dvc" / "config")
    vcs.ensure_dvc_repo(other)
    assert vcs.dvc(other, "remote", "list", what="list").split() == ["mine", str(tmp_path / "mine"), "(default)"]
