"""The eligible step reads the redacted days in one Arrow pass: the same frame as day by day."""

from __future__ import annotations

import pandas as pd
from conftest import small_spec

from pipelines.lib.files import write_parquet
from pipelines.lib.privacy.eligible import _redacted_day, _redacted_days
from pipelines.lib.spec import SOURCE_COLUMN


def _day(day: str, rows: int, label: str | None = "Billing") -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "ticket_id": [f"{day}-{n}" for n in range(rows)],
            SOURCE_COLUMN: "tickets",
            "created_at": pd.Series(pd.to_datetime([f"{day}T0{n % 10}:00:00Z" for n in range(rows)], utc=True)),
            "subject": [f"subject {n}" for n in range(rows)],
            "category": label,
        }
    )
    return frame.astype({"ticket_id": "str", SOURCE_COLUMN: "str", "subject": "str", "category": "str"}).astype(
        {"created_at": "datetime64[us, UTC]"}
    )


def _one_by_one(files, spec) -> pd.DataFrame:
    return pd.concat([_redacted_day(f, spec) for f in files], ignore_index=True)


def test_one_arrow_pass_equals_day_by_day(tmp_path):
    spec = small_spec()
    files = []
    for n, day in enumerate(["2026-10-01", "2026-10-02", "2026-10-03"]):
        files.append(tmp_path / f"{day}.parquet")
        write_parquet(_day(day, rows=[4, 0, 7][n]), files[-1])
    pd.testing.assert_frame_equal(_redacted_days(files, spec), _one_by_one(files, spec))


def test_days_of_other_schemas_are_read_day_by_day(tmp_path):
    """A day whose label column is all missing (another Arrow type), and one written before rows
    named their source: each is read as it was, and the frame is the day-by-day concatenation."""
    spec = small_spec()
    files = [tmp_path / "2026-10-01.parquet", tmp_path / "2026-10-02.parquet", tmp_path / "2026-10-03.parquet"]
    write_parquet(_day("2026-10-01", 3), files[0])
    write_parquet(_day("2026-10-02", 2).assign(category=None), files[1])
    write_parquet(_day("2026-10-03", 2).drop(columns=SOURCE_COLUMN), files[2])
    read = _redacted_days(files, spec)
    pd.testing.assert_frame_equal(read, _one_by_one(files, spec))
    assert read[SOURCE_COLUMN].tolist() == ["tickets"] * 7


def test_no_day_is_an_empty_frame_of_the_stored_columns():
    spec = small_spec()
    assert _redacted_days([], spec).empty
