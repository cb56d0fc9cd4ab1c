"""How runs execute: the executor the environment declares, the backfill policy of days, the
dataset's pool, the order of sources, and the run lock's shared mode for steps on workers."""

from __future__ import annotations

import dagster as dg
import pytest
from conftest import declare, small_spec

from pipelines.components.assets import pool_name
from pipelines.components.execution import Execution, ExecutionError
from pipelines.definitions import build_definitions
from pipelines.lib.locks import LockedError, exclusive
from pipelines.lib.spec import DatasetSpec


def _nodes(root, spec: DatasetSpec) -> dict:
    defs = build_definitions(root, datasets=[(spec, declare(root, spec))])
    return {node.key.path[-1]: node for node in defs.resolve_asset_graph().asset_nodes}


def test_runs_are_in_process_unless_the_environment_says_celery(tmp_path, monkeypatch):
    monkeypatch.delenv("TRAINSET_EXECUTOR", raising=False)
    assert Execution.from_environment().executor_def() is dg.in_process_executor
    assert _nodes(tmp_path, small_spec())["redacted"].backfill_policy == dg.BackfillPolicy.single_run()

    monkeypatch.setenv("TRAINSET_EXECUTOR", "celery")
    monkeypatch.setenv("TRAINSET_DAYS_PER_RUN", "7")
    execution = Execution.from_environment()
    assert execution.distributed and execution.executor_def().name == "celery"
    nodes = _nodes(tmp_path, small_spec())
    assert nodes["redacted"].backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=7)
    assert nodes["raw_tickets"].backfill_policy == dg.BackfillPolicy.single_run()  # ingest never races itself


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [("TRAINSET_EXECUTOR", "dask", "use `in_process`"), ("TRAINSET_DAYS_PER_RUN", "0", "whole number of days")],
)
def test_a_wrong_execution_setting_is_named(monkeypatch, name, value, said):
    monkeypatch.setenv(name, value)
    with pytest.raises(ExecutionError, match=said) as raised:
        Execution.from_environment()
    assert name in str(raised.value)


def test_ingest_and_whole_history_steps_share_the_datasets_pool_and_sources_land_in_order(tmp_path):
    spec = small_spec()
    second = spec.sources[0].model_copy(update={"name": "chats", "path": "data/landing/chats"})
    spec = spec.model_copy(update={"sources": [*spec.sources, second]})
    nodes = _nodes(tmp_path, spec)
    serial = {"raw_tickets", "raw_chats", "quarantine", "eligible", "labeled", "training_set", "release"}
    assert {name for name, node in nodes.items() if node.pools == {pool_name(spec.name)}} == serial
    assert nodes["redacted"].pools == set()  # days are redacted side by side
    assert dg.AssetKey([spec.name, "raw_tickets"]) in nodes["raw_chats"].parent_keys


def test_steps_on_workers_hold_the_run_lock_shared_and_exclude_an_in_process_run(tmp_path):
    step = lambda: exclusive(tmp_path, "x.run", "run of x", shared=True)  # noqa: E731
    run = lambda: exclusive(tmp_path, "x.run", "run of x")  # noqa: E731
    with step(), step(), pytest.raises(LockedError, match="a step of a distributed run"), run():
        pass
    with run(), pytest.raises(LockedError, match="another run of x is in progress"), step():
        pass
