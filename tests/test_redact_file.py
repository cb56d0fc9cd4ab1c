"""`trainset redact` on CSV, JSONL and Parquet exports."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.lib.generate import GeneratorConfig, generate
from pipelines.lib.redact_file import RedactFileError, redact_file
from pipelines.lib.residue import residue_counts

WRITERS = {
    "csv": lambda f, p: f.to_csv(p, index=False),
    "jsonl": lambda f, p: f.to_json(p, orient="records", lines=True, force_ascii=False),
    "parquet": lambda f, p: f.to_parquet(p),
}
READERS = {"csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_format_is_redacted_in_the_chosen_fields_only(tmp_path, kind):
    tickets = generate(GeneratorConfig(rows=800, seed=4)).tickets
    source, target = tmp_path / f"in.{kind}", tmp_path / f"out.{kind}"
    WRITERS[kind](tickets, source)
    result = CliRunner().invoke(
        cli, ["redact", "--in", str(source), "--out", str(target), "--field", "body", "--field", "customer_email"]
    )
    assert result.exit_code == 0, result.output
    assert "email" in result.output and "@" not in result.output
    out = READERS[kind](target)
    assert len(out) == len(tickets) and list(out.columns) == list(tickets.columns)
    assert not any(residue_counts(out.astype({"body": "str"}), ["body"]).values())
    assert (out["customer_email"] == "<EMAIL>").all()
    assert out["subject"].astype("str").tolist() == tickets["subject"].tolist()  # not asked for: untouched


def test_refuses_to_overwrite_and_names_unknown_fields(tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"body": ["mail a@b.example.com"]}).to_csv(source, index=False)
    with pytest.raises(RedactFileError, match="another file"):
        redact_file(source, source, ["body"], ["email"])
    with pytest.raises(RedactFileError, match=r"no field\(s\) \['text'\]"):
        redact_file(source, tmp_path / "out.csv", ["text"], ["email"])
    with pytest.raises(RedactFileError, match="unknown format"):
        redact_file(source, tmp_path / "out.xlsx", ["body"], ["email"])
    assert redact_file(source, tmp_path / "out.csv", ["body"], ["email"]) == {"email": 1}
    with pytest.raises(RedactFileError, match="exists"):
        redact_file(source, tmp_path / "out.csv", ["body"], ["email"])
