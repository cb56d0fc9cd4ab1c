"""PII of every kind, written as nobody here writes it, planted in a generated landing zone: a
whole Dagster run releases a version that holds none of it, stores none of it past the landing
copies, and leaves the zones holding personal data owner-only under an umask of 022."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import AS_OF, land, make_workspace, small_spec

from pipelines.lib.release.vcs import default_remote
from pipelines.runner import materialize_dataset
from pipelines.synthetic.faker_pii import build_faker_set
from pipelines.synthetic.field_cases import load_field_cases


def planted_texts(regions: list[str]) -> tuple[list[str], list[str]]:
    """(texts to plant, the values none of the released files may hold): every field case, and a
    Faker sample of every kind whose phone numbers belong to the dataset's regions."""
    texts, values = [], []
    for case in load_field_cases():
        texts.append(case.text)
        values += [value for value, _ in case.remove]
    for text in build_faker_set(seed=5, per_kind=2):
        if text.region is None or text.region in regions:
            texts.append(text.text)
            values += [text.value(span) for span in text.gold if span.counted]
    return texts, values


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINSET_PSEUDONYM_KEY", "test-pseudonymisation-key")
        root = make_workspace(tmp_path_factory.mktemp("planted") / "workspace")
        folder = land(root, rows=4000, months=2)
        spec = small_spec()
        texts, values = planted_texts(spec.phone_regions)
        # The last days of the export (inside the freshness window): one planted text per ticket body.
        days = sorted(folder.glob("*.csv"))[-40:]
        planted = 0
        for path in days:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            take = min(len(frame), len(texts) - planted)
            frame.loc[: take - 1, "body"] = texts[planted : planted + take]
            frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
            planted += take
        assert planted == len(texts)
        umask = os.umask(0o022)  # what most shells set: files 0644 and folders 0755 unless trainset says otherwise
        try:
            summary = materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
        finally:
            os.umask(umask)
        yield root, summary, values


def test_the_release_holds_none_of_the_planted_values(released):
    root, summary, values = released
    assert summary.success, summary.failure
    files = sorted((root / "datasets" / "ticket_triage" / "v1").glob("*.parquet"))
    assert files
    released_text = "\n".join(
        "\n".join(pd.read_parquet(path, columns=["subject", "body"]).stack().astype(str)) for path in files
    )
    for placeholder in ("<EMAIL>", "<PHONE>", "<CREDIT_CARD>", "<IBAN>", "<IP_ADDRESS>", "<US_SSN>"):
        assert placeholder in released_text
    leaked = [value for value in values if value in released_text]
    assert leaked == [], f"{len(leaked)} planted values released"


def written_by_trainset(root: Path) -> list[Path]:
    """Every file of the workspace but git's objects and the exports the test wrote (`data/landing`)."""
    skipped = (root / ".git", root / "data" / "landing")
    return [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_relative_to(skipped[0]) and not p.is_relative_to(skipped[1])
    ]


def text_of(path: Path) -> str:
    """A file's text: every value of a parquet file (DVC's cache too, by its magic bytes), else its bytes."""
    data = path.read_bytes()
    if data[:4] == b"PAR1":
        table = pq.read_table(path)
        return "\n".join("\n".join(map(str, column.to_pylist())) for column in table.columns)
    return data.decode("utf-8", errors="replace")


def test_no_file_trainset_wrote_past_the_landing_copies_holds_a_planted_value(released):
    root, summary, values = released
    assert summary.success, summary.failure
    landed = root / "data" / "warehouse" / "ticket_triage" / "landed_tickets"
    files = written_by_trainset(root)
    copies = [p for p in files if p.is_relative_to(landed)]
    # The landing copies are the one place that holds the records as written (owner-only, below).
    assert sum(value in text for text in map(text_of, copies) for value in values[:20]) > 0
    stored = {path: text_of(path) for path in files if not path.is_relative_to(landed)}  # each file read once
    leaks = {
        str(path.relative_to(root)): n for path, text in stored.items() if (n := sum(value in text for value in values))
    }
    assert leaks == {}, "planted values stored past the landing copies (file: values found)"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o777


def test_every_file_of_a_run_is_closed_to_others_and_the_pii_zones_to_all_but_the_owner(released):
    root, _, _ = released
    warehouse = root / "data" / "warehouse" / "ticket_triage"
    pii = [warehouse / "landed_tickets", warehouse / "raw_tickets", warehouse / "quarantine"]
    for zone in pii:
        inside = list(zone.rglob("*"))
        assert inside and mode(zone) == 0o700, zone
        assert {
            str(p.relative_to(root)): oct(mode(p)) for p in inside if mode(p) != (0o700 if p.is_dir() else 0o600)
        } == {}
    assert mode(warehouse / "quarantine.parquet") == 0o600
    assert not list((root / "data" / "staging").glob("*"))  # staged owner-only, renamed into place
    # ticket_triage is confidential and declares no group: every other file of the run is its owner's alone.
    written = [*warehouse.rglob("*"), *(root / "datasets" / "ticket_triage").rglob("*")]
    assert mode(warehouse) == 0o700 and mode(root / "datasets" / "ticket_triage") == 0o700
    assert {str(p.relative_to(root)): oct(mode(p)) for p in written if mode(p) & 0o077} == {}
    # DVC's cache and the default local remote hold the released bytes too: no one else may enter them.
    remote = default_remote(root)
    assert remote.is_dir() and mode(remote) == 0o700 and mode(root / ".dvc" / "cache") == 0o700
