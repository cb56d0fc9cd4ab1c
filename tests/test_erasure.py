"""forget -> release -> pull against a real git + DVC repository, with a local-folder remote and
with an S3 remote (moto's S3-compatible server on loopback)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import AS_OF, TEST_KEY, land, make_workspace, small_spec

from pipelines.cli import cli
from pipelines.lib.privacy.erasure import ERASURE_LOG
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.release.consume import fetch_version
from pipelines.lib.release.vcs import default_remote, dvc_executable
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.release.withdrawal import WithdrawnError, read_registry
from pipelines.lib.reports import ErasurePolicy
from pipelines.runner import materialize_dataset
from pipelines.synthetic.generate import GeneratorConfig, generate

ROWS = 4000
#: days of tickets: erasure does not depend on retention or freshness, and a run's time grows with its days
MONTHS = 2


def run(root):
    spec = small_spec()
    return materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def stored(root, digest):
    cache = root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    remote = default_remote(root) / "files" / "md5" / digest[:2] / digest[2:]
    return cache.exists(), remote.exists()


def released_user(version):
    """A user id (as the source system has it) whose tickets are in a released version, and its pseudonym."""
    splits = ("train", "validation", "test")
    released_users = pd.concat(pd.read_parquet(version / f"{s}.parquet") for s in splits)["user_id"]
    raw_users = (
        generate(GeneratorConfig(rows=ROWS, seed=11, as_of=AS_OF, months=MONTHS)).tickets["user_id"].drop_duplicates()
    )
    pseudonyms = pseudonymize(raw_users, TEST_KEY.encode())
    user_id = raw_users[pseudonyms.isin(released_users)].iloc[0]
    return user_id, pseudonyms[raw_users == user_id].iloc[0]


def test_forget_release_pull(tmp_path):
    root = make_workspace(tmp_path / "workspace")
    land(root, rows=ROWS, months=MONTHS)
    assert run(root).success
    v1 = root / "datasets" / "ticket_triage" / "v1"
    user_id, pseudonym = released_user(v1)
    v1_objects = {name: md5(v1 / name) for name in ("train.parquet", "validation.parquet", "test.parquet")}
    assert all(stored(root, d) == (True, True) for d in v1_objects.values())

    result = CliRunner().invoke(cli, ["forget", user_id, "--reason", "GDPR art. 17", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    assert user_id not in result.output and user_id not in (root / ERASURE_LOG).read_text()
    raw_zone = pd.concat(
        pd.read_parquet(p) for p in (root / "data/warehouse/ticket_triage/raw_tickets").glob("*.parquet")
    )
    assert user_id not in set(raw_zone["user_id"])

    summary = run(root)
    assert summary.success, summary.failure
    assert summary.release_metadata["version"] == 2 and summary.release_metadata["created"]
    v2 = root / "datasets" / "ticket_triage" / "v2"
    v2_users = pd.concat(pd.read_parquet(v2 / f"{s}.parquet") for s in ("train", "validation", "test"))["user_id"]
    assert pseudonym not in set(v2_users)
    erasure = next(p for p in read_manifest(v2).policies if isinstance(p, ErasurePolicy))
    assert erasure.requests == 1

    withdrawn = read_registry(root, "ticket_triage")["withdrawn"]
    assert withdrawn["1"]["replaced_by"] == 2 and withdrawn["1"]["reason"] == "erasure"
    assert not list(v1.glob("*.parquet")) and (v1 / "WITHDRAWN.md").exists() and (v1 / "manifest.json").exists()
    v2_digests = {md5(p) for p in v2.glob("*.parquet")}
    for digest in set(v1_objects.values()) - v2_digests:
        assert stored(root, digest) == (False, False)
    assert all(stored(root, d) == (True, True) for d in v2_digests)
    committed = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout
    assert "registry/ticket_triage.json" in committed and str(ERASURE_LOG) in committed

    with pytest.raises(WithdrawnError, match=r"ticket_triage@v1 was withdrawn .* use ticket_triage@v2 instead"):
        fetch_version(root, "ticket_triage", 1, tmp_path / "v1")
    assert len(fetch_version(root, "ticket_triage", 2, tmp_path / "v2")) == 4
    cli_pull = CliRunner().invoke(
        cli, ["pull", "ticket_triage@v1", "-o", str(tmp_path / "x"), "--workspace", str(root)]
    )
    assert cli_pull.exit_code != 0
    moved = json.loads(
        CliRunner().invoke(cli, ["gates", "--workspace", str(root), "--compare", "v1", "v2", "--format", "json"]).output
    )
    assert {row["gate"] for row in moved["gates"]} >= {"min_examples_per_class", "max_share_drop"}
    assert any(row["segment"] == "category=Account" for row in moved["shares"])
    listing = CliRunner().invoke(cli, ["versions", "--workspace", str(root)]).output
    assert "ticket_triage@v1  WITHDRAWN" in listing and "use v2" in listing
    # DVC's own tools cannot fetch the purged bytes either
    dvc_get = subprocess.run(
        [
            dvc_executable(),
            "get",
            str(root),
            "datasets/ticket_triage/v1",
            "--rev",
            "ticket_triage@v1",
            "-o",
            str(tmp_path / "g"),
        ],
        capture_output=True,
        text=True,
    )
    assert dvc_get.returncode != 0
    assert json.loads((root / ERASURE_LOG).read_text().splitlines()[0])["reason"] == "GDPR art. 17"


@pytest.fixture
def s3_endpoint(monkeypatch):
    """An S3-compatible server (moto) on a free loopback port, holding an empty bucket `trainset`."""
    server = os.environ.get("TRAINSET_TEST_S3_SERVER", "")
    if not Path(server).is_file():
        pytest.skip("TRAINSET_TEST_S3_SERVER must name moto_server (`make test` installs and sets it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/trainset", method="PUT"), timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.2)
    # moto checks no signature; DVC's S3 client still wants credentials to sign with
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "trainset-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "trainset-test")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def bucket_keys(endpoint):
    with urllib.request.urlopen(f"{endpoint}/trainset?list-type=2", timeout=10) as response:
        listing = ET.fromstring(response.read())
    return {element.text for element in listing.iter() if element.tag.endswith("}Key")}


def test_forget_purges_withdrawn_objects_from_an_s3_remote(tmp_path, s3_endpoint):
    root = make_workspace(tmp_path / "workspace")
    dvc = dvc_executable()
    subprocess.run([dvc, "init", "-q"], cwd=root, check=True)
    subprocess.run([dvc, "remote", "add", "-d", "store", "s3://trainset/releases"], cwd=root, check=True)
    subprocess.run([dvc, "remote", "modify", "store", "endpointurl", s3_endpoint], cwd=root, check=True)
    land(root, rows=ROWS, months=MONTHS)
    assert run(root).success
    v1 = root / "datasets" / "ticket_triage" / "v1"
    v1_objects = {md5(p) for p in v1.glob("*.parquet")}
    key = "releases/files/md5/{}/{}".format
    assert {key(d[:2], d[2:]) for d in v1_objects} <= bucket_keys(s3_endpoint)
    assert not default_remote(root).exists()  # the configured remote was used, no default added

    user_id, _ = released_user(v1)
    forgotten = CliRunner().invoke(cli, ["forget", user_id, "--reason", "GDPR art. 17", "--workspace", str(root)])
    assert forgotten.exit_code == 0, forgotten.output
    summary = run(root)
    assert summary.success, summary.failure
    v2_objects = {md5(p) for p in (root / "datasets" / "ticket_triage" / "v2").glob("*.parquet")}
    keys = bucket_keys(s3_endpoint)
    assert not {key(d[:2], d[2:]) for d in v1_objects - v2_objects} & keys
    assert {key(d[:2], d[2:]) for d in v2_objects} <= keys
    assert not any(stored(root, d)[0] for d in v1_objects - v2_objects)
    # v2 comes back from the bucket alone: drop the local cache first
    shutil.rmtree(root / ".dvc" / "cache")
    assert len(fetch_version(root, "ticket_triage", 2, tmp_path / "v2")) == 4
    # A colleague's clone reaches the same bucket through the committed .dvc/config.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    pulled = CliRunner().invoke(
        cli, ["pull", "ticket_triage@v2", "-o", str(tmp_path / "c2"), "--workspace", str(clone)]
    )
    assert pulled.exit_code == 0 and "every sha256 matches manifest.json" in pulled.output


def test_forgetting_an_id_that_matches_nothing_says_so_without_repeating_it(tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import cli

    root = make_workspace(tmp_path / "workspace")
    result = CliRunner().invoke(cli, ["forget", "u-mistyped-0001", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    assert "matched no stored row of any dataset" in result.stderr
    assert "u-mistyped-0001" not in result.output + result.stderr
