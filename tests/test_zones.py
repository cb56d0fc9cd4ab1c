"""Storage of the zones holding personal data: text redacted on the way into the raw zone unless
`privacy.keep_raw` is declared; owner-only folders and files whatever the umask, owned by a
declared group; files that take their folder's modes. Small exports written here; assertions name
counts, modes and placeholders, never a planted value."""

from __future__ import annotations

import grp
import os
import stat
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_spec

from pipelines.lib.files import AccessError, close_folder, take_modes_of, write_parquet, write_text
from pipelines.lib.ingest.steps import collect_quarantine, land_raw
from pipelines.lib.privacy.steps import redact_partitions
from pipelines.lib.report_files import read_ingest
from pipelines.lib.spec import DatasetSpec, SourceSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.lib.zones import prepare_dataset, prepare_releases

AS_OF = date(2026, 10, 5)
DAY = "2026-10-01"
HEADER = "ticket_id,user_id,customer_email,created_at,channel,language,subject,body,category"
# Made-up values of a reserved domain and a fictional number range: PII in shape only.
EMAIL, PHONE = "ana.lopez@example.org", "+1 202 555 0143"
KEY = b"k" * 32


def spec_with(**privacy) -> DatasetSpec:
    spec = small_spec()
    source = SourceSpec.model_validate(spec.sources[0].model_dump() | {"path": "exports/tickets.csv"})
    declared = spec.privacy.model_copy(update=privacy)
    return spec.model_copy(update={"sources": [source], "privacy": declared})


def export(root: Path) -> None:
    path = root / "exports" / "tickets.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [
        f"T1,u1,{EMAIL},{DAY}T10:00:00Z,email,en,Refund,write to {EMAIL} or call {PHONE},Billing",
        f"T2,u2,{EMAIL},{DAY}T11:00:00Z,email,en,Login,no access,Account",
        f"T3,u3,{EMAIL},{DAY}T12:00:00Z,email,en,Hi,broken,NotAClass",  # quarantined: unknown_label
    ]
    path.write_text("\n".join([HEADER, *records, ""]))


def ingest(root: Path, spec: DatasetSpec) -> DatasetPaths:
    export(root)
    paths = DatasetPaths(root, spec.name)
    land_raw(paths, spec, "tickets", [DAY], AS_OF)
    collect_quarantine(paths, spec)
    return paths


def everything(folder: Path) -> str:
    return "\n".join(
        "\n".join(map(str, pd.read_parquet(p).to_numpy().ravel())) if p.suffix == ".parquet" else p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o777


# -- redaction before storage ----------------------------------------------------------------------


def test_the_raw_zone_holds_minimised_redacted_rows_and_the_redacted_zone_carries_the_counts(tmp_path):
    spec = spec_with()
    paths = ingest(tmp_path, spec)
    raw = pd.read_parquet(paths.raw("tickets", DAY))
    assert list(raw.columns) == spec.kept_columns  # customer_email is not stored
    assert raw["body"].tolist() == ["write to <EMAIL> or call <PHONE>", "no access"]
    assert raw["user_id"].tolist() == ["u1", "u2"]  # as written: erasure finds a person's rows by it
    redaction = read_ingest(paths, "tickets", DAY).redaction
    assert redaction is not None and redaction.dropped_columns == ["customer_email"]
    assert (redaction.replaced["email"], redaction.replaced["phone"]) == (1, 1)
    batch = redact_partitions(paths, spec, [DAY], KEY)
    assert (batch.replaced["email"], batch.replaced["phone"]) == (1, 1)
    assert batch.dropped_columns == ["customer_email"] and batch.contract.passed
    # Only the landing copies hold the records as written.
    stored = [f for f in paths.warehouse.iterdir() if not f.name.startswith("landed_")]
    assert not any(
        EMAIL in everything(f) if f.is_dir() else EMAIL in f.read_bytes().decode(errors="replace") for f in stored
    )
    assert EMAIL in everything(paths.warehouse / "landed_tickets")


def test_keep_raw_keeps_the_rows_as_written_in_the_raw_zone_and_redacts_them_in_the_next(tmp_path):
    spec = spec_with(keep_raw=True)
    paths = ingest(tmp_path, spec)
    raw = pd.read_parquet(paths.raw("tickets", DAY))
    assert "customer_email" in raw.columns and EMAIL in raw["body"].iloc[0]
    assert read_ingest(paths, "tickets", DAY).redaction is None
    batch = redact_partitions(paths, spec, [DAY], KEY)
    assert (batch.replaced["email"], batch.replaced["phone"]) == (1, 1)
    assert EMAIL not in everything(paths.warehouse / "redacted")


def test_a_type_added_to_redact_later_is_found_in_days_redacted_on_the_way_in(tmp_path):
    paths = ingest(tmp_path, spec_with(redact=["email"]))
    assert "<EMAIL>" in pd.read_parquet(paths.raw("tickets", DAY))["body"].iloc[0]
    batch = redact_partitions(paths, spec_with(redact=["email", "phone"]), [DAY], KEY)
    body = pd.read_parquet(paths.redacted(DAY))["body"].iloc[0]
    assert body == "write to <EMAIL> or call <PHONE>"
    assert (batch.replaced["email"], batch.replaced["phone"]) == (1, 1)  # the ingest's count, and the new one


# -- owner-only zones ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_pii_zones_are_owner_only_whatever_the_umask(tmp_path, umask):
    before = os.umask(umask)
    try:
        paths = ingest(tmp_path, spec_with())
    finally:
        os.umask(before)
    zones = [paths.warehouse / name for name in ("landed_tickets", "raw_tickets", "quarantine")]
    found = {p: mode(p) for zone in zones for p in [zone, *zone.rglob("*")]}
    assert {str(p): oct(m) for p, m in found.items() if m != (0o700 if p.is_dir() else 0o600)} == {}
    assert len(found) >= 8  # folders, days, the ledger, quarantine/tickets/
    assert mode(paths.quarantine) == 0o600
    assert mode(paths.warehouse) == 0o700  # confidential, no group: the later zones are the owner's too
    assert mode(paths.stats("raw_tickets", DAY)) == 0o600


def test_an_internal_dataset_leaves_its_later_zones_to_the_umask(tmp_path):
    spec = spec_with().model_copy(update={"classification": "internal"})
    os.chmod(tmp_path, 0o755)  # pytest's folders are closed, and a folder passes that on
    before = os.umask(0o022)
    try:
        paths = ingest(tmp_path, spec)
    finally:
        os.umask(before)
    assert mode(paths.warehouse) == 0o755 and mode(paths.stats("raw_tickets", DAY)) == 0o644
    assert mode(paths.raw("tickets", DAY)) == 0o600 and mode(paths.quarantine) == 0o600


def test_a_declared_group_owns_the_zones_and_what_is_written_in_them(tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name  # a group the user is in
    spec = spec_with(group=group)
    paths = ingest(tmp_path, spec)
    raw = paths.raw("tickets", DAY)
    assert raw.parent.stat().st_mode & stat.S_ISGID and mode(raw.parent) == 0o700
    assert raw.stat().st_gid == os.getgid() and mode(raw) == 0o600
    assert mode(paths.warehouse) == 0o750 and mode(paths.stats("raw_tickets", DAY)) == 0o640


def test_a_group_that_does_not_exist_is_refused_with_what_to_do(tmp_path):
    spec = spec_with(group="no_such_group_here")
    with pytest.raises(AccessError, match=r"group 'no_such_group_here' does not exist .* change `privacy.group`"):
        prepare_dataset(DatasetPaths(tmp_path, spec.name), spec)


def test_a_file_takes_its_folder_s_modes_and_the_umask_s_in_an_open_folder(tmp_path):
    os.chmod(tmp_path, 0o755)
    before = os.umask(0o000)
    try:
        closed = close_folder(tmp_path / "closed")
        write_text("x", closed / "deeper" / "a.txt")
        write_parquet(pd.DataFrame({"a": [1]}), closed / "b.parquet")
        write_text("x", tmp_path / "open" / "c.txt")
        write_text("x", tmp_path / "open" / "d.txt", private=True)
    finally:
        os.umask(before)
    assert mode(closed / "deeper") == 0o700 and mode(closed / "deeper" / "a.txt") == 0o600
    assert mode(closed / "b.parquet") == 0o600
    assert mode(tmp_path / "open" / "c.txt") == 0o666 and mode(tmp_path / "open" / "d.txt") == 0o600


def test_zones_written_before_they_were_closed_are_closed_with_what_they_hold(tmp_path):
    os.chmod(tmp_path, 0o755)
    spec = spec_with()
    paths = DatasetPaths(tmp_path, spec.name)
    before = os.umask(0o022)
    try:
        write_text("{}", paths.landing_ledger("tickets"))
        write_parquet(pd.DataFrame({"a": [1]}), paths.quarantine_part("tickets", DAY))
    finally:
        os.umask(before)
    assert mode(paths.quarantine_part("tickets", DAY)) == 0o644
    prepare_dataset(paths, spec)
    assert mode(paths.landing_ledger("tickets")) == 0o600 and mode(paths.quarantine_part("tickets", DAY)) == 0o600
    assert mode(paths.quarantine_part("tickets", DAY).parent) == 0o700


def test_a_version_staged_owner_only_takes_the_modes_and_group_of_the_releases_folder(tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name
    spec = spec_with(group=group)
    releases = prepare_releases(DatasetPaths(tmp_path, spec.name), spec)
    assert mode(releases) == 0o750 and releases.stat().st_mode & stat.S_ISGID
    staging = close_folder(tmp_path / "data" / "staging" / "ticket_triage-1")
    write_text("card", staging / "DATASET_CARD.md")
    assert mode(staging) == 0o700 and mode(staging / "DATASET_CARD.md") == 0o600
    take_modes_of(releases, staging)
    version = staging.rename(releases / "v1")
    assert mode(version) == 0o750 and mode(version / "DATASET_CARD.md") == 0o640
    assert (version / "DATASET_CARD.md").stat().st_gid == os.getgid()
