"""The whole asset graph, materialized by Dagster on generated tickets, in a real git + DVC
workspace with a local remote."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import pandas as pd
import pytest

from conftest import AS_OF, land, make_workspace, small_spec
from pipelines.components.assets import build_dataset_defs
from pipelines.components.resources import TrainsetWorkspace
from pipelines.lib.catalog import get_spec
from pipelines.lib.release import versions
from pipelines.runner import materialize_dataset


def run(root, spec):
    workspace = TrainsetWorkspace(root=str(root), as_of=AS_OF.isoformat())
    _, spec_file = get_spec("ticket_triage")
    defs = dg.Definitions(assets=build_dataset_defs(spec, spec_file).assets, jobs=build_dataset_defs(spec, spec_file).jobs,
                          resources={"workspace": workspace})
    return materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral(), defs=defs)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TRAINSET_PSEUDONYM_KEY", "test-pseudonymisation-key")
    root = make_workspace(tmp_path_factory.mktemp("e2e") / "workspace")
    land(root)
    summary = run(root, small_spec())
    yield root, summary
    mp.undo()


def test_first_run_releases_v1(released):
    root, summary = released
    assert summary.success, summary.failure
    assert versions(root / "datasets" / "ticket_triage") == [1]
    tags = subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    assert tags == ["ticket_triage@v1"]
