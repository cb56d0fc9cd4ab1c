"""A database table as a source, end to end: filled, released; rows inserted afterwards reach the
next version through the landing sensor. Against the real PostgreSQL server (a schema of its own,
dropped afterwards) and against SQLite, the embedded default."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import AS_OF, POSTGRES_URL, make_workspace, postgres_schema, small_spec
from sqlalchemy.pool import NullPool

from pipelines.components.assets import RANGE_END, RANGE_START
from pipelines.components.resources import TrainsetWorkspace, job_name
from pipelines.definitions import build_definitions
from pipelines.lib.catalog import get_spec
from pipelines.lib.ingest.landing import read_ledger
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.spec import DatasetSpec, GatesSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.runner import materialize_dataset
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

URL_ENV = "TRAINSET_TEST_TICKETS_DATABASE"
LATER = AS_OF - timedelta(days=10)  # rows created on or after this day are inserted after the first release


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    """(engine, the source's keys): an empty database the source reads its `tickets` table from."""
    if request.param == "sqlite":
        (tmp_path / "workspace" / "data").mkdir(parents=True)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'workspace' / 'data' / 'crm.db'}", poolclass=NullPool)
        yield engine, {"url": "sqlite:///data/crm.db", "table": "tickets"}
        engine.dispose()
        return
    with postgres_schema("trainset_e2e") as (engine, schema):
        monkeypatch.setenv(URL_ENV, POSTGRES_URL)
        yield engine, {"url_env": URL_ENV, "table": f"{schema}.tickets"}


def sql_spec(keys: dict) -> DatasetSpec:
    spec = small_spec()
    base = spec.sources[0].model_dump(exclude={"path", "format", "encoding", "delimiter"})
    source = SourceSpec.model_validate(base | {"kind": "sql", "watermark": "updated_at"} | keys)
    # The gates are measured (and reported) but warn: this test is about where the rows come from.
    gates = {name: dict(params, severity="warn") for name, params in spec.gates.model_dump().items() if params}
    return spec.model_copy(update={"sources": [source], "gates": GatesSpec.model_validate(gates)})


def insert(engine: sa.Engine, table: str, tickets: pd.DataFrame) -> None:
    frame = tickets.assign(created_at=pd.to_datetime(tickets["created_at"], utc=True))
    # The source system stamps each insert or update; here, an hour after the ticket was created.
    frame["updated_at"] = frame["created_at"] + pd.Timedelta(hours=1)
    schema, _, name = table.rpartition(".")
    frame.to_sql(name, engine, schema=schema or None, if_exists="append", index=False)


def test_a_table_releases_and_rows_inserted_later_reach_the_next_version_through_the_sensor(tmp_path, database):
    engine, keys = database
    spec = sql_spec(keys)
    root = make_workspace(tmp_path / "workspace", spec)
    export = generate(GeneratorConfig(rows=1200, seed=11, as_of=AS_OF, months=1))  # a run's time grows with its days
    write_landing(export, root / "data" / "landing")  # the annotations and opt-outs the spec names
    tickets = export.tickets
    later = tickets["created_at"].str.slice(0, 10) >= LATER.isoformat()
    insert(engine, keys["table"], tickets.loc[~later])

    instance = dg.DagsterInstance.ephemeral()
    first = materialize_dataset(spec, root, as_of=AS_OF, instance=instance)
    assert first.success, first.failure
    v1 = read_manifest(root / "datasets" / spec.name / "v1")
    assert v1.inputs[0].path == f"sql:{keys['table']}" and v1.inputs[0].exports == 1
    assert v1.accounting["raw_tickets"].rows_in == int((~later).sum())

    insert(engine, keys["table"], tickets.loc[later])
    _, spec_file = get_spec(spec.name, root)
    defs = build_definitions(root, datasets=[(spec, spec_file)], as_of=AS_OF)
    sensor = defs.resolve_sensor_def(f"{spec.name}_landing_sensor")
    resources = {"workspace": TrainsetWorkspace(root=str(root), as_of=AS_OF.isoformat())}
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags[RANGE_START] >= LATER.isoformat()  # only the days the new rows are of
    result = defs.resolve_job_def(job_name(spec.name)).execute_in_process(
        instance=instance, tags=request.tags, raise_on_error=False
    )
    assert result.success
    v2 = read_manifest(root / "datasets" / spec.name / "v2")
    assert v2.rows > v1.rows
    released = pd.concat(pd.read_parquet(p) for p in (root / "datasets" / spec.name / "v2").glob("*.parquet"))
    assert released["ticket_id"].isin(tickets.loc[later, "ticket_id"]).any()
    ledger = read_ledger(DatasetPaths(root, spec.name), "tickets")
    assert [e.records for e in ledger.exports] == [int((~later).sum()), int(later.sum())]
    # The watermark is the newest `updated_at` read (stored naive in SQLite, as UTC in PostgreSQL).
    newest = pd.Timestamp(tickets.loc[later, "created_at"].max()) + pd.Timedelta(hours=1)
    assert ledger.watermark is not None and ledger.watermark["kind"] == "datetime"
    assert pd.Timestamp(ledger.watermark["value"]).replace(tzinfo=None) == newest.replace(tzinfo=None)
    # Nothing new: the sensor skips, and a run lands nothing twice.
    with dg.build_sensor_context(resources=resources, instance=instance) as context:
        assert isinstance(sensor(context), dg.SkipReason)
    assert RANGE_END in request.tags
