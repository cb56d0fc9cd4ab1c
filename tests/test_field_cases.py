"""Field cases (`tests/fixtures/field_cases/redaction.jsonl`): inputs rebuilt from public bug
reports of PII tools and public ticket exports, every value made up. Each case must pass the field
rule (`pii_scoring.field_rule_failures`): every `remove` value gone whole, no fragment of 4 or
more word characters of it left, every `keep` look-alike verbatim. In memory per case (ticket_triage's
declared PII types, the engine's default regions), and through `trainset redact` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.lib.catalog import get_spec
from pipelines.synthetic.field_cases import load_field_cases
from pipelines.synthetic.pii_scoring import field_rule_failures
from pipelines.synthetic.redaction_targets import redact_texts

CASES = load_field_cases()
TRAINSET = str(Path(sys.executable).parent / "trainset")
PII_TYPES = get_spec("ticket_triage")[0].privacy.redact


def test_the_fixture_holds_every_case():
    assert len(CASES) == 60 and len({case.id for case in CASES}) == 60


@pytest.mark.parametrize("case", CASES, ids=[f"{case.id}-{case.kind}" for case in CASES])
def test_field_case(case):
    [output] = redact_texts([case.to_eval()], PII_TYPES)
    assert field_rule_failures(case.remove, case.keep, output) == [], output


def test_trainset_redact_passes_every_field_case(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [json.dumps({"id": case.id, "text": case.text}, ensure_ascii=False) for case in CASES]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    command = [TRAINSET, "redact", "--dataset", "ticket_triage", "--in", str(source), "--out", str(target)]
    run = subprocess.run([*command, "--field", "text"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    outputs = {}
    for line in target.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        outputs[str(row["id"])] = row["text"]
    why = {case.id: field_rule_failures(case.remove, case.keep, outputs.get(case.id, "")) for case in CASES}
    failing = {case_id: reasons for case_id, reasons in why.items() if reasons}
    assert failing == {}, f"{len(failing)} of {len(CASES)} field cases fail through `trainset redact`"
