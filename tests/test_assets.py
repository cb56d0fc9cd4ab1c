"""Single assets materialized by Dagster on one daily partition, and a blocking check that fails."""

from __future__ import annotations

import dagster as dg
from conftest import AS_OF, land, small_spec

from pipelines.components.assets import RANGE_END, RANGE_START, build_dataset_defs
from pipelines.components.resources import TrainsetWorkspace
from pipelines.lib.catalog import get_spec
from pipelines.lib.ingest.sources import land_source
from pipelines.lib.spec import PrivacySpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.synthetic.generate import GeneratorConfig, generate

DAY = "2026-10-30"
#: landing reads every export: one month of them is enough for one day, or a few, to be run
MONTHS = 1


def materialize(workspace, spec, selection):
    _, spec_file = get_spec("ticket_triage")
    defs = build_dataset_defs(spec, spec_file)
    return dg.materialize(
        list(defs.assets),
        selection=selection,
        partition_key=DAY,
        resources={"workspace": TrainsetWorkspace(root=str(workspace), as_of=AS_OF.isoformat())},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_raw_and_redacted_on_one_partition_account_for_every_row(workspace):
    land(workspace, rows=3000, months=MONTHS)
    result = materialize(workspace, small_spec(), ["ticket_triage/raw_tickets", "ticket_triage/redacted"])
    assert result.success
    meta = {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("ticket_triage__redacted")}
    redacted = meta["redacted"]
    assert redacted["rows_in"].value == redacted["rows_out"].value == redacted["dagster/row_count"].value > 0
    assert redacted["replaced/email"].value > 0 and "customer_email" in redacted["dropped_columns"].value
    assert all(e.passed for e in checks(result).values())
    raw = result.asset_materializations_for_node("ticket_triage__raw_tickets")[0].metadata
    assert raw["dagster/row_count"].value == raw["rows_out"].value == raw["rows_in"].value - raw["quarantined"].value
    assert (workspace / "data/warehouse/ticket_triage/redacted" / f"{DAY}.parquet").is_file()
    assert not (workspace / "data/warehouse/ticket_triage/redacted" / "2026-10-29.parquet").exists()


def test_pii_residue_check_blocks_downstream_when_a_pii_type_is_not_redacted(workspace):
    land(workspace, rows=3000)
    spec = small_spec()
    emails_only = spec.model_copy(
        update={"privacy": PrivacySpec.model_validate(spec.privacy.model_dump() | {"redact": ["email"]})}
    )
    result = materialize(
        workspace, emails_only, ["ticket_triage/raw_tickets", "ticket_triage/redacted", "ticket_triage/eligible"]
    )
    assert not result.success
    residue = checks(result)["pii_residue"]
    assert not residue.passed and "unreviewed PII residue finding(s) in redacted 2026-10-30:" in residue.description
    assert residue.metadata["unreviewed"].value == residue.metadata["findings"].value > 0
    table = residue.metadata["findings_table"].value.records
    assert {r.data["kind"] for r in table} >= {"digit_run"} and all(r.data["column"] == "body" for r in table)
    first = table[0].data
    assert f"row {first['row_id']} body offset {first['offset']} ({first['kind']})" in residue.description
    # Where and what kind, never the value.
    shown = residue.description + str([r.data for r in table])
    planted = generate(GeneratorConfig(rows=3000, seed=11, as_of=AS_OF, months=8)).planted["value"]
    assert "@" not in shown and not [value for value in planted if value in shown]
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "eligible" not in materialized


def test_landing_sensor_requests_one_run_over_the_days_new_exports_change(workspace):
    folder = land(workspace, rows=300, months=MONTHS)
    spec = small_spec()
    _, spec_file = get_spec("ticket_triage")
    sensor = build_dataset_defs(spec, spec_file).sensors[0]
    resources = {"workspace": TrainsetWorkspace(root=str(workspace), as_of=AS_OF.isoformat())}

    def tick():
        with dg.build_sensor_context(resources=resources) as context:
            return sensor(context)

    first = tick()
    days = sorted(p.stem for p in folder.glob("*.csv"))
    assert (first.tags[RANGE_START], first.tags[RANGE_END]) == (days[0], days[-1])
    assert tick().run_key == first.run_key  # nothing landed yet: the same request, which Dagster runs once
    land_source(DatasetPaths(workspace, spec.name), spec, spec.sources[0], as_of=AS_OF)
    assert isinstance(tick(), dg.SkipReason)  # everything landed
    # A new export, whatever its name, holding records of two earlier days: a run over those days.
    lines = (folder / f"{days[3]}.csv").read_text().splitlines()
    (folder / "late-export.csv").write_text(lines[0] + "\n" + lines[1].replace(lines[1].split(",")[0], "LATE-1") + "\n")
    again = tick()
    assert (again.tags[RANGE_START], again.tags[RANGE_END]) == (days[3], days[3]) and again.run_key != first.run_key


def test_a_day_built_before_that_a_new_export_updates_is_rebuilt_by_the_run_and_the_schedule(tmp_path, monkeypatch):
    """A later export re-sends an older ticket, edited: a run asked for the new day only (the
    schedule's, or `trainset run --from D --to D`) rebuilds the older day too, else its raw rows
    would keep the replaced copy and the new one would be quarantined as its duplicate. Days never
    built are not pulled in: their own runs build them."""
    from datetime import UTC, date, datetime

    from conftest import TEST_KEY, make_workspace
    from test_landing import ticket, write

    from pipelines.lib.ingest.steps import land_raw
    from pipelines.runner import prepare_run

    monkeypatch.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
    root = make_workspace(tmp_path / "workspace")
    spec, spec_file = get_spec("ticket_triage", root)
    paths, folder = DatasetPaths(root, spec.name), "data/landing/tickets"
    day = date.fromisoformat

    def asked(first: str, last: str, as_of: str) -> tuple[date, date, date]:
        return prepare_run(spec, root, spec_file, start=day(first), end=day(last), as_of=day(as_of))

    write(root, f"{folder}/a.csv", ticket("T1", "2026-10-01T10:00:00Z"), ticket("T2", "2026-10-02T10:00:00Z"), mtime=1)
    # The first landing: the other landed days were never built, so the run is the day asked for.
    assert asked("2026-10-02", "2026-10-02", "2026-10-02") == (day("2026-10-02"),) * 3
    land_raw(paths, spec, "tickets", ["2026-10-01", "2026-10-02"], day("2026-10-02"))

    schedule = build_dataset_defs(spec, spec_file).schedules[0]
    resources = {"workspace": TrainsetWorkspace(root=str(root), as_of="2026-10-03")}

    def tick() -> dg.RunRequest:
        with dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 10, 4, 3, tzinfo=UTC), resources=resources
        ) as context:
            (request,) = list(schedule(context))
            return request

    write(root, f"{folder}/b.csv", ticket("T3", "2026-10-03T10:00:00Z"), mtime=2)
    assert tick().partition_key == "2026-10-03"  # nothing built before changes: the day alone
    write(root, f"{folder}/c.csv", ticket("T1", "2026-10-01T10:00:00Z", body="edited"), mtime=3)
    request = tick()
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-10-01", "2026-10-03")
    assert asked("2026-10-03", "2026-10-03", "2026-10-03") == (day("2026-10-01"), day("2026-10-03"), day("2026-10-03"))
