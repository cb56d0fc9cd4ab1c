"""eligible and labeled are built a batch at a time: the files and reports are those of one frame
of every row, whatever the batch size; a day out of order is built from one frame."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import AS_OF, PROJECT, TEST_KEY, land, make_workspace, small_spec

import pipelines.lib.privacy.eligible as privacy_eligible
from pipelines.lib import batches
from pipelines.lib.accounting import NothingLeftError
from pipelines.lib.catalog import get_spec
from pipelines.lib.files import write_parquet
from pipelines.lib.labeling.steps import build_labeled
from pipelines.lib.labeling.store import save_annotations
from pipelines.lib.privacy.erasure import record_request
from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.privacy.steps import build_eligible
from pipelines.lib.quality import schemas
from pipelines.lib.report_files import read_eligibility
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.runner import materialize_dataset


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """A workspace whose every asset was materialized once (8 months of days), with an erasure
    request recorded since."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        root = make_workspace(tmp_path_factory.mktemp("streamed") / "workspace")
        land(root, rows=3000)
        spec = small_spec()
        materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
        raw = sorted((DatasetPaths(root, spec.name).warehouse / "raw_tickets").glob("*.parquet"))[-1]
        user = str(pd.read_parquet(raw, columns=[spec.columns.user]).iloc[0, 0])
        record_request(root, user, {spec.name: load_key(spec.privacy.key_env)}, "a test")
        yield root


@pytest.fixture
def workspace_copy(landed, tmp_path):
    root = tmp_path / "workspace"
    shutil.copytree(landed, root, symlinks=True)
    return root


def _outputs(paths: DatasetPaths, *names: str) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(paths.warehouse / f"{name}.parquet") for name in names}


def _same(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for name, frame in left.items():
        pd.testing.assert_frame_equal(frame, right[name], check_exact=True, obj=name)


def _at_once(*_, **__):
    raise batches.OutOfOrderError("built from one frame")


def test_eligible_in_batches_is_eligible_from_one_frame(workspace_copy, monkeypatch):
    spec = small_spec()
    paths, key = DatasetPaths(workspace_copy, spec.name), load_key(spec.privacy.key_env)
    monkeypatch.setattr(batches, "BATCH_ROWS", 97)
    streamed = build_eligible(paths, spec, AS_OF, key)
    assert pq.ParquetFile(paths.eligible).metadata.num_row_groups > 10  # a batch of a few days each
    written = _outputs(paths, "eligible")
    monkeypatch.setattr(privacy_eligible, "_eligible_in_batches", _at_once)
    whole = build_eligible(paths, spec, AS_OF, key)
    assert pq.ParquetFile(paths.eligible).metadata.num_row_groups == 1
    _same(written, _outputs(paths, "eligible"))
    assert streamed == whole == read_eligibility(paths)
    removed = streamed.accounting.removed
    assert removed["erasure_request"] > 0 and removed["consent_opt_out"] > 0
    assert streamed.contract.passed


def test_a_row_before_its_day_is_built_from_one_frame_in_the_global_order(workspace_copy, monkeypatch):
    spec = small_spec()
    paths, key = DatasetPaths(workspace_copy, spec.name), load_key(spec.privacy.key_env)
    days = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    # The last row of a late day is stamped a month earlier: sorting each batch alone is not enough.
    late = days[-5]
    frame = pd.read_parquet(late)
    frame.loc[len(frame) - 1, spec.columns.timestamp] -= pd.Timedelta(days=30)
    write_parquet(frame, late)
    monkeypatch.setattr(batches, "BATCH_ROWS", 50)
    fallen_back = build_eligible(paths, spec, AS_OF, key)
    written = _outputs(paths, "eligible")["eligible"]
    assert pq.ParquetFile(paths.eligible).metadata.num_row_groups == 1
    order = [spec.columns.timestamp, spec.id_column]
    pd.testing.assert_frame_equal(written, written.sort_values(order).reset_index(drop=True))
    monkeypatch.setattr(privacy_eligible, "_eligible_in_batches", _at_once)
    assert build_eligible(paths, spec, AS_OF, key) == fallen_back


def test_no_row_left_in_any_batch_says_why_and_leaves_eligible_as_it_was(workspace_copy, monkeypatch):
    spec = small_spec()
    paths, key = DatasetPaths(workspace_copy, spec.name), load_key(spec.privacy.key_env)
    before = paths.eligible.read_bytes()
    monkeypatch.setattr(batches, "BATCH_ROWS", 97)
    with pytest.raises(NothingLeftError, match="rows are before .*, the oldest day retention"):
        build_eligible(paths, spec, date(2030, 1, 1), key)
    assert paths.eligible.read_bytes() == before
    assert not list(paths.warehouse.glob(".*.tmp"))


def test_labeled_in_batches_is_labeled_from_one_frame(workspace_copy, monkeypatch):
    spec = small_spec()
    paths = DatasetPaths(workspace_copy, spec.name)
    monkeypatch.setattr(batches, "BATCH_ROWS", 10**9)
    whole = build_labeled(paths, spec)
    written = _outputs(paths, "labeled", "unlabeled")
    monkeypatch.setattr(batches, "BATCH_ROWS", 61)
    assert build_labeled(paths, spec) == whole
    assert pq.ParquetFile(paths.labeled).metadata.num_row_groups > 10
    _same(written, _outputs(paths, "labeled", "unlabeled"))


CLASSES_TEXT = [
    "I was charged twice, refund the invoice",
    "The app shows an error and crashes",
    "I cannot login, reset my password",
    "Do you have an office in Lisbon",
]


@pytest.fixture
def annotated(tmp_path) -> tuple[DatasetSpec, DatasetPaths]:
    """Eligible rows written as they are (ids not pseudonyms, no source column: the contract fails
    on every row, and on the frame's columns once), a third unlabelled, one id held twice in rows far
    apart, and a labeling batch of annotations: agreed items, a tie for the steward, gold."""
    spec, _ = get_spec("ticket_triage")
    weak = spec.labeling.weak.model_copy(update={"train": True})
    labeling = spec.labeling.model_copy(update={"weak": weak, "min_agreement": 0.0})
    spec = spec.model_copy(update={"labeling": labeling})
    root = tmp_path / "workspace"
    guideline = root / "pipelines/defs/ticket_triage/guideline.md"
    guideline.parent.mkdir(parents=True)
    shutil.copyfile(PROJECT / "pipelines/defs/ticket_triage/guideline.md", guideline)
    paths = DatasetPaths(root, spec.name)
    n = 300
    ids = [f"T{i:04d}" for i in range(n)]
    ids[250] = ids[20]
    labels = [[None, "Billing", "Technical"][i % 3] for i in range(n)]
    frame = pd.DataFrame(
        {
            "ticket_id": ids,
            "user_id": "0123456789abcdef0123",
            "created_at": pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(range(n), unit="min"),
            "language": ["en", "de", "pt"] * (n // 3),
            "channel": "email",
            "subject": [CLASSES_TEXT[i % 4] for i in range(n)],
            "body": "",
            "category": pd.Series(labels, dtype="str"),
        }
    )
    write_parquet(frame, paths.eligible)
    # Ties on rows no weak rule labels (the fourth text, unlabelled) wait for the steward.
    ties = [f"T{i:04d}" for i in range(3, n, 12)][:6]
    items = [f"T{i:04d}" for i in range(0, 200, 7)] + ties + ["T9999", "gold:G1"]
    votes = {item: ["Billing", "Account" if item in ties or i % 5 == 0 else "Billing"] for i, item in enumerate(items)}
    annotations = pd.DataFrame(
        {
            "item": [item for item in items for _ in range(2)],
            "annotator": ["11", "12"] * len(items),
            "label": [label for item in items for label in votes[item]],
            "batch": "p1-pilot",
            "gold": [item.startswith("gold:") for item in items for _ in range(2)],
            "ground_truth": False,
            "annotated_at": pd.Timestamp("2026-11-01", tz="UTC"),
            "tool": "label_studio",
            "task": "1",
        }
    )
    (root / "export.json").write_text("[]")
    save_annotations(paths, annotations, "p1-pilot", root / "export.json")
    return spec, paths


def test_labels_annotations_weak_labels_and_the_queue_are_the_same_in_batches(annotated, monkeypatch):
    spec, paths = annotated
    monkeypatch.setattr(batches, "BATCH_ROWS", 10**9)
    whole = build_labeled(paths, spec)
    written = _outputs(paths, "labeled", "unlabeled")
    queue = (paths.labeling_work / "queue.csv").read_text()
    monkeypatch.setattr(batches, "BATCH_ROWS", 7)
    streamed = build_labeled(paths, spec)
    assert streamed == whole
    _same(written, _outputs(paths, "labeled", "unlabeled"))
    assert (paths.labeling_work / "queue.csv").read_text() == queue
    assert streamed.queue > 0 and streamed.annotations_unmatched == 2 and set(streamed.by_source) >= {"weak"}
    # The contract counts failures as one validation of every row does: the id held twice in
    # batches apart, each id that is no pseudonym, the missing source column once.
    assert streamed.contract == schemas.validate(schemas.labeled_schema(spec), written["labeled"])
    assert streamed.contract.failures["ticket_id / field_uniqueness"] == 2
