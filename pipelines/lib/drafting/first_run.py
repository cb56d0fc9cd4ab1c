"""What the first `trainset run` of a drafted dataset will read: its source, its first day, the
`--as-of` it needs (if any), and the export landed and read the way that run lands and reads it.

A drafted source's `path:` is the export itself. A run lands it once, by content, placing each
record in the UTC day of its timestamp, and files a record without a usable timestamp (and an
export's blank and malformed records) on the landing day: the run's as-of day, at most
yesterday. It then processes every landed day inside retention, up to yesterday, as of its last
day. So the draft's `start_date` is the export's earliest day (no record is before_start_date), and
`--as-of` is needed only when the export stops before yesterday and holds records a run would
otherwise file on yesterday, far from the rest: the export's newest day then keeps them with it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipelines.lib.ingest.landing import run_range
from pipelines.lib.ingest.profile import ExportProfile
from pipelines.lib.ingest.sources import LandedDays, land_source, read_days
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths


@dataclass(frozen=True)
class FirstRun:
    """How the drafted dataset's first run goes: the source's first day, and the `--as-of` to pass
    (None: `trainset run NAME` as is)."""

    start_date: date
    as_of: date | None

    def command(self, name: str) -> str:
        """The `trainset run` line to give."""
        return f"trainset run {name}" + (f" --as-of {self.as_of.isoformat()}" if self.as_of else "")


@dataclass(frozen=True)
class FirstRunData:
    """The export as the first run reads it: its days, the day it is measured as of, what it read."""

    first_day: date
    last_day: date
    as_of: date
    landed: LandedDays

    @property
    def records_landed(self) -> int:
        """Records the run counts as landed (blank records are not), for `max_quarantine_rate`."""
        return sum(n for _, _, n in self.landed.files.values()) - sum(self.landed.blank.values())


def source_path(export: Path, workspace: Path) -> str:
    """The drafted `path:` of the export: relative to the workspace when inside it (so the spec moves
    with the workspace), else the export's absolute path (a relative one would be read from the
    workspace, not from where `trainset init` ran)."""
    absolute = export.resolve()
    root = workspace.resolve()
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(export.absolute())


def plan_first_run(profile: ExportProfile, today: date | None = None) -> FirstRun:
    """The first run of a draft of `profile`'s export, drafted `today` (default: today, UTC)."""
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    if profile.first_timestamp is None or profile.last_timestamp is None:
        # No timestamp column (or none usable): every record lands on the landing day, yesterday.
        return FirstRun(start_date=yesterday, as_of=None)
    first = profile.first_timestamp.astimezone(UTC).date()
    newest = profile.last_timestamp.astimezone(UTC).date()
    filed_on_landing = profile.undated + profile.blank_records + sum(profile.malformed.values())
    as_of = newest if newest < yesterday and filed_on_landing else None
    return FirstRun(start_date=min(first, as_of or yesterday), as_of=as_of)


def read_as_first_run(spec: DatasetSpec, export: Path, run: FirstRun, now: datetime | None = None) -> FirstRunData:
    """Land `export` as the drafted source in a temporary workspace (`sources.land_source`) and read
    the days the first run processes (`sources.read_days`): every landed day from the first one
    inside retention to the last complete one, as `runner.materialize_dataset` chooses them.
    Raises SourceError if the export lacks a column the spec names, ValueError if no day is left."""
    now = now or datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).date()
    source = spec.sources[0].model_copy(update={"path": str(export.resolve())})
    local = spec.model_copy(update={"sources": [source]})
    with tempfile.TemporaryDirectory(prefix="trainset-init-") as folder:
        root = Path(folder)
        paths = DatasetPaths(root, spec.name)
        land_source(paths, local, source, as_of=run.as_of or yesterday, now=now)
        days = sorted(date.fromisoformat(p.stem) for p in paths.landed(source.name, "x").parent.glob("*.parquet"))
        if not days:
            raise ValueError("no record landed: the export holds only blank or malformed records")
        first, last, as_of = run_range(spec, days, yesterday, as_of=run.as_of)
        partitions = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        landed = read_days(root, local, source, partitions, as_of=as_of, now=now)
    return FirstRunData(first_day=first, last_day=last, as_of=as_of, landed=landed)
