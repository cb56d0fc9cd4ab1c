"""Immutable, versioned releases: `datasets/<name>/v<N>/` tracked by DVC, tagged in git.

A version is staged in a temporary folder on the same filesystem and renamed into place, so it
either exists complete or not at all; an existing version is never written again. A release
whose content equals the latest version's creates nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from pipelines.lib.errors import BAD_DATA, describe_validation
from pipelines.lib.files import close_folder, make_folder, take_modes_of
from pipelines.lib.hashing import combined_sha256, file_sha256
from pipelines.lib.locks import exclusive
from pipelines.lib.privacy.residue import ResidueFinding, find_residue
from pipelines.lib.privacy.residue_review import ResidueReview, review_residue
from pipelines.lib.quality.splits import SPLITS
from pipelines.lib.quality.waivers import ResidueAllowance
from pipelines.lib.release import vcs
from pipelines.lib.release.card import render_card
from pipelines.lib.release.killpoints import NEVER, KillSwitch
from pipelines.lib.reports import FileEntry, InputSummary, Manifest, ManifestBody

VERSION_DIR = re.compile(r"^v(\d+)$")
MANIFEST = "manifest.json"
CARD = "DATASET_CARD.md"


class ReleaseError(RuntimeError):
    """A release cannot be written (e.g. the version exists already)."""


@dataclass(frozen=True)
class ReleaseOutcome:
    """What a release did: the version that now holds this content, and whether it is new."""

    dataset: str
    version: int
    path: Path
    created: bool
    tag: str | None

    @property
    def ref(self) -> str:
        return f"{self.dataset}@v{self.version}"


@dataclass(frozen=True)
class ReleaseResidue:
    """How the files about to be released are checked for PII residue, and reviewed."""

    text_columns: list[str]
    id_column: str | None = None
    allowances: list[ResidueAllowance] = field(default_factory=list)
    #: every row id the dataset stores (an allowance for a row outside the release is judged there)
    stored_ids: Callable[[], Collection[str]] | None = None
    today: date | None = None
    #: keeps the verdict, passed or not (for `trainset gates`)
    record: Callable[[ResidueReview], None] | None = None


def release_tag(dataset: str, version: int) -> str:
    """The git tag of a release, also the ref users pull: `ticket_triage@v3`."""
    return f"{dataset}@v{version}"


@contextlib.contextmanager
def release_lock(root: Path, dataset: str) -> Iterator[None]:
    """One release of a dataset at a time in a workspace; a second one is refused at once."""
    with exclusive(root, f"{dataset}.release", f"release of {dataset}"):
        # A release killed mid-way may have left its staging folder; nobody else can be using it.
        for stale in (root / "data" / "staging").glob(f"{dataset}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield


def versions(releases: Path) -> list[int]:
    """Complete versions of a dataset, ascending (a version folder always holds its manifest)."""
    if not releases.is_dir():
        return []
    found = [int(m[1]) for p in releases.iterdir() if (m := VERSION_DIR.match(p.name)) and (p / MANIFEST).is_file()]
    return sorted(found)


def fetch_missing_versions(root: Path, dataset: str) -> list[int]:
    """Bring into `datasets/` the released versions (git tags) the workspace does not hold, as in
    a fresh clone, whose `datasets.dvc` points at them but whose `datasets/` is empty: without
    them the next version would take a number that is already released.

    Returns the versions that were missing (fetched with `dvc pull datasets.dvc`). Raises
    ReleaseError naming them and what to do if they are still missing, VcsError if DVC fails."""
    if not vcs.is_git_repo(root):
        return []
    releases = root / "datasets" / dataset
    missing = sorted(set(vcs.released_versions(root, dataset)) - set(versions(releases)))
    if not missing:
        return []
    if (root / "datasets.dvc").is_file():
        vcs.dvc(root, "pull", "-q", "datasets.dvc", what=f"fetching the released versions of {dataset}")
    still = sorted(set(missing) - set(versions(releases)))
    if still:
        raise ReleaseError(
            f"{dataset}: version(s) {', '.join(f'v{v}' for v in still)} are released (git tags) but not in "
            f"{releases}, and datasets.dvc does not bring them; check out the branch that released them "
            "(`git pull`), run `dvc pull datasets.dvc`, then run again: nothing was released"
        )
    return missing


class ManifestError(ReleaseError):
    """A version's `manifest.json` is not a manifest: the version was tampered with or damaged."""

    exit_code = BAD_DATA


def read_manifest(version_dir: Path) -> Manifest:
    """The version's `manifest.json`; raises FileNotFoundError naming the file if it has none,
    ManifestError naming the file and each wrong field if it is not a manifest."""
    path = version_dir / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; {version_dir} is not a released version")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise ManifestError(
            f"{path}: not a valid manifest ({describe_validation(error)}): the version was changed after its "
            "release; fetch it again with `trainset pull`"
        ) from None


def release(
    root: Path,
    dataset: str,
    frame: pd.DataFrame,
    manifest_body: ManifestBody,
    *,
    residue: ReleaseResidue | None = None,
    kill: KillSwitch = NEVER,
) -> ReleaseOutcome:
    """Write the frame's splits as the next version unless the latest version has the same content
    on the same partner basis (`partner_basis`).

    Every text column of every written file is scanned for PII residue first; a finding no
    steward allowed, or an allowance that names no finding, stops the release. Allowed findings
    are listed in the manifest and the card. `publish` then tracks, pushes, commits and tags it."""
    releases = root / "datasets" / dataset
    staging = root / "data" / "staging" / f"{dataset}-{uuid.uuid4().hex}"
    # Owner-only until the files have passed their residue check: then the version takes the modes
    # of the folder it is renamed into (`zones.prepare_releases`).
    close_folder(staging)
    try:
        files = _write_splits(frame, staging)
        review = _released_residue(dataset, staging, files, residue or ReleaseResidue(text_columns=[]))
        fingerprint = combined_sha256([f"{name}:{meta.sha256}" for name, meta in sorted(files.items())])
        existing = versions(releases)
        latest_manifest = read_manifest(releases / f"v{existing[-1]}") if existing else None
        if (
            latest_manifest is not None
            and latest_manifest.content_sha256 == fingerprint
            and partner_basis(latest_manifest.inputs) == partner_basis(manifest_body.inputs)
        ):
            latest = existing[-1]
            return ReleaseOutcome(dataset, latest, releases / f"v{latest}", False, _tag_if_git(root, dataset, latest))
        version = (existing[-1] if existing else 0) + 1
        target = releases / f"v{version}"
        if target.exists():
            raise ReleaseError(f"{target} exists already; versions are immutable and never rewritten")
        manifest = Manifest(
            dataset=dataset,
            version=version,
            content_sha256=fingerprint,
            pii_residue_in_files=review,
            files=files,
            **dict(manifest_body),
        )
        (staging / CARD).write_text(render_card(manifest))
        card = FileEntry(sha256=file_sha256(staging / CARD), bytes=(staging / CARD).stat().st_size)
        manifest = manifest.model_copy(update={"files": files | {CARD: card}})
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        take_modes_of(make_folder(releases), staging)
        kill.reach("release:staged")
        os.rename(staging, target)  # atomic on one filesystem; fails if target appeared meanwhile
        kill.reach("release:renamed")
        return ReleaseOutcome(dataset, version, target, True, None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def partner_basis(inputs: list[InputSummary]) -> list[tuple[str, str | None, str]]:
    """What a version's partner rows are used on: per partner source with rows in it, its decision
    record (sha256) and its terms. The same rows on another basis (a decision renewed, terms
    changed) are a new version, so that the latest card states the basis in force."""
    return [
        (i.source, i.use.record_sha256 if i.use else None, i.terms.model_dump_json() if i.terms else "")
        for i in inputs
        if i.terms is not None and i.released
    ]


def _write_splits(frame: pd.DataFrame, folder: Path) -> dict[str, FileEntry]:
    files = {}
    for split in SPLITS:
        part = frame.loc[frame["split"] == split].drop(columns="split").reset_index(drop=True)
        path = folder / f"{split}.parquet"
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), path, compression="zstd")
        files[path.name] = FileEntry(sha256=file_sha256(path), bytes=path.stat().st_size, rows=len(part))
    return files


def _released_residue(
    dataset: str, folder: Path, files: dict[str, FileEntry], residue: ReleaseResidue
) -> ResidueReview:
    findings: list[ResidueFinding] = []
    ids: set[str] = set()
    columns = residue.text_columns + ([residue.id_column] if residue.id_column else [])
    for name in sorted(files):
        table = pq.read_table(folder / name, columns=columns)
        findings += find_residue(table, residue.text_columns, dataset=dataset, id_column=residue.id_column, file=name)
        if residue.id_column and residue.allowances:
            ids.update(str(v) for v in table.column(residue.id_column).to_pylist())
    review = review_residue(
        findings,
        residue.allowances,
        residue.today or datetime.now(UTC).date(),
        scope="the files to release",
        rows=sum(meta.rows or 0 for meta in files.values()),
        scanned_ids=ids,
        stored_ids=residue.stored_ids,
    )
    if residue.record is not None:
        residue.record(review)
    if not review.passed:
        raise ReleaseError(f"nothing was released: {review.description()}")
    return review


def _tag_if_git(root: Path, dataset: str, version: int) -> str | None:
    tag = release_tag(dataset, version)
    return tag if vcs.is_git_repo(root) and vcs.tag_exists(root, tag) else None


def publish(
    root: Path,
    outcome: ReleaseOutcome,
    extra_paths: list[str],
    purge: Callable[[], int] | None = None,
    kill: KillSwitch = NEVER,
) -> ReleaseOutcome:
    """Track datasets/ with DVC, push the bytes, run `purge` (withdrawn objects), commit the
    pointer with `extra_paths` (registry, erasure log) and tag the version if it has no tag yet.

    Every step is idempotent, so a release interrupted after its version folder was renamed
    into place is completed by the next run."""
    vcs.ensure_dvc_repo(root)
    vcs.dvc(root, "add", "-q", "datasets", what="tracking datasets/ with DVC")
    kill.reach("publish:tracked")
    vcs.dvc(root, "push", "-q", what="pushing the release to the DVC remote")
    if purge is not None:
        purge()
    kill.reach("publish:pushed")
    if not vcs.is_git_repo(root):
        return outcome
    dataset, version = outcome.dataset, outcome.version
    # The DVC config travels with the pointer, so the tag alone says where the bytes are;
    # gate metrics go with it, so `dvc metrics diff` can compare two release tags.
    candidates = ["datasets.dvc", ".gitignore", ".dvcignore", ".dvc/config", ".dvc/.gitignore", *extra_paths]
    # (label_issues.csv: ids, given and suggested label, self-confidence; never text.)
    released = ("gates.json", "coverage.csv", "gate_report.html", "label_issues.csv")
    candidates += [f"reports/{dataset}/{name}" for name in released]
    pointer = [p for p in candidates if (root / p).exists()]
    vcs.git(root, "add", *pointer, what="staging datasets.dvc")
    tag = release_tag(dataset, version)
    untagged = not vcs.tag_exists(root, tag)  # new, or published before a crash cut it short
    if vcs.git(root, "diff", "--cached", "--name-only", "--", *pointer, what="checking staged files").strip():
        message = f"Release {tag}" if untagged else f"Withdraw versions of {dataset}"
        vcs.git(root, "commit", "-q", "-m", message, "--", *pointer, what="committing the release pointer")
    kill.reach("publish:committed")
    if untagged:
        vcs.git(root, "tag", "-a", tag, "-m", f"trainset release {tag}", what="tagging the release")
    return dataclasses.replace(outcome, tag=tag)
