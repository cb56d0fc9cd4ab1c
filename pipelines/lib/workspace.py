"""Where things live in a trainset workspace (a folder that is a git and DVC repository).

One root holds everything a run reads and writes: the dataset specs (`pipelines/defs/<name>/
defs.yaml`), the GX suites (`expectations/<name>.json`), the steward's `waivers.yaml`, the landed
files, the intermediate zones, the releases and their git history. `--workspace` on the CLI and
`TrainsetWorkspace.root` in Dagster name that root; nothing is looked up anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


#: where a workspace declares its datasets, one `<name>/defs.yaml` per dataset
DEFS_FOLDER = Path("pipelines") / "defs"
#: where a workspace keeps the GX suites, one `<name>.json` per dataset
SUITES_FOLDER = Path("expectations")


def default_workspace(fallback: Path = PROJECT_ROOT) -> str:
    """`$TRAINSET_WORKSPACE`; else the workspace the current folder is in (`enclosing_workspace`),
    as git finds its repository from where it is run; else `fallback` (the project folder)."""
    if "TRAINSET_WORKSPACE" in os.environ:
        return os.environ["TRAINSET_WORKSPACE"]
    try:
        here = Path.cwd()
    except FileNotFoundError:  # the current folder was deleted
        return str(fallback)
    return str(enclosing_workspace(here) or fallback)


def enclosing_workspace(start: Path) -> Path | None:
    """The nearest folder at or above `start` that declares datasets (holds `pipelines/defs/`);
    None when no folder up to the root does."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents) if (folder / DEFS_FOLDER).is_dir()), None)


def defs_folder(root: Path) -> Path:
    """The folder under which a workspace's `defs.yaml` files declare its datasets."""
    return root / DEFS_FOLDER


def last_complete_day() -> date:
    """Yesterday in UTC: the newest daily partition whose data is complete."""
    return datetime.now(UTC).date() - timedelta(days=1)


@dataclass(frozen=True)
class DatasetPaths:
    """Paths of one dataset's zones inside a workspace."""

    root: Path
    dataset: str

    @property
    def warehouse(self) -> Path:
        """Intermediate zones; gitignored, rebuilt by materializations."""
        return self.root / "data" / "warehouse" / self.dataset

    def landed(self, source: str, partition: str) -> Path:
        """One day of a source's landed records, gathered from every export (text as written)."""
        return self.warehouse / f"landed_{source}" / f"{partition}.parquet"

    def landing_ledger(self, source: str) -> Path:
        """Which exports (or SQL batches) of a source have landed, and where their records went."""
        return self.warehouse / f"landed_{source}" / "ledger.json"

    def raw(self, source: str, partition: str) -> Path:
        return self.warehouse / f"raw_{source}" / f"{partition}.parquet"

    def redacted(self, partition: str) -> Path:
        return self.warehouse / "redacted" / f"{partition}.parquet"

    def quarantine_part(self, source: str, partition: str) -> Path:
        return self.warehouse / "quarantine" / source / f"{partition}.parquet"

    @property
    def quarantine(self) -> Path:
        return self.warehouse / "quarantine.parquet"

    def stats(self, asset: str, partition: str | None = None) -> Path:
        """Row accounting and policy counts of one asset (one partition), as JSON."""
        name = f"{asset}.{partition}.json" if partition else f"{asset}.json"
        return self.warehouse / "stats" / name

    @property
    def eligible(self) -> Path:
        return self.warehouse / "eligible.parquet"

    @property
    def labeled(self) -> Path:
        """Eligible rows that hold a label, with its provenance."""
        return self.warehouse / "labeled.parquet"

    @property
    def unlabeled(self) -> Path:
        """Eligible rows without a label yet: the pool a labeling plan draws from (redacted text)."""
        return self.warehouse / "unlabeled.parquet"

    @property
    def labels_store(self) -> Path:
        """Committed labeling inputs: `annotations/` as imported, the steward's `adjudications.csv`."""
        return self.root / "labeling" / self.dataset

    @property
    def labeling_work(self) -> Path:
        """Labeling work products: plans, exported batches, the steward queue, import problems."""
        return self.root / "data" / "labeling" / self.dataset

    def feedback_events(self, partition: str) -> Path:
        """One day of ingested feedback events (no text; the ticket id as the dataset stores it)."""
        return self.warehouse / "feedback_events" / f"{partition}.parquet"

    def feedback_quarantine(self, partition: str) -> Path:
        """One day's feedback events that cannot be used, each with its reason."""
        return self.warehouse / "feedback_quarantine" / f"{partition}.parquet"

    @property
    def feedback_metrics(self) -> Path:
        """Acceptance, change, ignore and misroute rates per model version x class x segment x
        period, with Wilson intervals (`pipelines.lib.feedback.metrics`)."""
        return self.warehouse / "feedback_metrics.parquet"

    @property
    def feedback_work(self) -> Path:
        """Feedback work products: the embedded event store, reports, post-mortems."""
        return self.root / "data" / "feedback" / self.dataset

    @property
    def training_set(self) -> Path:
        return self.warehouse / "training_set.parquet"

    @property
    def data_docs(self) -> Path:
        """GX Data Docs site of the training-set validations (a file-backed GX project)."""
        return self.warehouse / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    @property
    def suite(self) -> Path:
        """The dataset's GX expectation suite (steward-owned, committed with each release)."""
        return self.root / SUITES_FOLDER / f"{self.dataset}.json"

    @property
    def reports(self) -> Path:
        """The latest run's gate metrics, coverage and HTML gate report (git-ignored): a run that
        releases nothing leaves the committed files alone."""
        return self.warehouse / "reports"

    @property
    def released_reports(self) -> Path:
        """The latest release's gate metrics, coverage and gate report: what dvc.yaml names as
        metrics and plots, copied from `reports` and committed by each release."""
        return self.root / "reports" / self.dataset

    @property
    def retention_sweeps(self) -> Path:
        """The stored days already swept for expired sensitive rows, each with its size, mtime
        and the next instant one of its rows expires (`privacy.retention`)."""
        return self.warehouse / "retention_sweeps.json"

    @property
    def pending_retention_log(self) -> Path:
        """Retention deletions since the latest release (git-ignored); each release moves them into
        the committed `privacy/retention_log.jsonl`."""
        return self.warehouse / "retention_log.pending.jsonl"

    @property
    def releases(self) -> Path:
        return self.root / "datasets" / self.dataset

    def landing(self, relative: str) -> Path:
        return self.root / relative
