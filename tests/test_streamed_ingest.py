"""raw_<source> and redacted are built a group of days at a time: the day files, reports,
contract, residue review and quarantine are those of one batch of every day, whatever the group
size."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import AS_OF, TEST_KEY, land, make_workspace, small_spec

import pipelines.lib.ingest.steps as ingest_steps
import pipelines.lib.privacy.steps as privacy_steps
from pipelines.lib import batches
from pipelines.lib.ingest.landing import landed_days
from pipelines.lib.ingest.sources import land_source
from pipelines.lib.ingest.steps import land_raw
from pipelines.lib.membership import is_in
from pipelines.lib.privacy.steps import redact_partitions
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

KEY = TEST_KEY.encode()


@pytest.fixture(scope="module")
def raw_landed(tmp_path_factory) -> Path:
    """A workspace whose four months of generated exports were landed and parsed into raw days."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        root = make_workspace(tmp_path_factory.mktemp("streamed_ingest") / "workspace")
        _harsh_exports(land(root, rows=1500, months=4))
        spec = small_spec()
        paths = DatasetPaths(root, spec.name)
        land_source(paths, spec, spec.sources[0], as_of=AS_OF)
        land_raw(paths, spec, "tickets", _days(paths, spec), AS_OF)
        yield root


def _harsh_exports(folder: Path) -> None:
    """In every fifth export: a record twice, its copy dated 40 days later; a record whose first
    copy lacks its user and whose clean copy is dated 60 days later; an unparseable timestamp."""
    for path in sorted(folder.glob("*.csv"))[::5]:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        later, clean, undated = frame.iloc[0].copy(), frame.iloc[1].copy(), frame.iloc[2].copy()
        later["created_at"] = _days_later(later["created_at"], 40)
        clean["created_at"] = _days_later(clean["created_at"], 60)
        frame.loc[frame.index[1], "user_id"] = ""
        undated["ticket_id"], undated["created_at"] = undated["ticket_id"] + "-u", "not a time"
        pd.concat([frame, pd.DataFrame([later, clean, undated])]).to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def _days_later(timestamp: str, days: int) -> str:
    return (pd.Timestamp(timestamp) + pd.Timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def raw_copy(raw_landed, tmp_path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(raw_landed, root, symlinks=True)
    return root


def _days(paths: DatasetPaths, spec: DatasetSpec) -> list[str]:
    return sorted(landed_days(paths, spec.sources[0].name))


def _files(folder: Path, pattern: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob(pattern))}


def _redacted_files(paths: DatasetPaths) -> dict[str, bytes]:
    return _files(paths.warehouse / "redacted", "*.parquet") | _files(paths.warehouse / "stats", "redacted.*.json")


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Calls of `module.name` counted in the list returned."""
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _plant_residue(paths: DatasetPaths, spec: DatasetSpec) -> None:
    """Residue left in the raw text of every tenth day (as if ingest missed it), a label out of the
    classes, and one id in two days: findings, contract failures and a duplicate across groups."""
    files = sorted((paths.warehouse / "raw_tickets").glob("*.parquet"))
    shared = None
    for n, path in enumerate(files[::10]):
        table = pq.read_table(path)
        if not len(table):
            continue
        frame = table.to_pandas()
        first, last = frame.index[0], frame.index[-1]
        frame.loc[first, "body"] = "write to jane.doe@example.com or 4155550123 " + str(frame.loc[first, "body"])
        frame.loc[last, spec.labels.column] = "Bogus"
        shared = frame.loc[last, spec.id_column] if shared is None else shared
        if n == 3:
            frame.loc[last, spec.id_column] = shared
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False, schema=table.schema), path)


def _allow_some(root: Path, spec: DatasetSpec, findings: list) -> None:
    """Allowances: two findings, one naming an offset with no finding, one a row never stored, one expired."""
    base = {"reason": "reviewed, not personal data", "approver": "data-governance/alice", "expires": "2999-12-31"}
    named = [{k: f[k] for k in ("row_id", "column", "offset", "kind")} for f in findings[:10:2]]
    changes = [{}, {}, {"offset": 999}, {"row_id": "T99999999"}, {"expires": "2020-01-01"}]
    allow = [{"dataset": spec.name, **f, **base, **change} for f, change in zip(named, changes, strict=True)]
    (root / "waivers.yaml").write_text(yaml.safe_dump({"residue_allow": allow}, sort_keys=False))


def test_redacted_in_groups_of_days_is_redacted_in_one_batch(raw_copy, monkeypatch):
    spec = small_spec()
    paths = DatasetPaths(raw_copy, spec.name)
    days = _days(paths, spec)
    _plant_residue(paths, spec)
    found = redact_partitions(paths, spec, days, KEY).pii_residue.unreviewed
    _allow_some(raw_copy, spec, [f.model_dump(mode="json") for f in found])
    groups = _counting(monkeypatch, privacy_steps, "_redact_days")

    grouped = redact_partitions(paths, spec, days, KEY, rows=60)
    calls = len(groups)
    assert calls > 10
    written = _redacted_files(paths)
    whole = redact_partitions(paths, spec, days, KEY, rows=10**9)
    assert len(groups) == calls + 1  # every day at once

    assert _redacted_files(paths) == written
    assert grouped == whole
    review = whole.pii_residue
    assert review.findings > 10 and len(review.allowed) == 2 and len(review.unmatched) == 2 and review.expired
    assert not whole.contract.passed and f"{spec.id_column} / field_uniqueness" in whole.contract.failures


def test_days_redacted_on_ingest_under_other_rules_are_redacted_in_one_batch(raw_copy, monkeypatch):
    """Some days redacted on the way in, some not: one batch, as before."""
    spec = small_spec()
    paths = DatasetPaths(raw_copy, spec.name)
    days = _days(paths, spec)
    for day in days[::3]:
        (paths.warehouse / "stats" / f"raw_tickets.{day}.json").unlink()
    groups = _counting(monkeypatch, privacy_steps, "_redact_days")
    redact_partitions(paths, spec, days, KEY, rows=60)
    assert len(groups) == 1


def _two_sources(root: Path, spec: DatasetSpec, prefix: str) -> DatasetSpec:
    """The spec with a second source whose raw days are copies of the first's, ids prefixed."""
    paths = DatasetPaths(root, spec.name)
    second = spec.sources[0].model_copy(update={"name": "mirror"})
    (paths.warehouse / "raw_mirror").mkdir()
    for path in sorted((paths.warehouse / "raw_tickets").glob("*.parquet")):
        frame = pd.read_parquet(path)
        frame[spec.id_column] = prefix + frame[spec.id_column]
        frame.to_parquet(paths.warehouse / "raw_mirror" / path.name, index=False)
        report = paths.warehouse / "stats" / f"raw_tickets.{path.stem}.json"
        shutil.copy(report, report.with_name(f"raw_mirror.{path.stem}.json"))  # redacted on the way in too
    return spec.model_copy(update={"sources": [*spec.sources, second]})


def test_two_sources_redacted_in_groups_are_redacted_in_one_batch(raw_copy, monkeypatch):
    spec = _two_sources(raw_copy, small_spec(), "m:")
    paths = DatasetPaths(raw_copy, spec.name)
    days = _days(paths, spec)
    groups = _counting(monkeypatch, privacy_steps, "_redact_days")
    grouped = redact_partitions(paths, spec, days, KEY, rows=60)
    assert len(groups) > 10
    written = _redacted_files(paths)
    assert redact_partitions(paths, spec, days, KEY, rows=10**9) == grouped
    assert _redacted_files(paths) == written


def test_an_id_two_sources_hold_is_refused_before_any_day_is_written(raw_copy):
    spec = _two_sources(raw_copy, small_spec(), "")
    paths = DatasetPaths(raw_copy, spec.name)
    with pytest.raises(ValueError, match=r"record id\(s\) of 'ticket_id' are held by more than one of the sources"):
        redact_partitions(paths, spec, _days(paths, spec), KEY, rows=60)
    assert not list((paths.warehouse / "redacted").glob("*.parquet"))


def _raw_files(paths: DatasetPaths) -> dict[str, bytes]:
    warehouse = paths.warehouse
    return (
        _files(warehouse / "raw_tickets", "*.parquet")
        | {f"q/{k}": v for k, v in _files(warehouse / "quarantine" / "tickets", "*.parquet").items()}
        | _files(warehouse / "stats", "raw_tickets.*.json")
    )


def test_raw_in_groups_of_days_is_raw_in_one_batch(raw_copy, monkeypatch):
    """Duplicates across groups (a later copy, a clean copy after a quarantined one) are found as
    in one batch; the raw and quarantined days, reports and contract are the same."""
    spec = small_spec()
    paths = DatasetPaths(raw_copy, spec.name)
    days = _days(paths, spec)
    groups = _counting(monkeypatch, ingest_steps, "read_landed_days")
    grouped = land_raw(paths, spec, "tickets", days, AS_OF, rows=60)
    calls = len(groups)
    assert calls > 10
    written = _raw_files(paths)
    whole = land_raw(paths, spec, "tickets", days, AS_OF, rows=10**9)
    assert len(groups) == calls + 1  # every day at once
    assert whole == grouped
    assert _raw_files(paths) == written
    removed = whole.accounting.removed
    assert removed["quarantined:duplicate_id"] >= 2 * len(days[::5]) // 3
    assert removed["quarantined:missing_required_field"] and removed["quarantined:unparseable_timestamp"]


def test_the_days_of_a_later_run_count_the_days_landed_before_it(raw_copy):
    spec = small_spec()
    paths = DatasetPaths(raw_copy, spec.name)
    days = _days(paths, spec)[40:]
    grouped = land_raw(paths, spec, "tickets", days, AS_OF, rows=60)
    written = _raw_files(paths)
    assert land_raw(paths, spec, "tickets", days, AS_OF, rows=10**9) == grouped
    assert _raw_files(paths) == written


def test_values_seen_in_earlier_batches_are_those_is_in_finds_even_when_hashes_collide(monkeypatch):
    """With a 2-bit hash nearly every value collides: only the values themselves decide."""
    coarse = batches.text_hashes
    monkeypatch.setattr(batches, "text_hashes", lambda values: coarse(values) % 4)
    earlier = [pd.Series(["a", "b", None, "c"], dtype="str"), pd.Series(["d", "e"], dtype="str")]
    seen = batches.SeenValues()
    for values in earlier:
        seen.add(values)
    asked = pd.Series(["e", "x", None, "a", "y", "c", "zz"], dtype="str", index=range(10, 17))
    expected = is_in(asked, pd.concat(earlier, ignore_index=True))
    pd.testing.assert_series_equal(seen.held(asked), expected)
    assert seen.held(asked).tolist() == [True, False, True, True, False, True, False]
    assert not batches.SeenValues().held(asked).any()
