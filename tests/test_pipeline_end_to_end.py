"""The whole asset graph, materialized by Dagster on generated tickets, in a real git + DVC
workspace with a local remote."""

from __future__ import annotations

import json
import re
import subprocess

import dagster as dg
import pandas as pd
import pytest
import yaml
from conftest import AS_OF, PROJECT, TEST_KEY, land, make_workspace, small_spec

from pipelines.lib.hashing import file_sha256
from pipelines.lib.labeling.steps import PROVENANCE
from pipelines.lib.privacy.residue import find_residue
from pipelines.lib.release.consume import fetch_version, verify_version
from pipelines.lib.release.vcs import dvc_executable
from pipelines.lib.release.versions import read_manifest, versions
from pipelines.lib.spec import DatasetSpec
from pipelines.runner import materialize_dataset
from pipelines.synthetic.generate import GeneratorConfig, generate

ROWS = 5000


def run(root, spec, day=None):
    """A run over every landed day, or over `day` alone (eligible rows and the training set are
    still built from every day stored)."""
    return materialize_dataset(spec, root, start=day, end=day, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        root = make_workspace(tmp_path_factory.mktemp("e2e") / "workspace")
        folder = land(root, rows=ROWS)
        # Two broken records in the export: they must end in quarantine, not fail the run.
        days = sorted(p for p in folder.glob("*.csv") if p.stat().st_size > 500)
        for path, broken in (
            (days[10], lambda line: line + b',"extra field"'),
            (days[20], lambda line: line.replace(b"e", b"\xe9", 1)),
        ):
            lines = path.read_bytes().split(b"\n")
            lines[2] = broken(lines[2])
            path.write_bytes(b"\n".join(lines))
        yield root, run(root, small_spec())


def git(root, *args):
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def test_first_run_releases_v1_with_a_tag_and_a_commit_of_the_pointer(released):
    root, summary = released
    assert summary.success, summary.failure
    assert versions(root / "datasets" / "ticket_triage") == [1]
    assert git(root, "tag").split() == ["ticket_triage@v1"]
    committed = git(root, "show", "--name-only", "--format=", "ticket_triage@v1").split()
    assert "datasets.dvc" in committed and ".dvc/config" in committed
    assert "reports/ticket_triage/gates.json" in committed
    assert git(root, "status", "--porcelain").strip() == ""


def test_the_release_commit_carries_what_built_the_version(released):
    root, _ = released
    tree = set(git(root, "ls-tree", "-r", "--name-only", "ticket_triage@v1").split())
    assert tree >= {
        "datasets.dvc",
        ".dvc/config",
        "dvc.yaml",
        "pipelines/defs/ticket_triage/defs.yaml",
        "expectations/ticket_triage.json",
        "privacy/retention_log.jsonl",
        "reports/ticket_triage/gates.json",
        "reports/ticket_triage/coverage.csv",
        "reports/ticket_triage/gate_report.html",
    }
    manifest = read_manifest(root / "datasets" / "ticket_triage" / "v1")
    tagged_spec = git(root, "show", f"ticket_triage@v1:{manifest.spec.path}")
    assert DatasetSpec.model_validate(yaml.safe_load(tagged_spec)["attributes"]).fingerprint() == manifest.spec.sha256
    assert (
        git(root, "show", "ticket_triage@v1:expectations/ticket_triage.json")
        == (PROJECT / "expectations" / "ticket_triage.json").read_text()
    )
    stage = yaml.safe_load(git(root, "show", "ticket_triage@v1:dvc.yaml"))["stages"]["ticket_triage"]
    assert "pipelines/defs/ticket_triage/defs.yaml" in stage["params"][0]


def test_broken_records_are_quarantined_with_their_line_and_every_asset_reconciles(released):
    root, summary = released
    quarantine = pd.read_parquet(root / "data/warehouse/ticket_triage/quarantine.parquet")
    broken = quarantine[quarantine["reason"].isin(["malformed_record", "bad_encoding"])]
    assert sorted(broken["reason"]) == ["bad_encoding", "malformed_record"]
    assert broken["line"].tolist() == [3, 3] and broken["file"].str.endswith(".csv").all()
    assert not [c for c in summary.failed_checks if c.startswith("row_accounting")]
    by_reason = read_manifest(root / "datasets" / "ticket_triage" / "v1").quarantine.by_reason
    assert by_reason["malformed_record"] == 1 and by_reason["bad_encoding"] == 1


def test_manifest_is_the_lineage(released):
    root, summary = released
    version = root / "datasets" / "ticket_triage" / "v1"
    manifest = read_manifest(version)
    assert sorted(manifest.files) == ["DATASET_CARD.md", "test.parquet", "train.parquet", "validation.parquet"]
    for name, meta in manifest.files.items():
        assert file_sha256(version / name) == meta.sha256
    assert manifest.dagster_run_id == summary.run_id
    assert manifest.spec.sha256 == small_spec().fingerprint()
    assert manifest.inputs[0].source == "tickets" and manifest.inputs[0].rows > 0
    assert {p.name for p in manifest.policies} >= {"minimisation", "redaction", "consent", "retention"}
    assert all(not g.blocking for g in manifest.gates) and len(manifest.gates) == 14
    residue = manifest.pii_residue_in_files
    assert residue is not None and residue.rows == manifest.rows and residue.findings == 0 and residue.allowed == []
    for step, counts in manifest.accounting.items():
        assert counts.balanced, step
    assert manifest.rows == manifest.accounting["training_set"].rows_out == sum(c.n for c in manifest.counts)
    assert summary.release_metadata["dagster/row_count"] == manifest.rows
    assert manifest.language is not None
    assert 0.005 < manifest.language.mismatch_rate < 0.06  # the generator mislabels 3%, 1 in 6 by chance right
    docs = root / "data/warehouse/ticket_triage/gx/uncommitted/data_docs/local_site"
    assert (docs / "index.html").is_file() and list((docs / "validations").rglob("*.html"))
    card = (version / "DATASET_CARD.md").read_text()
    assert "# ticket_triage v1" in card and "min_examples_per_class" in card


def test_splits_are_stratified_and_strictly_minimised(released):
    root, _ = released
    version = root / "datasets" / "ticket_triage" / "v1"
    train, test = pd.read_parquet(version / "train.parquet"), pd.read_parquet(version / "test.parquet")
    assert list(train.columns) == [
        "ticket_id",
        "source_name",
        "user_id",
        "created_at",
        "language",
        "channel",
        "subject",
        "body",
        "category",
        *PROVENANCE,
    ]
    assert set(train["ticket_id"]).isdisjoint(test["ticket_id"])
    share = len(test) / (len(train) + len(test))
    assert 0.08 < share < 0.13
    assert train["user_id"].str.fullmatch(r"[0-9a-f]{20}").all()


def test_no_pii_in_released_files_manifest_card_or_metadata(released):
    root, summary = released
    version = root / "datasets" / "ticket_triage" / "v1"
    raw = generate(GeneratorConfig(rows=ROWS, seed=11, as_of=AS_OF, months=8)).tickets
    planted_emails = set(raw["customer_email"])
    frames = [pd.read_parquet(version / f"{split}.parquet") for split in ("train", "validation", "test")]
    for frame in frames:
        assert find_residue(frame, ["subject", "body"], dataset="ticket_triage", id_column="ticket_id") == []
        assert not set(frame["user_id"]) & set(raw["user_id"])
    bodies = pd.concat([f["body"] for f in frames])
    for placeholder in ("<EMAIL>", "<PHONE>", "<CREDIT_CARD>", "<IBAN>", "<IP_ADDRESS>", "<US_SSN>"):
        assert bodies.str.contains(placeholder).any(), placeholder
    subjects = pd.concat([f["subject"] for f in frames])
    assert subjects.str.contains("<EMAIL>").any() and subjects.str.contains("<PHONE>").any()
    text = (version / "manifest.json").read_text() + (version / "DATASET_CARD.md").read_text()
    text += json.dumps(summary.release_metadata, default=str) + "\n".join(summary.asset_lines)
    assert not any(email in text for email in planted_emails)
    refs = re.sub(r"ticket_triage@v\d+", "", text)  # the release ref is the one @ expected here
    assert "email" not in {f.kind for f in find_residue(pd.DataFrame({"text": [refs]}), ["text"], dataset="")}


def test_dvc_get_from_another_folder_retrieves_the_tagged_version(released, tmp_path):
    root, _ = released
    out = tmp_path / "elsewhere" / "v1"
    out.parent.mkdir()
    subprocess.run(
        [dvc_executable(), "get", str(root), "datasets/ticket_triage/v1", "--rev", "ticket_triage@v1", "-o", str(out)],
        cwd=out.parent,
        check=True,
        capture_output=True,
    )
    assert verify_version(out) == ["DATASET_CARD.md", "test.parquet", "train.parquet", "validation.parquet"]


def test_pull_fetches_through_dvc_and_detects_tampering(released, tmp_path):
    root, _ = released
    out = tmp_path / "pulled"
    assert len(fetch_version(root, "ticket_triage", 1, out)) == 4
    (out / "train.parquet").write_bytes(b"tampered")
    with pytest.raises(Exception, match="train.parquet has sha256"):
        verify_version(out)
    with pytest.raises(FileExistsError):
        fetch_version(root, "ticket_triage", 1, out)


def test_second_run_with_nothing_changed_creates_no_version_and_identical_bytes(released):
    root, _ = released
    before = git(root, "rev-parse", "HEAD")
    zones = root / "data" / "warehouse" / "ticket_triage"

    def stored() -> dict[str, str]:
        """Every zone file (not the caches: the day files' columns are kept once a day has aged)."""
        files = (p for p in sorted(zones.rglob("*.parquet")) if "day_columns" not in p.parts)
        return {str(p.relative_to(zones)): file_sha256(p) for p in files}

    written = stored()
    summary = run(root, small_spec())
    assert summary.success, summary.failure
    assert summary.release_metadata["created"] is False and summary.release_metadata["version"] == 1
    assert versions(root / "datasets" / "ticket_triage") == [1]
    assert git(root, "rev-parse", "HEAD") == before
    assert git(root, "status", "--porcelain").strip() == ""  # nothing released, nothing to commit
    # Every zone (raw days, quarantine, redacted days, eligible, training set) is byte-identical.
    assert stored() == written
    assert len(written) > 100


def test_a_bar_above_the_data_blocks_the_release(released):
    root, _ = released
    spec = small_spec()
    gates = spec.gates.model_dump()
    gates["min_examples_per_class"]["min"] = 1_000_000
    strict = spec.model_copy(update={"gates": type(spec.gates).model_validate(gates)})
    # Every day is stored already: a run over the last one measures the gates on the same training set.
    summary = run(root, strict, day=AS_OF)
    assert not summary.success
    failed = [c for c in summary.failed_checks if c.startswith("min_examples_per_class")]
    assert failed and "required 1000000" in failed[0] and "measured" in failed[0]
    assert summary.release_metadata == {}
    assert versions(root / "datasets" / "ticket_triage") == [1]
