"""Writing and reading the files trainset keeps: zones as parquet, reports as JSON. Writes go to a
temporary file renamed into place, so a reader never sees half a file.

Who may read a file is decided by its folder, never by the umask of the process that writes it: a
folder closed to other users (no permission bits for them, as `close_folder` makes the zones that
hold personal data) passes its owner and group bits on to every file and folder written in it
(0700 -> 0600 files, 0750 -> 0640), and its group too (the set-group-id bit); in a folder open to
others, the umask decides as usual.
"""

from __future__ import annotations

import grp
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: modes of what only the owner may read: the zones holding personal data as the source wrote it
PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600


def write_parquet(frame: pd.DataFrame | pa.Table, path: Path, *, private: bool = False) -> None:
    """Write a frame (or an Arrow table) as zstd parquet, atomically; its mode follows its folder
    (`private`: owner-only whatever the folder)."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    tmp = _temporary(path)
    with _created(tmp, private) as handle:
        pq.write_table(table, handle, compression="zstd")
    tmp.replace(path)


class StreamSchemaError(ValueError):
    """A frame streamed into a parquet file has other Arrow types than the frames before it."""


class ParquetStream:
    """Frames written one after another into one parquet file, a row group or more each
    (`streamed_parquet`). An empty frame only shapes the file when no row is ever written."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._writer: pq.ParquetWriter | None = None
        self._shape: pa.Table | None = None
        self.rows = 0  #: rows written so far
        self.discarded = False  #: the file is dropped when the block ends

    def write(self, frame: pd.DataFrame) -> None:
        """Append `frame`'s rows. Raises StreamSchemaError when its Arrow types differ from those
        of the frames written before it."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if not len(table):
            if self._shape is None:
                self._shape = table
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._handle, table.schema, compression="zstd")
        elif not table.schema.equals(self._writer.schema, check_metadata=False):
            raise StreamSchemaError(f"a batch of {len(table)} rows has other column types than the batches before it")
        self._writer.write_table(table)
        self.rows += len(table)

    def discard(self) -> None:
        """Leave the file as it was before the block (or absent): nothing written is kept."""
        self.discarded = True

    def close(self) -> None:
        """End the file (an empty frame's schema and no row when no row was written); a
        discarded file is only let go of."""
        if self._writer is not None:
            self._writer.close()
        elif self.discarded:
            return
        elif self._shape is not None:
            pq.write_table(self._shape, self._handle, compression="zstd")
        else:
            raise ValueError("no frame was written to the parquet stream, not even an empty one")


@contextmanager
def streamed_parquet(path: Path, *, private: bool = False) -> Iterator[ParquetStream]:
    """A zstd parquet file written frame by frame, so that no more than a frame is held; the file
    appears, atomically, when the block ends without error and without `discard`. Its mode follows
    its folder (`private`: owner-only). At least one frame (empty or not) must be written."""
    tmp = _temporary(path)
    try:
        with _created(tmp, private) as handle:
            stream = ParquetStream(handle)
            try:
                yield stream
            except BaseException:
                stream.discard()
                raise
            finally:
                stream.close()
        if stream.discarded:
            tmp.unlink()
        else:
            tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(data: dict, path: Path) -> None:
    """Write JSON (sorted keys, indented), atomically."""
    write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", path)


def write_text(text: str, path: Path, *, private: bool = False) -> None:
    """Write a text file (UTF-8), atomically; its mode follows its folder (`private`: owner-only)."""
    tmp = _temporary(path)
    with _created(tmp, private) as handle:
        handle.write(text.encode("utf-8"))
    tmp.replace(path)


def _temporary(path: Path) -> Path:
    """A sibling to write before the rename; per process, so two writers never share one."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def _created(path: Path, private: bool) -> Iterator[IO[bytes]]:
    """A new file opened for writing (its folder made first), created with the mode its folder
    passes on, or owner-only when `private`: set on the descriptor, before a byte is written."""
    make_folder(path.parent)
    mode = PRIVATE_FILE if private else file_mode(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if mode is not None else 0o666)
    if mode is not None:
        os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as handle:
        yield handle


def _closed(mode: int) -> bool:
    """A folder mode that grants other users nothing."""
    return not mode & stat.S_IRWXO


def file_mode(folder: Path) -> int | None:
    """The mode a file written in `folder` takes: the folder's owner and group read and write bits
    when the folder is closed to others (0700 -> 0600, 0750 -> 0640); None (the umask's) otherwise."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    return mode & 0o660 if _closed(mode) else None


def make_folder(folder: Path) -> Path:
    """Create `folder` and its missing parents; each one created inside a folder closed to others
    takes that folder's mode (with its set-group-id bit, hence its group), whatever the umask."""
    missing = []
    current = folder
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        mode = stat.S_IMODE(created.parent.stat().st_mode)
        if _closed(mode):
            os.chmod(created, mode & (stat.S_ISGID | 0o770))
    return folder


def close_folder(folder: Path, mode: int = PRIVATE_FOLDER, group: str | None = None, *, within: bool = True) -> Path:
    """Make `folder` (created if missing) readable by no one but its owner (`mode`; 0750 lets its
    group read), owned by `group` when one is named; with `within`, what it holds already follows
    (folders `mode`, files without the execute bits) unless the folder was closed so already, and
    so all written in it since. With a group, the set-group-id bit makes every file written in it
    later the group's too. Raises AccessError when the group does not exist or the user may not
    give files to it."""
    gid = group_id(group) if group is not None else -1
    mode = mode | (stat.S_ISGID if group is not None else 0)
    make_folder(folder)
    found = folder.stat()
    settled = stat.S_IMODE(found.st_mode) == mode and gid in (-1, found.st_gid)
    for path in [folder, *(folder.rglob("*") if within and not settled else ())]:
        try:
            _close(path, mode, gid, group)
        except FileNotFoundError:
            continue  # a temporary file another step renamed meanwhile: written with its modes
    return folder


def _close(path: Path, mode: int, gid: int, group: str | None) -> None:
    if gid != -1 and path.stat().st_gid != gid:
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            raise AccessError(
                f"{path}: cannot give it to group {group!r}: the user running trainset is not a member of it "
                "(`id -Gn` lists the user's groups); add the user to the group, or change `privacy.group`"
            ) from None
    if path.is_dir():
        os.chmod(path, mode)
    elif path.is_file():
        os.chmod(path, mode & 0o660)


def follow_folder(folder: Path) -> None:
    """Give everything under `folder` the modes it passes on, when it is closed to others: for what
    another library wrote there with the umask's modes (GX Data Docs, CSV files)."""
    mode = stat.S_IMODE(folder.stat().st_mode) if folder.is_dir() else stat.S_IRWXO
    if not _closed(mode):
        return
    for path in folder.rglob("*"):
        os.chmod(path, mode & (stat.S_ISGID | 0o770) if path.is_dir() else mode & 0o660)


def take_modes_of(parent: Path, folder: Path) -> None:
    """Give `folder` (about to be renamed into `parent`) and everything in it the modes `parent`
    passes on, open or closed: folders `parent`'s mode, files without the execute bits."""
    found = parent.stat()
    mode = stat.S_IMODE(found.st_mode) & (stat.S_ISGID | 0o777)
    for path in [folder, *folder.rglob("*")]:
        if mode & stat.S_ISGID and path.stat().st_gid != found.st_gid:
            os.chown(path, -1, found.st_gid)  # the group the parent gives its files (we gave it)
        os.chmod(path, mode if path.is_dir() else mode & 0o666)


class AccessError(PermissionError):
    """A declared group cannot own the dataset's files; the message says which and what to do."""


def group_id(group: str) -> int:
    """The id of a named group. Raises AccessError when no such group exists."""
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise AccessError(
            f"group {group!r} does not exist on this machine (`getent group {group}` finds nothing); create it, "
            "or change `privacy.group` in the spec"
        ) from None


class TableError(ValueError):
    """A side table (opt-outs, annotations) cannot be read as CSV; the message names it and the file."""


def read_csv_table(path: Path, what: str, **options) -> pd.DataFrame:
    """A small CSV table the spec names (`what`: "opt-out table", "annotations"), as pandas reads
    it with `options`. Raises TableError naming the table, the file and the problem (missing, empty,
    not UTF-8, not CSV), never quoting its content: these tables hold user ids."""
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        problem = "no such file; land it there, or change its path in the spec"
    except UnicodeDecodeError:
        problem = f"{_first_non_utf8(path)}; convert it to UTF-8"
    except pd.errors.EmptyDataError:
        problem = "empty; a CSV table starts with a header line"
    except pd.errors.ParserError as error:
        # pandas says where ("Expected 2 fields in line 3, saw 4"), not what the line holds.
        problem = f"cannot be read as CSV ({str(error).removeprefix('Error tokenizing data. C error: ')}); fix the file"
    raise TableError(f"{what} {path}: {problem}")


def _first_non_utf8(path: Path) -> str:
    # pandas counts the byte within its read buffer; the line is found again in the whole file.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return f"line {line}: not UTF-8 (byte {data[error.start]:#04x})"
    return "not UTF-8"
