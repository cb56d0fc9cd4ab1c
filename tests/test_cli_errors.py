"""Every verb of `trainset`, run as a user runs it, on broken inputs: each error exits with its code
(2 usage, 1 bad data), names its cause and where it is, and shows no traceback, no exception class
and no pydantic boilerplate. Most inputs fail before a Dagster run starts; two runs in all."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import AS_OF, declare, land, make_workspace, small_spec
from pydantic import BaseModel, ValidationError

from pipelines.lib.errors import describe_validation_text
from pipelines.lib.files import TableError
from pipelines.lib.privacy.policies import load_opt_outs
from pipelines.lib.spec import GatesSpec

TRAINSET = str(Path(sys.executable).parent / "trainset")
CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]+(Error|Exception|Invalid)\b:")
PYDANTIC = re.compile(r"errors\.pydantic\.dev|\d+ validation errors? for |\[type=|input_value=")
#: a record a CSV without its header line starts with: none of it may be echoed
RECORD = ("T001", "Marc Dubois", "marc.dubois@example.com", "my card was charged twice")


def trainset(*args: object, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TRAINSET, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env)


def assert_error(result: subprocess.CompletedProcess, code: int, *causes: str) -> str:
    """The run exited `code`, says each of `causes`, and reads as our message, not Python's."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    assert not CLASS_NAME.search(output), output
    assert not PYDANTIC.search(output), output
    for cause in causes:
        assert cause in output, output
    return output


def without_key() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRAINSET_PSEUDONYM_KEY")}


@pytest.fixture
def declared(tmp_path) -> Path:
    """A folder declaring small ticket_triage, no git, no data: enough for every verb to start."""
    declare(tmp_path, small_spec())
    return tmp_path


def edit_spec(root: Path, change) -> Path:
    path = root / "pipelines" / "defs" / "ticket_triage" / "defs.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["attributes"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


# -- specs: every verb that reads them says the file, the key and the problem (exit 2) -----------


def _typo(a):
    a["ownr"] = a.pop("owner")


def _wrong_type(a):
    a["languages"] = 7


def _out_of_range(a):
    a["gates"]["min_label_agreement"]["min"] = 1.7


def _unknown_gate(a):
    a["gates"]["min_examples_per_klass"] = a["gates"].pop("min_examples_per_class")


SPEC_ERRORS = {
    "typo": (_typo, ["attributes.owner: Field required", "attributes.ownr: Extra inputs are not permitted"]),
    "wrong_type": (_wrong_type, ["attributes.languages: Input should be a valid list"]),
    "out_of_range": (_out_of_range, ["attributes.gates.min_label_agreement.min: Input should be less than or equal"]),
    "unknown_gate": (_unknown_gate, ["attributes.gates.min_examples_per_klass: not a gate (did you mean"]),
}
# Each verb that reads the specs meets one kind of mistake (all kinds are met): they share the one
# loader, and a subprocess costs seconds here.
VERBS_READING_SPECS = {
    "run": (["run"], "typo"),
    "gates": (["gates"], "wrong_type"),
    "versions": (["versions"], "out_of_range"),
    "dvc-stages": (["dvc-stages"], "unknown_gate"),
    "forget": (["forget", "u1"], "out_of_range"),
    "redact": (["redact", "--in", "in.csv", "--out", "out.csv"], "typo"),
}


@pytest.mark.parametrize("name", sorted(VERBS_READING_SPECS))
def test_an_invalid_spec_names_the_file_the_key_and_the_problem(declared, name):
    verb, kind = VERBS_READING_SPECS[name]
    change, causes = SPEC_ERRORS[kind]
    path = edit_spec(declared, change)
    result = trainset(*verb, "--workspace", declared, cwd=declared)
    assert_error(result, 2, f"error: {path}: ", *causes)


def test_a_spec_that_is_not_yaml_names_the_line(declared):
    path = declared / "pipelines" / "defs" / "ticket_triage" / "defs.yaml"
    path.write_text(path.read_text() + "  : - [\n")
    output = assert_error(trainset("versions", "--workspace", declared, cwd=declared), 2, f"{path}, line ")
    assert "not valid YAML" in output and "<unicode string>" not in output and len(output.splitlines()) == 1


def test_an_unknown_dataset_lists_the_declared_ones(declared):
    args = ["--dataset", "nope", "--in", "a.csv", "--out", "b.csv", "--workspace", declared]
    result = trainset("redact", *args, cwd=declared)
    assert_error(result, 2, "no dataset named 'nope'", "declared: ['ticket_triage']")


def test_an_owner_group_that_does_not_exist_is_named_before_a_record_is_stored(declared):
    edit_spec(declared, lambda a: a["privacy"].update(group="no_such_group_here"))
    land(declared, rows=200, months=1)
    result = trainset("run", "--workspace", declared, "--as-of", AS_OF, cwd=declared)
    assert_error(result, 2, "group 'no_such_group_here' does not exist on this machine", "change `privacy.group`")
    assert not list((declared / "data" / "warehouse").rglob("*.parquet"))


# -- environment and workspace --------------------------------------------------------------------


def test_a_missing_key_is_named_before_anything_runs_or_is_recorded(declared):
    ran = trainset("run", "--workspace", declared, cwd=declared, env=without_key())
    assert_error(ran, 2, "TRAINSET_PSEUDONYM_KEY", "trainset keygen")
    forgot = trainset("forget", "u1", "--workspace", declared, cwd=declared, env=without_key())
    assert_error(forgot, 2, "TRAINSET_PSEUDONYM_KEY")
    assert not (declared / "privacy").exists()  # no erasure request recorded without its pseudonyms


def test_forget_with_no_dataset_declared_records_nothing(tmp_path):
    result = trainset("forget", "u1", "--workspace", tmp_path, cwd=tmp_path)
    assert_error(result, 2, f"no dataset is declared in {tmp_path / 'pipelines' / 'defs'}", "--workspace")
    assert not (tmp_path / "privacy").exists()


def test_keygen_and_generate_say_which_path_they_cannot_write(tmp_path):
    (tmp_path / "a-file").write_text("")
    key = trainset("keygen", "--path", tmp_path / "a-file" / "key", cwd=tmp_path)
    assert_error(key, 2, f"cannot write the key to {tmp_path / 'a-file' / 'key'}", "choose another path")
    out = trainset("generate", "--rows", "10", "--out", tmp_path / "a-file" / "landing", cwd=tmp_path)
    assert_error(out, 2, "cannot write the landing zone", "choose another folder")


# -- gates, versions and pull before any release --------------------------------------------------


def test_gates_before_any_run_and_with_bad_options(declared):
    w = ["--workspace", declared]
    assert_error(trainset("gates", *w, cwd=declared), 2, "no gate results for ticket_triage", "trainset run")
    assert_error(trainset("gates", "--compare", "x", "y", *w, cwd=declared), 2, "e.g. --compare v1 v2")
    result = trainset("gates", "--compare", "v1", "v2", *w, cwd=declared)
    assert_error(result, 2, "ticket_triage has no version v1 or v2", "released: none yet")


# -- init and redact on files that are not what they claim ----------------------------------------

HEADERLESS = ",".join(RECORD).encode() + b"\n"
BROKEN_EXPORTS = {
    "garbage.csv": bytes(range(128, 256)) * 8,
    "garbage.parquet": bytes(range(256)) * 4,
    "empty.csv": b"",
    "empty.jsonl": b"",
    "array.jsonl": b'[{"body": "marc.dubois@example.com"}]\n',
    "headerless.csv": HEADERLESS,
}
# exit code, and what the message says, per verb and file
INIT_SAYS = {
    "garbage.csv": (1, "cannot be read as csv: the header line is not UTF-8"),
    "garbage.parquet": (1, "cannot be read as parquet: Parquet magic bytes not found"),
    "empty.csv": (1, "empty"),
    "empty.jsonl": (1, "empty (0 bytes)"),
    "array.jsonl": (1, "no record could be read (1 malformed_record; the first on line 1)"),
    "headerless.csv": (1, "no column guessed for"),
}
REDACT_SAYS = {
    "garbage.csv": (1, "line 1: not UTF-8"),
    "garbage.parquet": (1, "cannot be read as Parquet"),
    "empty.csv": (1, "empty; a CSV export starts with a header line"),
    "empty.jsonl": (0, "redacted"),  # nothing to redact is not an error
    "array.jsonl": (1, "line 1: a JSON list, not an object"),
    "headerless.csv": (2, "4 values that do not all look like column names (is the header line missing?)"),
}


@pytest.mark.parametrize("name", ["garbage.parquet", "empty.jsonl", "array.jsonl", "headerless.csv"])
def test_init_on_a_broken_export(tmp_path, name):
    export = tmp_path / name
    export.write_bytes(BROKEN_EXPORTS[name])
    code, says = INIT_SAYS[name]
    output = assert_error(trainset("init", "drafted", "--from", export, "--workspace", tmp_path, cwd=tmp_path), code)
    assert str(export) in output and says in output
    assert not any(value in output for value in RECORD)


@pytest.mark.parametrize("name", ["garbage.csv", "garbage.parquet", "array.jsonl", "headerless.csv"])
def test_redact_on_a_broken_export_never_prints_its_records(declared, name):
    export = declared / name
    export.write_bytes(BROKEN_EXPORTS[name])
    target = declared / f"out{export.suffix}"
    code, says = REDACT_SAYS[name]
    output = trainset("redact", "--in", export, "--out", target, "--workspace", declared, cwd=declared)
    output = assert_error(output, code, says) if code else output.stdout
    assert str(export) in output
    assert not any(value in output for value in RECORD)


def test_init_and_redact_on_a_missing_file_or_format(declared):
    missing = declared / "missing.csv"
    init = trainset("init", "drafted", "--from", missing, "--workspace", declared, cwd=declared)
    assert_error(init, 2, f"{missing}: no such file")
    redact = trainset("redact", "--in", missing, "--out", declared / "o.csv", "--workspace", declared, cwd=declared)
    assert_error(redact, 2, f"{missing}: no such file")


def test_redact_names_the_line_of_an_unclosed_quote_not_its_text(declared):
    export = declared / "in.csv"
    export.write_bytes(b'id,body\n1,ok\n2,"' + ",".join(RECORD).encode() + b"\n")
    args = ["--in", export, "--out", declared / "o.csv", "--field", "body", "--workspace", declared]
    result = trainset("redact", *args, cwd=declared)
    output = assert_error(result, 1, f"{export}, line 3", "never closed")
    assert not any(value in output for value in RECORD)


# -- runs: what fails inside a step reaches the summary as our message ----------------------------


def _one_day(root: Path) -> subprocess.CompletedProcess:
    day = AS_OF.isoformat()
    return trainset("run", "--from", day, "--to", day, "--as-of", day, "--workspace", root, cwd=root)


def test_a_spec_naming_a_column_the_export_lacks_fails_the_run_naming_it(tmp_path):
    spec = small_spec()
    spec = spec.model_copy(update={"columns": spec.columns.model_copy(update={"text": ["subject", "body", "summary"]})})
    root = make_workspace(tmp_path / "workspace", spec)
    land(root, rows=300, months=1)
    # Refused while landing, before any run: nothing of the export lands.
    assert_error(_one_day(root), 1, "source 'tickets', file data/landing/tickets/", "missing column(s) ['summary']")
    assert not list((root / "data" / "warehouse").glob("*/landed_tickets/*.parquet"))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"user_id,opted_out_at\ncaf\xe9,2026-01-01\n", "line 2: not UTF-8 (byte 0xe9); convert it to UTF-8"),
        (b"", "empty; a CSV table starts with a header line"),
        (b'user_id,opted_out_at\n"u1,2026\n', "cannot be read as CSV"),
        (None, "no such file; land it there"),
    ],
)
def test_a_side_table_that_cannot_be_read_is_named_not_quoted(tmp_path, data, says):
    """The opt-out table and the annotations are read in a run's step; their errors are the
    message the run summary prints as `FAILED: ...` (the line above shows how it gets there)."""
    path = tmp_path / "opt_outs.csv"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(TableError) as error:
        load_opt_outs(path, "user_id")
    assert str(error.value).startswith(f"opt-out table {path}: {says}")
    assert "caf" not in str(error.value) and "u1" not in str(error.value)


def test_a_validation_error_that_crossed_a_step_reads_as_places_and_problems():
    """What the run summary does with a ValidationError raised inside a step (Dagster hands on
    only its text): the model, each place, each problem; not pydantic's footer or the input."""

    class Gate(BaseModel):
        name: str
        measured: float | int | str

    class GateRun(BaseModel):
        gates: list[Gate]

    with pytest.raises(ValidationError) as error:
        GateRun.model_validate({"gates": [{"name": "a", "measured": 1}, {"name": "marc@example.com"}]})
    text = describe_validation_text(str(error.value))
    assert text == "GateRun: gates[1].measured: Field required"
    with pytest.raises(ValidationError) as error:
        GateRun.model_validate({"gates": [{"name": "marc@example.com", "measured": None}]})
    assert describe_validation_text(str(error.value)) == "GateRun: gates[0].measured: expected one of float, int, str"


def test_a_released_version_that_was_tampered_with_fails_its_pull(tmp_path):
    """A workspace that is not a git repository still releases (untagged); a version changed after
    its release is refused by `pull` (exit 1), as is a damaged manifest."""
    spec = small_spec()
    gates = {name: dict(params, severity="warn") for name, params in spec.gates.model_dump().items() if params}
    root = tmp_path / "workspace"
    shutil.copytree(Path(__file__).resolve().parents[1] / "expectations", root / "expectations")
    declare(root, spec.model_copy(update={"gates": GatesSpec.model_validate(gates)}))
    land(root, rows=300, months=1)
    released = trainset("run", "--as-of", AS_OF.isoformat(), "--workspace", root, cwd=root)
    assert released.returncode == 0, released.stdout + released.stderr
    version = root / "datasets" / "ticket_triage" / "v1"
    w = ["--workspace", root]

    assert_error(trainset("pull", "ticket_triage@v2", "-o", tmp_path / "v2", *w, cwd=root), 2, "(versions: v1)")
    compared = trainset("gates", "--compare", "v1", "v2", *w, cwd=root)
    assert_error(compared, 2, "ticket_triage has no version v2", "released: v1")

    (version / "train.parquet").write_bytes(b"tampered")
    tampered = trainset("pull", "ticket_triage@v1", "-o", tmp_path / "v1", *w, cwd=root)
    assert_error(tampered, 1, "train.parquet has sha256", "manifest.json says")

    manifest = version / "manifest.json"
    kept = manifest.read_text()
    manifest.write_text(kept[:40])  # cut short
    try:
        damaged = trainset("pull", "ticket_triage@v1", "-o", tmp_path / "again", *w, cwd=root)
        assert_error(damaged, 1, "manifest.json: not a valid manifest ((the whole document): Invalid JSON")
        listed = trainset("versions", *w, cwd=root)
        assert_error(listed, 1, "not a valid manifest", "trainset pull")
    finally:
        manifest.write_text(kept)  # every release of the suite is checked against the schema after it
