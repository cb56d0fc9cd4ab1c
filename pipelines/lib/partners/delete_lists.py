"""A partner's delete lists as the partner writes them: where they land, how they are read, and
how a list sent by other means is put where the next ones land.

A `kind: partner` source may declare `deletions:`: a CSV file, a folder of them or a glob,
relative to the workspace, resolved the way export paths are (`ingest.landing.export_files`).
Each list has a header line and a column of the record ids to delete: the dataset's id column
under the export's own name (the inverse of `rename`), or `id`. Lists are read the way exports
are (`ingest.records`): UTF-8 with or without a byte-order mark (or the source's `encoding:`),
CRLF, blank lines, `;` or tab delimiters, every value as the text it was written as, so `00123`
stays `00123`. Ids are stripped of surrounding spaces. Messages name files, lines and column
names, never an id: a partner's record ids may identify people.
"""

from __future__ import annotations

import glob
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.errors import BAD_DATA, describe_os_error
from pipelines.lib.hashing import file_sha256
from pipelines.lib.ingest.csv_records import csv_records
from pipelines.lib.ingest.encodings import as_utf8
from pipelines.lib.ingest.record_set import POSITION, UnreadableFile, without_blank
from pipelines.lib.spec import DatasetSpec, SourceSpec

#: the other name a delete list may give its id column, whatever the dataset calls it
GENERIC_ID = "id"
# A header a partner left out makes the first id read as a column name: names holding a digit or
# an @ are counted in messages, not shown.
_VALUE_LIKE = re.compile(r"[0-9@]")
# Where a new list's name goes in the name pattern of `deletions:`.
_STEM = "\0"


class DeleteListError(ValueError):
    """A delete list cannot be read, or holds no column of record ids; the message names the
    file, the column names found (never a value) and what to do."""

    exit_code = BAD_DATA  # the partner's file is wrong, not the command


class DeleteListFile(BaseModel):
    """One delete list as read: where it is, its bytes' hash and how many distinct ids it names."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="The list, relative to the workspace (as given when outside it).")
    sha256: str = Field(description="sha256 of the list's bytes, 64 hex digits.")
    ids: int = Field(ge=0, description="Distinct record ids the list names.")


@dataclass(frozen=True, eq=False)
class DeleteLists:
    """Every record id a partner source's lists request, and the lists read.

    `ids`: str, deduplicated (first list first), as written, stripped; `listed_in`: the same
    index, the path of the first list naming each id; `files`: one entry per list, by path."""

    ids: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    listed_in: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    files: tuple[DeleteListFile, ...] = ()


def list_files(root: Path, source: SourceSpec) -> list[Path]:
    """The delete lists of a source, sorted by path: `deletions` itself when it is a file, every
    `*.csv` in it when a folder, else what its glob matches (hidden files and partial downloads
    left out). Empty when the source declares none, or nothing matches yet."""
    if source.deletions is None:
        return []
    # Imported here: `reports` holds this package's report in the eligibility report, and the
    # landing module imports `reports`.
    from pipelines.lib.ingest.landing import export_files

    return export_files(root, source.model_copy(update={"path": source.deletions, "format": "csv"}))


def id_column_names(spec: DatasetSpec, source: SourceSpec) -> tuple[str, str]:
    """The names a list may give its id column, preferred first: the dataset's id column as the
    partner's exports name it (`rename` read backwards), then `id`."""
    return source.export_name(spec.id_column), GENERIC_ID


def read_delete_lists(root: Path, spec: DatasetSpec, source: SourceSpec) -> DeleteLists:
    """Every id the source's delete lists request (see `DeleteLists`); empty when the source
    declares no `deletions:` or no list has landed yet. Raises DeleteListError for a list that
    cannot be read or has no id column."""
    read = [read_delete_list(path, root, spec, source) for path in list_files(root, source)]
    if not read:
        return DeleteLists()
    ids = pd.concat([ids for ids, _ in read], ignore_index=True)
    listed_in = pd.concat(
        [pd.Series(entry.path, index=ids.index, dtype="str") for ids, entry in read], ignore_index=True
    )
    first = ~ids.duplicated()
    return DeleteLists(
        ids=ids[first].reset_index(drop=True),
        listed_in=listed_in[first].reset_index(drop=True),
        files=tuple(entry for _, entry in read),
    )


def read_delete_list(path: Path, root: Path, spec: DatasetSpec, source: SourceSpec) -> tuple[pd.Series, DeleteListFile]:
    """One list's distinct ids (str, as written, stripped; blank ones left out) and its entry.
    A file holding nothing, or only its header line, requests nothing. Raises DeleteListError."""
    shown = workspace_relative(path, root)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DeleteListError(
            f"delete list {describe_os_error(error)}; check the file is there and can be read"
        ) from None
    entry = DeleteListFile(path=shown, sha256=hashlib.sha256(data).hexdigest(), ids=0)
    try:
        text = as_utf8(data, source.encoding).data
        if not text.strip():
            return pd.Series(dtype="str"), entry
        # (The list's own delimiter, sniffed from its header: a partner's lists need not be written
        # as its deliveries are.)
        records = without_blank(csv_records(text, id_column_names(spec, source)[0]))
    except (UnreadableFile, pa.ArrowInvalid) as error:
        raise DeleteListError(
            f"delete list {shown}: {error}; ask {source.name} for a CSV file with a header line"
        ) from None
    if len(records.malformed):
        lines = ", ".join(map(str, records.malformed["line"].head(5)))
        raise DeleteListError(
            f"delete list {shown}: {len(records.malformed)} line(s) cannot be read as CSV (line {lines}); "
            f"fix them or ask {source.name} to send the list again: no id of it is applied until it can be read"
        )
    column = _id_column(list(records.rows.columns), spec, source, shown)
    ids = records.rows[column].fillna("").str.strip()
    ids = ids[ids != ""].drop_duplicates().reset_index(drop=True).astype("str")
    return ids, entry.model_copy(update={"ids": len(ids)})


def _id_column(columns: list[str], spec: DatasetSpec, source: SourceSpec, shown: str) -> str:
    """The list's id column (names compared without surrounding spaces or case), else an error
    naming the names found."""
    found = [c for c in columns if c not in POSITION]
    by_name = {c.strip().casefold(): c for c in found}
    wanted = id_column_names(spec, source)
    for name in wanted:
        if name.casefold() in by_name:
            return by_name[name.casefold()]
    names = [c for c in found if not _VALUE_LIKE.search(c)]
    hidden = len(found) - len(names)
    listed = ", ".join(repr(c) for c in names) or "none"
    if hidden:
        listed += f" (and {hidden} holding digits or an @, not shown: is the first line an id, the header missing?)"
    theirs = wanted[0]
    renamed = (
        f" (the dataset's {spec.id_column!r} as {source.name}'s exports name it)" if theirs != spec.id_column else ""
    )
    raise DeleteListError(
        f"delete list {shown}: no column of record ids; expected {theirs!r}{renamed} or {GENERIC_ID!r}; columns "
        f"found: {listed}. Ask {source.name} for the list with a header line naming its id column {theirs!r} "
        f"or {GENERIC_ID!r}"
    )


def workspace_relative(path: Path, root: Path) -> str:
    """A path as messages, reports and the log name it: relative to the workspace, else as given."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


# -- a list sent by other means ----------------------------------------------------------------


class DeletionsLocationError(ValueError):
    """A delete list cannot be put where the source's lists land; the message says why and what to do."""


def place_delete_list(root: Path, spec: DatasetSpec, source: SourceSpec, given: Path) -> tuple[Path, bool]:
    """Copy a delete list sent by other means (mail, a ticket) to where the source's lists land,
    so every later build reads it; returns where it is and whether it was copied (False: a list
    of the same bytes is already there). The list is read first: one that cannot be read is never
    placed. Raises DeleteListError, DeletionsLocationError (the source declares no `deletions:`,
    or it is one file that already holds a list, or a glob no name can be made for)."""
    if source.deletions is None:
        raise DeletionsLocationError(f"source {source.name!r} declares no `deletions:`")
    read_delete_list(given, root, spec, source)
    sha256 = file_sha256(given)
    for existing in list_files(root, source):
        if file_sha256(existing) == sha256:
            return existing, False
    target = _destination(root, source, given, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")  # never read as a list (export_files skips it)
    shutil.copyfile(given, partial)
    partial.replace(target)
    if target not in list_files(root, source):
        target.unlink()
        raise DeletionsLocationError(
            f"a list copied to {workspace_relative(target, root)} is not one `deletions: {source.deletions}` reads; "
            "copy it yourself to a name it matches"
        )
    return target, True


def _destination(root: Path, source: SourceSpec, given: Path, sha256: str) -> Path:
    """A new file where the source's lists land: the list's own name (as a `.csv`), with its
    hash's first 12 hex digits when that name is taken."""
    assert source.deletions is not None
    declared = Path(source.deletions)
    stem = given.stem.lstrip(".~$") or "delete-list"
    magic = next((n for n, part in enumerate(declared.parts) if glob.has_magic(part)), None)
    if magic is None and declared.suffix.lower() == ".csv" and not (root / declared).is_dir():
        if (root / declared).exists():
            raise DeletionsLocationError(
                f"`deletions: {source.deletions}` names one file, which already holds {source.name}'s list: declare "
                f"a folder (`deletions: {declared.parent.as_posix()}/`) so each list is kept as sent, or add the ids "
                "to that file"
            )
        return root / declared
    if magic is None:
        folder, pattern = root / declared, f"{_STEM}.csv"
    else:
        if any(part != "**" for part in declared.parts[magic:-1]):
            raise DeletionsLocationError(
                f"`deletions: {source.deletions}` matches files in several folders: copy the list yourself into one"
            )
        folder, pattern = root.joinpath(*declared.parts[:magic]), declared.parts[-1].replace("*", _STEM, 1)
        if _STEM not in pattern or glob.has_magic(pattern):
            raise DeletionsLocationError(
                f"`deletions: {source.deletions}`: no file name can be made for its pattern; copy the list yourself "
                "to a name it matches"
            )
    target = folder / pattern.replace(_STEM, stem)
    return target if not target.exists() else folder / pattern.replace(_STEM, f"{stem}-{sha256[:12]}")
