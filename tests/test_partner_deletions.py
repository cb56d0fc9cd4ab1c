"""A partner's delete lists: read as partners write them, applied to builds, purged from every
stored zone (real parquet), logged without ids, placed by `trainset forget --source`, and earlier
versions holding a listed row withdrawn (with a real git + DVC release)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import AS_OF, FIXTURES, TEST_KEY, land, make_workspace, small_spec
from test_erasure import md5, stored

from pipelines.cli import cli
from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.files import write_parquet
from pipelines.lib.partners.deletions import (
    PARTNER_DELETIONS_LOG,
    DeleteListError,
    DeleteLists,
    DeletionsLocationError,
    apply_partner_deletions,
    delete_lists,
    place_delete_list,
    purge_partner_deletions,
    read_delete_lists,
)
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.release.withdrawal import (
    Withdrawal,
    read_registry,
    versions_holding_partner_rows,
    withdraw,
)
from pipelines.lib.report_files import write_ingest, write_redaction
from pipelines.lib.reports import IngestReport, RedactionReport
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths
from pipelines.runner import materialize_dataset
from pipelines.synthetic.generate import GeneratorConfig, generate

KEY = TEST_KEY.encode()
LISTS = "data/partners/acme/deletions"
#: the partner's own name of the dataset's id column
THEIR_ID = "Ticket ID"
DAY = "2026-10-01"


def partner_spec(
    deletions: str | None = LISTS, pseudonymize_ids: bool = False, id_prefix: str | None = None
) -> DatasetSpec:
    """ticket_triage (scaled) with a second source: partner acme, its exports in their own id column."""
    spec = small_spec()
    document = spec.model_dump(mode="json", exclude_none=True) | {"columns": spec.columns.model_dump(mode="json")}
    partner = {
        "name": "acme",
        "kind": "partner",
        "path": "data/partners/acme/exports",
        "rename": {THEIR_ID: "ticket_id"},
        "owner": "partnerships",
        "steward": "data-governance",
        "legal_basis": "contract",
        "escalation": {
            "gate_failure": "partnerships",
            "pii_found": "privacy-office",
            "deletion_request": "partnerships",
        },
        "start_date": "2025-05-01",
        "terms": {
            "licence": "CC-BY-4.0",
            "model_training": "allowed",
            "commercial_use": "allowed",
            "derivatives": "allowed",
            # (Without a place for delete lists, an obligation to delete on request is refused.)
            "deletion_on_request": "required" if deletions else "unknown",
        },
    }
    document["sources"] = [*document["sources"], partner | ({"deletions": deletions} if deletions else {})]
    if pseudonymize_ids:
        document["privacy"]["pseudonymize"] = ["user_id", "ticket_id"]
    if id_prefix:
        document["sources"][-1]["id_prefix"] = id_prefix
    return DatasetSpec.model_validate(document)


def acme(spec: DatasetSpec):
    return next(s for s in spec.sources if s.name == "acme")


def write_list(root: Path, name: str, data: bytes | str, folder: str = LISTS) -> Path:
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# -- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "ids"),
    [
        ("\ufeffTicket ID;reason\r\n 00123 ;gdpr\r\n\r\n00124;art. 17\r\n".encode(), ["00123", "00124"]),
        (b"Ticket ID\n00123\n\n\n  000017  \n00123\n", ["00123", "000017"]),
        (b"id,note\n0042,\n,blank id\n", ["0042"]),
        (b"ID\t note\n0000\tx\n", ["0000"]),
        (b" ticket id ;x\r\n9;\r\n", ["9"]),
        (b"Ticket ID\r\n", []),
        (b"", []),
    ],
    ids=["bom-crlf-semicolon", "blank-lines-spaces", "generic-id", "tab-case", "header-spaces", "header-only", "empty"],
)
def test_delete_lists_are_read_as_partners_write_them(tmp_path, written, ids):
    spec = partner_spec()
    path = write_list(tmp_path, "list.csv", written)
    lists = read_delete_lists(tmp_path, spec, acme(spec))
    assert lists.ids.tolist() == ids and str(lists.ids.dtype) == "str"
    (entry,) = lists.files
    assert (entry.path, entry.ids) == (f"{LISTS}/list.csv", len(ids))
    assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_list_is_read_with_its_own_delimiter_not_the_deliveries(tmp_path):
    spec = partner_spec()
    document = spec.model_dump(mode="json")
    document["sources"][-1]["delimiter"] = ";"  # the deliveries are `;`-delimited; its lists need not be
    spec = DatasetSpec.model_validate(document)
    write_list(tmp_path, "tabs.csv", b"Ticket ID\treason\n00123\tgdpr\n")
    write_list(tmp_path, "commas.csv", b"Ticket ID,reason\n00124,gdpr\n")
    assert sorted(read_delete_lists(tmp_path, spec, acme(spec)).ids) == ["00123", "00124"]


@pytest.mark.parametrize("declared", [LISTS, f"{LISTS}/", f"{LISTS}/*.csv", f"{LISTS}/2026-*.csv"])
def test_a_folder_or_glob_of_lists_is_read_whole_each_id_once(tmp_path, declared):
    spec = partner_spec(deletions=declared)
    write_list(tmp_path, "2026-01.csv", "id\n001\n002\n")
    write_list(tmp_path, "2026-02.csv", "Ticket ID\n002\n003\n")
    write_list(tmp_path, ".2026-03.csv", "id\n004\n")  # hidden: an editor's or a transfer's leftover
    write_list(tmp_path, "2026-04.csv.part", "id\n005\n")
    lists = read_delete_lists(tmp_path, spec, acme(spec))
    assert lists.ids.tolist() == ["001", "002", "003"]
    assert lists.listed_in.tolist() == [f"{LISTS}/2026-01.csv"] * 2 + [f"{LISTS}/2026-02.csv"]
    assert [(f.path.rsplit("/", 1)[1], f.ids) for f in lists.files] == [("2026-01.csv", 2), ("2026-02.csv", 2)]


def test_declared_lists_that_have_not_arrived_are_no_request(tmp_path):
    spec = partner_spec(deletions=f"{LISTS}/*.csv")
    lists = read_delete_lists(tmp_path, spec, acme(spec))
    assert lists.ids.empty and lists.files == ()
    assert delete_lists(tmp_path, partner_spec(deletions=None)) == {}


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (b"customer;00999\nx;y\n", "columns found: 'customer' (and 1 holding digits or an @, not shown"),
        (b"Ticket Number,Reason\n00999,gdpr\n", "columns found: 'Ticket Number', 'Reason'"),
        (b'id,reason\n00999,"never closed\n00998,x\n', "line(s) cannot be read as CSV (line 2)"),
        (b"\xff\xfei\x00d\x00\n\x000", "is not utf-16-le from byte 6"),
    ],
    ids=["no-header", "other-column", "unclosed-quote", "broken-utf16"],
)
def test_a_list_that_cannot_be_used_is_refused_naming_the_file_and_columns_never_an_id(tmp_path, written, says):
    spec = partner_spec()
    write_list(tmp_path, "bad.csv", written)
    with pytest.raises(DeleteListError) as raised:
        read_delete_lists(tmp_path, spec, acme(spec))
    message = str(raised.value)
    assert message.startswith(f"delete list {LISTS}/bad.csv: ") and says in message
    assert "00999" not in message and "00998" not in message and raised.value.exit_code == 1
    if "columns found" in message:
        assert "expected 'Ticket ID' (the dataset's 'ticket_id' as acme's exports name it) or 'id'" in message


def test_the_report_module_can_hold_the_purge_report():
    """`reports` may import `PartnerDeletions` for the eligibility report: this module loads none
    of the modules that import `reports`."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pipelines.lib.partners.deletions; print('pipelines.lib.reports' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


# -- applying to a build ---------------------------------------------------------------------------


def redacted_rows(ids: list[str], sources: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"ticket_id": ids, SOURCE_COLUMN: sources, "body": [f"text {n}" for n in range(len(ids))]})


#: how the zones past `redacted` may keep a partner's ids: as written, or with its prefix and pseudonymised
KEPT = pytest.mark.parametrize(("pseudonymize_ids", "id_prefix"), [(False, None), (True, "acme:")])


@KEPT
def test_apply_removes_the_listed_rows_of_that_source_only(tmp_path, pseudonymize_ids, id_prefix):
    spec = partner_spec(pseudonymize_ids=pseudonymize_ids, id_prefix=id_prefix)
    write_list(tmp_path, "list.csv", "Ticket ID\n007\n008\n")
    prefix = id_prefix or ""
    ids = pd.Series([prefix + "007", "007", prefix + "008", prefix + "009"], dtype="str")
    stored = pseudonymize(ids, KEY) if pseudonymize_ids else ids
    frame = redacted_rows(stored.tolist(), ["acme", "tickets", "acme", "acme"])
    accounting = Accounting(len(frame))
    kept = apply_partner_deletions(frame, spec, delete_lists(tmp_path, spec), accounting, KEY)
    assert kept[SOURCE_COLUMN].tolist() == ["tickets", "acme"]  # tickets' 007 is another record
    assert kept["ticket_id"].tolist() == [stored[1], stored[3]]
    assert accounting.close(len(kept)).removed == {"partner_deletion_request": 2}
    untouched = Accounting(len(frame))
    assert apply_partner_deletions(frame, spec, {"acme": DeleteLists()}, untouched, KEY) is frame
    assert untouched.removed == {}


# -- purging what is stored ------------------------------------------------------------------------


def stored_zones(root: Path, spec: DatasetSpec, ids: list[str], sources: list[str]) -> DatasetPaths:
    """Each zone of the warehouse holding the rows (raw zones per source, ids as written; later
    zones with their source and stored ids), with the day reports a deletion is booked against."""
    paths = DatasetPaths(root, spec.name)
    prefixes = {"acme": acme(spec).id_prefix or "", "tickets": ""}
    kept = pd.Series([prefixes[s] + i for i, s in zip(ids, sources, strict=True)], dtype="str")
    stored = pseudonymize(kept, KEY) if "ticket_id" in spec.pseudonymized_columns else kept
    later = redacted_rows(list(stored), sources)
    for name in ("acme", "tickets"):
        mine = [i for i, s in zip(ids, sources, strict=True) if s == name]
        landed = pd.DataFrame({"ticket_id": mine, "body": ["x"] * len(mine)})
        write_parquet(landed, paths.landed(name, DAY))
        write_parquet(landed.assign(ticket_id=[prefixes[name] + i for i in mine]), paths.raw(name, DAY))
        write_ingest(
            paths,
            name,
            IngestReport(
                partition=DAY, file="f", sha256="0", accounting=RowAccounting(rows_in=len(mine), rows_out=len(mine))
            ),
        )
    write_parquet(later, paths.redacted(DAY))
    write_redaction(
        paths, RedactionReport(partition=DAY, accounting=RowAccounting(rows_in=len(later), rows_out=len(later)))
    )
    for path in (paths.eligible, paths.labeled, paths.unlabeled, paths.training_set):
        write_parquet(later, path)
    return paths


@KEPT
def test_the_purge_deletes_exactly_the_listed_rows_of_that_source_from_every_zone(
    tmp_path, pseudonymize_ids, id_prefix
):
    spec = partner_spec(pseudonymize_ids=pseudonymize_ids, id_prefix=id_prefix)
    paths = stored_zones(tmp_path, spec, ["007", "007", "008", "010"], ["acme", "tickets", "acme", "tickets"])
    write_list(tmp_path, "2026-10-01.csv", "\ufeffTicket ID;reason\r\n007;x\r\n 008 ;y\r\n010;z\r\n")

    report = purge_partner_deletions(paths, spec, KEY)

    (done,) = report.sources
    assert done.source == "acme" and done.ids_requested == 3 and done.lists[0].ids == 3
    zones = ["eligible", "labeled", "landed_acme", "raw_acme", "redacted", "training_set", "unlabeled"]
    assert done.rows_deleted == dict.fromkeys(zones, 2)
    for name in ("landed_tickets", "raw_tickets"):  # the other source's 007 and 010 stay
        assert pd.read_parquet(paths.warehouse / name / f"{DAY}.parquet")["ticket_id"].tolist() == ["007", "010"]
    for path in (paths.landed("acme", DAY), paths.raw("acme", DAY)):
        assert pd.read_parquet(path).empty
    for path in (paths.redacted(DAY), paths.eligible, paths.training_set, paths.labeled, paths.unlabeled):
        assert pd.read_parquet(path)[SOURCE_COLUMN].tolist() == ["tickets", "tickets"]
    # booked against the day reports, which stay balanced
    redaction = json.loads(paths.stats("redacted", DAY).read_text())["accounting"]
    assert redaction == {"rows_in": 4, "rows_out": 2, "removed": {"partner_deletion_request": 2}}
    raw = json.loads(paths.stats("raw_acme", DAY).read_text())["accounting"]
    assert raw == {"rows_in": 2, "rows_out": 0, "removed": {"partner_deletion_request": 2}}
    assert json.loads(paths.stats("raw_tickets", DAY).read_text())["accounting"]["removed"] == {}

    again = purge_partner_deletions(paths, spec, KEY)
    assert again.sources[0].rows_deleted == {} and again.rows_deleted == 0


def test_each_list_is_logged_once_without_its_ids(tmp_path):
    spec = partner_spec()
    paths = stored_zones(tmp_path, spec, ["007", "008", "009"], ["acme", "acme", "tickets"])
    first = write_list(tmp_path, "a.csv", "Ticket ID\n007\n")
    purge_partner_deletions(paths, spec, KEY)
    purge_partner_deletions(paths, spec, KEY)
    write_list(tmp_path, "b.csv", "id\n007\n008\n009\n")
    purge_partner_deletions(paths, spec, KEY)

    text = (tmp_path / PARTNER_DELETIONS_LOG).read_text()
    assert not any(f'"{i}"' in text for i in ("007", "008", "009"))
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["file"], e["ids"]) for e in lines] == [(f"{LISTS}/a.csv", 1), (f"{LISTS}/b.csv", 3)]
    assert {e["dataset"] for e in lines} == {"ticket_triage"} and {e["source"] for e in lines} == {"acme"}
    assert lines[0]["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    # the rows each list's first purge deleted: b.csv's 007 was deleted under a.csv already
    assert lines[0]["rows_deleted"]["redacted"] == 1 and lines[1]["rows_deleted"]["redacted"] == 1
    assert set(lines[0]) == {"dataset", "source", "file", "sha256", "ids", "rows_deleted", "logged_at"}


# -- withdrawing earlier versions ------------------------------------------------------------------


def released(root: Path, version: int, frame: pd.DataFrame) -> Path:
    folder = root / "datasets" / "ticket_triage" / f"v{version}"
    for n, split in enumerate(("train", "validation", "test")):
        write_parquet(frame.iloc[n::3], folder / f"{split}.parquet")
    shutil.copyfile(FIXTURES / "card" / "manifest.json", folder / "manifest.json")
    return folder


def test_versions_holding_a_listed_row_are_withdrawn_once_with_every_reason(tmp_path):
    spec = partner_spec()
    write_list(tmp_path, "list.csv", "Ticket ID\n007\n")
    users = pseudonymize(pd.Series(["u1", "u2", "u3"], dtype="str"), KEY)
    before_sources = pd.DataFrame({"ticket_id": ["007", "011", "012"], "user_id": users})
    released(tmp_path, 1, before_sources)  # rows did not name their source yet: matched by id alone
    released(tmp_path, 2, redacted_rows(["007", "011", "012"], ["tickets"] * 3).assign(user_id=users))
    v3 = released(
        tmp_path, 3, redacted_rows(["007", "011", "012"], ["acme", "tickets", "tickets"]).assign(user_id=users)
    )
    lists = delete_lists(tmp_path, spec)

    partner = versions_holding_partner_rows(tmp_path, "ticket_triage", spec, lists, 4, KEY)
    assert [(w.version, w.reason, w.requests) for w in partner] == [
        (1, "partner_deletion_request", [f"acme:{LISTS}/list.csv"]),
        (3, "partner_deletion_request", [f"acme:{LISTS}/list.csv"]),
    ]
    erasure = Withdrawal(3, 4, ["erasure-0123456789ab"])
    withdraw(tmp_path, "ticket_triage", [erasure, *partner])

    entries = read_registry(tmp_path, "ticket_triage")["withdrawn"]
    assert entries["1"]["reason"] == "partner_deletion_request" and "2" not in entries
    assert entries["3"]["reason"] == "erasure, partner_deletion_request"
    assert entries["3"]["requests"] == ["erasure-0123456789ab", f"acme:{LISTS}/list.csv"]
    tombstone = (v3 / "WITHDRAWN.md").read_text()
    assert "held users who asked to be erased and records a partner asked to delete" in tombstone
    assert "Use ticket_triage@v4" in tombstone and not list(v3.glob("*.parquet"))
    assert (
        "007" not in tombstone
        and "records a partner asked to delete (partner_deletion_request"
        in (tmp_path / "datasets" / "ticket_triage" / "v1" / "WITHDRAWN.md").read_text()
    )
    assert versions_holding_partner_rows(tmp_path, "ticket_triage", spec, lists, 4, KEY) == []


# -- a list sent by other means: `trainset forget --source` ----------------------------------------


def declared_workspace(tmp_path: Path, spec: DatasetSpec) -> tuple[Path, DatasetPaths]:
    root = make_workspace(tmp_path / "workspace", spec)
    return root, stored_zones(root, spec, ["007", "007", "008"], ["acme", "tickets", "acme"])


def forget(root: Path, *args: str):
    return CliRunner().invoke(cli, ["forget", *args, "--workspace", str(root)])


def test_forget_source_places_the_list_and_deletes_the_listed_rows_now(tmp_path):
    spec = partner_spec()
    root, paths = declared_workspace(tmp_path, spec)
    sent = write_list(tmp_path, "acme deletions 2026-11.csv", "\ufeffTicket ID;why\r\n 007 ;gdpr\r\n008;x\r\n", "mail")

    result = forget(root, "--source", "acme", "--ids", str(sent))

    assert result.exit_code == 0, result.output
    placed = root / LISTS / "acme deletions 2026-11.csv"
    assert placed.read_bytes() == sent.read_bytes()
    assert f"copied to {LISTS}/acme deletions 2026-11.csv: 2 id(s)" in result.output
    assert "raw_acme 2" in result.output and "redacted 2" in result.output and "007" not in result.output
    assert "the next `trainset run ticket_triage` releases without them" in result.output
    assert pd.read_parquet(paths.raw("acme", DAY)).empty
    assert pd.read_parquet(paths.raw("tickets", DAY))["ticket_id"].tolist() == ["007"]
    assert pd.read_parquet(paths.redacted(DAY))[SOURCE_COLUMN].tolist() == ["tickets"]

    again = forget(root, "--source", "acme", "--ids", str(sent), "ticket_triage")
    assert again.exit_code == 0 and "already at" in again.output and "nothing copied" in again.output
    assert "stored rows deleted now: none" in again.output and "no stored row of acme" in again.stderr
    assert len(list((root / LISTS).iterdir())) == 1


def test_forget_source_refuses_what_cannot_take_a_delete_list(tmp_path):
    root, _ = declared_workspace(tmp_path, partner_spec(deletions=None))
    sent = write_list(tmp_path, "list.csv", "id\n007\n", "mail")
    refused = {
        "tickets": "source 'tickets' of ticket_triage is a `kind: files` source",
        "acme": "partner source 'acme' of ticket_triage declares no `deletions:`",
        "globex": "has a source named 'globex'",
    }
    for source, says in refused.items():
        result = forget(root, "--source", source, "--ids", str(sent))
        assert result.exit_code == 2 and says in " ".join(result.output.split()), result.output
    alone = forget(root, "--source", "acme")
    assert alone.exit_code == 2 and "--source and --ids go together" in alone.output
    assert not (root / "data" / "partners").exists() and not (root / PARTNER_DELETIONS_LOG).exists()


def test_forget_source_never_places_a_list_it_cannot_read(tmp_path):
    root, paths = declared_workspace(tmp_path, partner_spec())
    sent = write_list(tmp_path, "list.csv", "customer\n007\n", "mail")
    result = forget(root, "--source", "acme", "--ids", str(sent))
    assert isinstance(result.exception, DeleteListError) and "columns found: 'customer'" in str(result.exception)
    assert "007" not in str(result.exception)
    assert not (root / LISTS).exists() and len(pd.read_parquet(paths.raw("acme", DAY))) == 2


@pytest.mark.parametrize(
    ("declared", "placed"),
    [
        (f"{LISTS}/acme-*.csv", f"{LISTS}/acme-list.csv"),
        (f"{LISTS}/**/*.csv", f"{LISTS}/list.csv"),
        (f"{LISTS}/all.csv", f"{LISTS}/all.csv"),
    ],
)
def test_a_list_is_placed_where_the_declared_glob_or_file_reads_it(tmp_path, declared, placed):
    spec = partner_spec(deletions=declared)
    sent = write_list(tmp_path, "list.csv", "id\n007\n", "mail")
    where, copied = place_delete_list(tmp_path, spec, acme(spec), sent)
    assert copied and where == tmp_path / placed
    assert read_delete_lists(tmp_path, spec, acme(spec)).ids.tolist() == ["007"]
    if declared.endswith("all.csv"):  # one file already holding a list: never overwritten
        other = write_list(tmp_path, "other.csv", "id\n008\n", "mail")
        with pytest.raises(DeletionsLocationError, match="names one file, which already holds acme's list"):
            place_delete_list(tmp_path, spec, acme(spec), other)
    else:  # the same name again, other ids: kept beside it
        other = write_list(tmp_path, "list.csv", "id\n008\n", "mail2")
        again, _ = place_delete_list(tmp_path, spec, acme(spec), other)
        assert again.name.startswith(Path(placed).stem + "-") and where.read_bytes() == b"id\n007\n"


# -- end to end: a released version holding a listed partner row is withdrawn --------------------

ROWS = 4000
MONTHS = 2
SIGNED = """\
dataset: ticket_triage
source: acme
decision: approve
reasons: [adds tickets of a market we do not serve]
approver: Ana Steward
date: 2026-01-05
"""


def partner_export(root: Path) -> None:
    """The partner's tickets in its own id column, numeric ids with leading zeros."""
    tickets = generate(GeneratorConfig(rows=300, seed=12, as_of=AS_OF, months=MONTHS)).tickets
    tickets["ticket_id"] = "0" + tickets["ticket_id"].str.slice(1)
    folder = root / "data" / "partners" / "acme" / "exports"
    folder.mkdir(parents=True)
    tickets.rename(columns={"ticket_id": THEIR_ID}).to_csv(folder / "acme.csv", index=False)
    record = root / "decisions" / "ticket_triage" / "acme.yaml"
    record.parent.mkdir(parents=True)
    record.write_text(SIGNED)


def run(root: Path, spec: DatasetSpec):
    return materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())


def release_rows(version: Path) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(version / f"{s}.parquet") for s in ("train", "validation", "test"))


def test_a_listed_partner_row_leaves_storage_now_and_versions_holding_it_are_withdrawn(tmp_path):
    spec = partner_spec(id_prefix="acme:")
    root = make_workspace(tmp_path / "workspace", spec)
    land(root, rows=ROWS, months=MONTHS)
    partner_export(root)
    assert run(root, spec).success
    v1 = root / "datasets" / "ticket_triage" / "v1"
    rows = release_rows(v1)
    kept = rows.loc[rows[SOURCE_COLUMN] == "acme", "ticket_id"].head(2).tolist()  # with acme's id_prefix
    theirs = [i.removeprefix("acme:") for i in kept]  # as the partner writes them
    ours = rows.loc[rows[SOURCE_COLUMN] == "tickets", "ticket_id"].iloc[0]  # another source's record
    assert len(theirs) == 2 and all(i.startswith("acme:0") for i in kept)
    v1_objects = {md5(v1 / f"{s}.parquet") for s in ("train", "validation", "test")}
    body = "".join(f" {i} ;gdpr\r\n" for i in [*theirs, ours])
    sent = write_list(tmp_path, "acme-2026-11.csv", f"\ufeffTicket ID;reason\r\n{body}", "mail")

    forgot = forget(root, "--source", "acme", "--ids", str(sent))
    assert forgot.exit_code == 0, forgot.output
    assert not any(i in forgot.output for i in [*theirs, ours])
    raw_acme = pd.concat(pd.read_parquet(p) for p in (root / "data/warehouse/ticket_triage/raw_acme").glob("*.parquet"))
    raw_tickets = pd.concat(
        pd.read_parquet(p) for p in (root / "data/warehouse/ticket_triage/raw_tickets").glob("*.parquet")
    )
    assert not set(kept) & set(raw_acme["ticket_id"]) and ours in set(raw_tickets["ticket_id"])

    summary = run(root, spec)
    assert summary.success, summary.failure
    assert summary.release_metadata["version"] == 2
    v2_rows = release_rows(root / "datasets" / "ticket_triage" / "v2")
    acme_rows = v2_rows.loc[v2_rows[SOURCE_COLUMN] == "acme", "ticket_id"]
    assert not set(kept) & set(acme_rows) and len(acme_rows) and ours in set(v2_rows["ticket_id"])

    entry = read_registry(root, "ticket_triage")["withdrawn"]["1"]
    assert entry["reason"] == "partner_deletion_request" and entry["replaced_by"] == 2
    assert entry["requests"] == [f"acme:{LISTS}/acme-2026-11.csv"]
    tombstone = (v1 / "WITHDRAWN.md").read_text()
    assert "records a partner asked to delete" in tombstone and not list(v1.glob("*.parquet"))
    v2_objects = {md5(p) for p in (root / "datasets" / "ticket_triage" / "v2").glob("*.parquet")}
    assert all(stored(root, d) == (False, False) for d in v1_objects - v2_objects)
    committed = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout
    assert str(PARTNER_DELETIONS_LOG) in committed and "registry/ticket_triage.json" in committed
    assert LISTS not in committed  # the lists hold the partner's ids: never committed
    (logged,) = [json.loads(line) for line in (root / PARTNER_DELETIONS_LOG).read_text().splitlines()]
    assert logged["ids"] == 3 and logged["rows_deleted"]["raw_acme"] == 2 and logged["rows_deleted"]["redacted"] == 2
    assert not any(f'"{i}"' in json.dumps(logged) for i in [*theirs, ours])
