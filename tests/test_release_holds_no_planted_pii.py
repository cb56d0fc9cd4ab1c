"""PII of every kind, written as nobody here writes it, planted in a generated landing zone: a
whole Dagster run releases a version that holds none of it."""

from __future__ import annotations

import csv

import dagster as dg
import pandas as pd
import pytest
from conftest import AS_OF, land, make_workspace, small_spec

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
        summary = materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
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
