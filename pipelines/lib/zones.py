"""Who may read each of a dataset's zones on disk, whatever the umask of the process writing them.

The zones holding personal data as the source wrote it (`pii_zones`: the landing copies of each
source; its raw zone, whose user ids are as written, and its text too with `privacy.keep_raw`; the
quarantine, which names records by id and place) and the staging folder of a release are
owner-only: folders 0700, files 0600, owned by `privacy.group` when one is declared. The dataset's
warehouse folder, and so the redacted zone and every later one written in it (eligible, labeled,
training set, stats, reports, GX Data Docs), and its released versions follow the dataset's
classification (`dataset_mode`). Files written in a folder take its modes (`files.make_folder`,
`files.file_mode`): closing a folder is enough.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.lib.files import PRIVATE_FOLDER, close_folder, make_folder
from pipelines.lib.release.vcs import default_remote
from pipelines.lib.reports import IngestReport, StorageRecord
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: classifications whose later zones (redacted and after) other users of the machine may not read
CLOSED_CLASSIFICATIONS = ("confidential", "restricted")


def dataset_mode(spec: DatasetSpec) -> int | None:
    """The mode of the dataset's warehouse folder and released versions, which the redacted zone and
    later ones inherit: closed to other users for a confidential or restricted dataset (0750 when
    `privacy.group` may read them, else 0700); None (the umask's) for internal or public data."""
    if spec.classification not in CLOSED_CLASSIFICATIONS:
        return None
    return 0o750 if spec.privacy.group else PRIVATE_FOLDER


def pii_zones(paths: DatasetPaths, spec: DatasetSpec) -> list[Path]:
    """Folders holding personal data as the source wrote it: each source's landing copies and raw
    zone (which holds redacted text unless `privacy.keep_raw`, but raw user ids), and the
    quarantine (records by id and place)."""
    zones = [paths.warehouse / f"{zone}_{source.name}" for source in spec.sources for zone in ("landed", "raw")]
    return [*zones, paths.warehouse / "quarantine"]


def prepare_dataset(paths: DatasetPaths, spec: DatasetSpec) -> None:
    """Create or close the dataset's warehouse folder as its classification says, and its PII zones
    owner-only (`privacy.group` their group). Raises AccessError when the group does not exist or
    the user may not give files to it. Cheap to call before every step that writes."""
    mode = dataset_mode(spec)
    if mode is None:
        make_folder(paths.warehouse)
    else:
        close_folder(paths.warehouse, mode, spec.privacy.group, within=False)
    for zone in pii_zones(paths, spec):
        close_folder(zone, PRIVATE_FOLDER, spec.privacy.group)
    keep_out_of_git(paths.root / "data")


def keep_out_of_git(folder: Path) -> None:
    """Give `folder` a `.gitignore` ignoring everything in it, itself included: the landed copies and
    raw zones (PII) under it can never be committed, from the first run on, before a release adds
    them to the workspace's own .gitignore; no tracked file changes."""
    marker = folder / ".gitignore"
    if folder.is_dir() and not marker.is_file():
        marker.write_text("*\n", encoding="utf-8")


def prepare_releases(paths: DatasetPaths, spec: DatasetSpec) -> Path:
    """The dataset's folder of released versions, created or closed as its classification says; a
    version staged owner-only takes its modes when it is renamed into it."""
    mode = dataset_mode(spec)
    if mode is None:
        return make_folder(paths.releases)
    close_folder(paths.releases, mode, spec.privacy.group, within=False)
    return paths.releases


def close_version_stores(paths: DatasetPaths, spec: DatasetSpec) -> list[Path]:
    """Close the stores DVC keeps the released bytes in as the dataset's releases are closed: the
    workspace's cache (`.dvc/cache`) and its default local remote. Only their top folder: DVC
    writes its objects 0444 in folders the umask opens, and a folder no one else may enter hides
    what it holds. A remote on object storage is the bucket's policy's. Returns the folders closed."""
    mode = dataset_mode(spec)
    if mode is None:
        return []
    stores = [paths.root / ".dvc" / "cache", default_remote(paths.root)]
    return [close_folder(store, mode, spec.privacy.group, within=False) for store in stores if store.is_dir()]


def storage_record(paths: DatasetPaths, spec: DatasetSpec, ingested: dict[str, list[IngestReport]]) -> StorageRecord:
    """How the sources' days were kept (`ingested`: each source's stored days), for the manifest."""
    return StorageRecord(
        keep_raw=spec.privacy.keep_raw,
        raw_days_as_written=sum(day.redaction is None for days in ingested.values() for day in days),
        pii_zones=[str(zone.relative_to(paths.root)) for zone in pii_zones(paths, spec)],
        group=spec.privacy.group,
        later_zones="umask" if dataset_mode(spec) is None else "closed",
    )
