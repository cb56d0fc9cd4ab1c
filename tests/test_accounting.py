"""Row accounting reconciled against stored rows: balances, and every mismatch is named."""

from __future__ import annotations

import pandas as pd
from conftest import AS_OF, land, small_spec

from pipelines.lib.files import write_parquet
from pipelines.lib.ingest.steps import land_raw
from pipelines.lib.privacy.steps import redact_partitions
from pipelines.lib.quality.reconcile import reconcile_raw, reconcile_redacted
from pipelines.lib.workspace import DatasetPaths


def landed_days(root, n=3):
    folder = land(root, rows=600, months=1)
    return sorted(p.stem for p in folder.glob("*.csv") if p.stem <= AS_OF.isoformat())[-n:]


def test_accounting_reconciles_with_stored_rows_and_names_a_missing_row(tmp_path):
    spec = small_spec()
    days = landed_days(tmp_path)
    # One row of the first day is made unusable: it must show up as removed and in quarantine.
    first = tmp_path / "data" / "landing" / "tickets" / f"{days[0]}.csv"
    lines = first.read_text().splitlines(keepends=True)
    first.write_text(lines[0] + lines[1].rstrip("\n") + ",an extra field\n" + "".join(lines[2:]))
    paths = DatasetPaths(tmp_path, spec.name)
    land_raw(paths, spec, "tickets", days, AS_OF)
    redact_partitions(paths, spec, days, b"k" * 32)

    raw = reconcile_raw(paths, "tickets", days)
    assert raw.passed, raw.problems
    assert raw.rows_in == raw.rows_out + raw.removed and raw.removed >= 1
    assert reconcile_redacted(paths, spec, days).passed

    # A row lost between zones is found, and the message says where.
    stored = paths.raw("tickets", days[1])
    write_parquet(pd.read_parquet(stored).iloc[1:], stored)
    raw = reconcile_raw(paths, "tickets", days)
    redacted = reconcile_redacted(paths, spec, days)
    assert not raw.passed and not redacted.passed
    assert f"raw_tickets {days[1]}: " in raw.description() and "stored" in raw.description()
    assert f"redacted {days[1]}: " in redacted.description() and "the raw zone holds" in redacted.description()
