"""A partner's delete lists go through erasure like our own users' requests.

A `kind: partner` source may declare `deletions:`, where the partner's delete lists land
(`delete_lists`: where, and how a list is read). Every listed record of that source is

- left out of every later build (`apply_partner_deletions`, in `eligible`, reason
  `partner_deletion_request`);
- deleted from what is stored now (`purge_partner_deletions`): the landed zone by the id as
  written, `raw_<source>` by the id it is kept under (with the source's `id_prefix`), every later
  zone by that id (its pseudonym when the id column is pseudonymised) and source, each deletion
  booked against the zone's report;
- withdrawn from every earlier version that holds it (`release.withdrawal`).

`privacy/partner_deletions_log.jsonl` (committed with each release) gets one line per list the
first time it is seen: dataset, source, file, sha256, how many ids, rows deleted, when — never
the ids themselves, which may identify people.

This module imports nothing that imports `pipelines.lib.reports` at load time, so that the
eligibility report can hold `PartnerDeletions`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.accounting import Accounting
from pipelines.lib.audit.events import record_partner_deletions
from pipelines.lib.files import write_parquet
from pipelines.lib.partners.delete_lists import (
    DeleteListError,
    DeleteListFile,
    DeleteLists,
    DeletionsLocationError,
    place_delete_list,
    read_delete_lists,
    workspace_relative,
)
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths

__all__ = [
    "PARTNER_DELETION",
    "PARTNER_DELETIONS_LOG",
    "DeleteListError",
    "DeleteListFile",
    "DeleteLists",
    "DeletionsLocationError",
    "PartnerDeletions",
    "SourceDeletions",
    "apply_partner_deletions",
    "as_stored",
    "delete_lists",
    "place_delete_list",
    "purge_partner_deletions",
    "read_delete_lists",
    "workspace_relative",
]

#: the reason code of rows removed or deleted because their partner asked
PARTNER_DELETION = "partner_deletion_request"
#: the audit log of every delete list seen, relative to the workspace (committed with releases)
PARTNER_DELETIONS_LOG = Path("privacy") / "partner_deletions_log.jsonl"
#: zones past `redacted` whose rows name their source; a day written before rows did belongs to
#: the dataset's only source, if it has one
LATER_ZONES = ("redacted", "eligible", "labeled", "unlabeled", "training_set", "feedback_audit")


class SourceDeletions(BaseModel):
    """One partner source's delete lists, and what a purge deleted of them."""

    model_config = ConfigDict(frozen=True)

    source: str
    ids_requested: int = Field(ge=0, description="Distinct record ids every list of the source names.")
    lists: list[DeleteListFile] = Field(default_factory=list, description="The lists read, by path.")
    rows_deleted: dict[str, int] = Field(
        default_factory=dict, description="Stored rows deleted now, per zone (`raw_<source>`, `redacted`...)."
    )


class PartnerDeletions(BaseModel):
    """What one purge of the partners' delete lists did, per partner source that declares
    `deletions:` (in source order); counts, paths and hashes only."""

    model_config = ConfigDict(frozen=True)

    sources: list[SourceDeletions] = Field(default_factory=list)

    @property
    def rows_deleted(self) -> int:
        """Rows deleted now, summed over every zone of every source (an example stored in three
        zones counts three times)."""
        return sum(n for s in self.sources for n in s.rows_deleted.values())


def delete_lists(root: Path, spec: DatasetSpec) -> dict[str, DeleteLists]:
    """The delete lists of every partner source that declares `deletions:`, by source name.
    Raises DeleteListError for a list that cannot be read."""
    return {s.name: read_delete_lists(root, spec, s) for s in spec.sources if s.deletions is not None}


def as_raw(ids: pd.Series, spec: DatasetSpec, source: SourceSpec) -> pd.Series:
    """Ids as written, as the source's raw zone keeps them: with its `id_prefix`, if it declares
    one (a derived id has none)."""
    return source.id_prefix + ids if source.id_prefix and spec.columns.id is not None else ids


def as_stored(ids: pd.Series, spec: DatasetSpec, source: SourceSpec, key: bytes) -> pd.Series:
    """Ids as written, as the zones past `redacted` and the releases hold them: as the raw zone
    does (`as_raw`), then their pseudonyms when the id column is pseudonymised."""
    kept = as_raw(ids, spec, source)
    return pseudonymize(kept, key) if spec.id_column in spec.pseudonymized_columns else kept


def apply_partner_deletions(
    frame: pd.DataFrame, spec: DatasetSpec, lists: dict[str, DeleteLists], accounting: Accounting, key: bytes
) -> pd.DataFrame:
    """Remove every row a partner asked to delete: `frame[SOURCE_COLUMN]` is the source and the id
    is on its list (`lists` by source name); counted as `partner_deletion_request`. `frame` holds
    ids as the redacted zone does. Unchanged, and nothing counted, when no list names an id."""
    listed = {name: found.ids for name, found in lists.items() if len(found.ids)}
    if not listed:
        return frame
    drop = pd.Series(False, index=frame.index)
    ids = frame[spec.id_column].astype("str")
    for name, written in listed.items():
        drop |= (frame[SOURCE_COLUMN] == name) & ids.isin(as_stored(written, spec, _declared(spec, name), key))
    return accounting.remove(frame, drop, PARTNER_DELETION)


def purge_partner_deletions(
    paths: DatasetPaths, spec: DatasetSpec, key: bytes, lists: dict[str, DeleteLists] | None = None
) -> PartnerDeletions:
    """Delete, from every stored zone, the rows each partner source's lists name (`lists`, by
    default read with `delete_lists`; see the module's docstring), book each deletion against its
    zone's report, and log each list seen for the first time. Idempotent: a second call deletes
    nothing and reports 0. Raises DeleteListError for a list that cannot be read (nothing is
    deleted then)."""
    # Imported here: the report files module imports `reports` (see the module's docstring).
    from pipelines.lib.report_files import record_deletion

    lists = delete_lists(paths.root, spec) if lists is None else lists
    logged = _logged(paths.root, spec.name)
    reports, lines = [], []
    for name, listed in lists.items():
        by_list: dict[str, dict[str, int]] = {}
        deleted: dict[str, int] = {}
        for path, zone, day, hit, lists_hit in _hits(paths, spec, name, listed, key):
            frame = pd.read_parquet(path)
            write_parquet(frame.loc[~hit.to_numpy()], path)
            deleted[zone] = deleted.get(zone, 0) + int(hit.sum())
            if zone.startswith(("landed_", "raw_")) or zone in LATER_ZONES:
                record_deletion(paths, zone, day, PARTNER_DELETION, int(hit.sum()))
            for listed_path, n in lists_hit.items():
                counts = by_list.setdefault(listed_path, {})
                counts[zone] = counts.get(zone, 0) + n
        reports.append(
            SourceDeletions(source=name, ids_requested=len(listed.ids), lists=list(listed.files), rows_deleted=deleted)
        )
        lines += [
            _log_line(spec.name, name, f, by_list.get(f.path, {}))
            for f in listed.files
            if (name, f.path, f.sha256) not in logged
        ]
    _append_log(paths.root, lines)
    record_partner_deletions(paths.root, lines)
    return PartnerDeletions(sources=reports)


def _hits(
    paths: DatasetPaths, spec: DatasetSpec, source: str, listed: DeleteLists, key: bytes
) -> Iterator[tuple[Path, str, str | None, pd.Series, dict[str, int]]]:
    """(file, zone, day, rows to delete, rows per list) of each stored file holding a listed row
    of `source`; files are read by their id (and source) columns only."""
    if not len(listed.ids):
        return
    warehouse, declared = paths.warehouse, _declared(spec, source)
    # Each form of an id -> the list first naming it (its index), for the log.
    forms = {
        "landed": listed.ids,
        "raw": as_raw(listed.ids, spec, declared),
        "stored": as_stored(listed.ids, spec, declared, key),
    }
    owners = {form: pd.Series(listed.listed_in.to_numpy(), index=ids.to_numpy()) for form, ids in forms.items()}
    for path in sorted(warehouse.glob("**/*.parquet")):
        # Day zones (landed_*/, raw_*/, redacted/) keep a file per day; the others one each.
        zone, day = (path.parent.name, path.stem) if path.parent != warehouse else (path.stem, None)
        names = pq.read_schema(path).names
        if spec.id_column not in names:
            continue
        if zone in (f"landed_{source}", f"raw_{source}"):  # the source's own zones: no source column
            form = "landed" if zone.startswith("landed_") else "raw"
            ids = pd.read_parquet(path, columns=[spec.id_column])[spec.id_column].astype("str").str.strip()
            hit = ids.isin(owners[form].index)
        elif SOURCE_COLUMN in names:
            form, frame = "stored", pd.read_parquet(path, columns=[spec.id_column, SOURCE_COLUMN])
            ids = frame[spec.id_column].astype("str")
            hit = (frame[SOURCE_COLUMN] == source) & ids.isin(owners[form].index)
        elif zone in LATER_ZONES and [s.name for s in spec.sources] == [source]:
            form, ids = "stored", pd.read_parquet(path, columns=[spec.id_column])[spec.id_column].astype("str")
            hit = ids.isin(owners[form].index)
        else:
            continue  # another source's zone, or rows that do not say whose they are
        if hit.any():
            per_list = ids[hit].map(owners[form]).value_counts()
            yield path, zone, day, hit, {str(k): int(n) for k, n in per_list.items()}


def _declared(spec: DatasetSpec, name: str) -> SourceSpec:
    return next(s for s in spec.sources if s.name == name)


def _logged(root: Path, dataset: str) -> set[tuple[str, str, str]]:
    """(source, file, sha256) of every list the dataset's log lines name."""
    path = root / PARTNER_DELETIONS_LOG
    if not path.is_file():
        return set()
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(e["source"], e["file"], e["sha256"]) for e in entries if e["dataset"] == dataset}


def _log_line(dataset: str, source: str, listed: DeleteListFile, deleted: dict[str, int]) -> str:
    entry = {
        "dataset": dataset,
        "source": source,
        "file": listed.path,
        "sha256": listed.sha256,
        "ids": listed.ids,
        "rows_deleted": deleted,
        "logged_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return json.dumps(entry, sort_keys=True)


def _append_log(root: Path, lines: list[str]) -> None:
    if not lines:
        return
    path = root / PARTNER_DELETIONS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
