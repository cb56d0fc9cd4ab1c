"""A dataset whose export shares nothing with the demo's: other column names, no user column, no
channel, no language column. Declared by YAML alone (`tests/fixtures/other_names/`), its text
written by Faker in three locales, it runs end to end through `trainset run` and its card says
what could not apply."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import FIXTURES, PROJECT, TEST_KEY
from faker import Faker

from pipelines.lib.labeling.steps import PROVENANCE
from pipelines.lib.spec import DETECTED_LANGUAGE

TRAINSET = str(Path(sys.executable).parent / "trainset")
AS_OF = date(2026, 10, 31)
LOCALES = OrderedDict([("de_DE", 0.5), ("fr_FR", 0.25), ("en_US", 0.25)])
PRODUCTS = ["Laptop", "Router", "Suite", None]
QUEUES = ["Hardware", "Software", "Network"]
#: fields no role names: minimisation drops them before storage
DROPPED = ["requester_email", "agent"]


def write_cases(folder: Path, days: int = 30, per_day: int = 10, seed: int = 7) -> dict[str, list[str]]:
    """One JSONL export per day of help-desk cases; returns the PII values planted in their text
    by kind (emails, phones and IBANs as Faker writes them in each locale)."""
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for number, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + number)
    picker = Faker()
    picker.seed_instance(seed)
    planted: dict[str, list[str]] = {"email": [], "phone": [], "iban": []}
    folder.mkdir(parents=True, exist_ok=True)
    case = 0
    for offset in range(days):
        day = AS_OF - timedelta(days=days - 1 - offset)
        lines = []
        for _ in range(per_day):
            case += 1
            locale = picker.random_element(elements=LOCALES)
            fake = fakers[locale]
            details = fake.paragraph(nb_sentences=4)
            if case % 3 == 0:
                kind = ("email", "phone", "iban")[case // 3 % 3]
                value = {"email": fake.email, "phone": fake.phone_number, "iban": fake.iban}[kind]()
                planted[kind].append(value)
                details = f"{details} {value}. {fake.sentence(nb_words=6)}"
            lines.append(
                {
                    "case_number": f"{case:07d}",  # leading zeros: kept as written
                    "opened": f"{day.isoformat()}T{8 + case % 9:02d}:15:00Z",
                    "title": fake.sentence(nb_words=8),
                    "description": details,
                    "product": PRODUCTS[case % len(PRODUCTS)],
                    "queue": QUEUES[case % len(QUEUES)],
                    "requester_email": fake.email(),
                    "agent": fake.name(),
                }
            )
        (folder / f"{day.isoformat()}.jsonl").write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
        )
    return planted


def workspace_with_cases(root: Path, timestamp: bool = True) -> tuple[Path, dict[str, list[str]]]:
    """A git workspace declaring only case_routing (its timestamp declared absent unless
    `timestamp`), with 30 days of cases landed."""
    defs = root / "pipelines" / "defs" / "case_routing"
    defs.mkdir(parents=True)
    document = yaml.safe_load((FIXTURES / "other_names" / "defs.yaml").read_text())
    if not timestamp:
        attributes = document["attributes"]
        attributes["columns"]["timestamp"] = None
        del attributes["freshness"], attributes["gates"]["min_recent_share"]
    (defs / "defs.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    (root / "expectations").mkdir()
    suite = json.loads((FIXTURES / "other_names" / "case_routing.json").read_text())
    if not timestamp:
        suite["expectations"] = [e for e in suite["expectations"] if e["kwargs"].get("column") != "opened"]
    (root / "expectations" / "case_routing.json").write_text(json.dumps(suite, indent=2))
    (root / ".gitignore").write_text("data/\n.dagster_home/\n")
    planted = write_cases(root / "data" / "landing" / "cases")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "workspace"]):
        subprocess.run(["git", *command], cwd=root, check=True)
    return root, planted


def trainset(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TRAINSET, *args, "--workspace", str(root)], cwd=root, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
        for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            env.setenv(var, "test@localhost" if var.endswith("EMAIL") else "test")
        root, planted = workspace_with_cases(tmp_path_factory.mktemp("other") / "workspace")
        yield root, planted, trainset(root, "run", "case_routing", "--as-of", AS_OF.isoformat())


def test_the_fixture_names_nothing_of_the_demo():
    declared = (FIXTURES / "other_names" / "defs.yaml").read_text().split("attributes:", 1)[1]
    for name in ("ticket_id", "user_id", "created_at", "category", "subject", "body", "channel", "language:"):
        assert not re.search(rf"\b{re.escape(name)}", declared), name


def test_a_dataset_with_other_columns_no_user_and_no_channel_releases(released):
    root, _, result = released
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "released v1" in result.stdout
    # The run summary says what could not apply.
    assert "not applied: consent: no user column" in result.stdout
    assert "not applied: erasure: no user column" in result.stdout
    assert "not applied: language: no language column" in result.stdout


def test_the_audit_log_lists_the_run_the_release_and_a_pull_and_the_release_commit_carries_it(released, tmp_path):
    root, planted, _ = released
    pulled = trainset(root, "pull", "case_routing@v1", "-o", str(tmp_path / "v1"))
    assert pulled.returncode == 0, pulled.stderr
    shown = trainset(root, "audit", "show", "--dataset", "case_routing")
    assert shown.returncode == 0, shown.stderr
    events = [line.split()[2] for line in shown.stdout.splitlines()]  # `#N at event dataset@vN ... by who`
    assert events[-3:] == ["release", "run", "pull"], shown.stdout  # the run's entry is written once it ends
    release, run, pull = shown.stdout.splitlines()[-3:]
    assert "release case_routing@v1 " in release and "run case_routing@v1 " in run and "outcome=released" in run
    assert "pull case_routing@v1 files=4" in pull
    of_v1 = trainset(root, "audit", "show", "--dataset", "case_routing", "--version", "1").stdout.splitlines()
    assert [line.split()[2] for line in of_v1] == ["release", "run", "pull"]
    listed = trainset(root, "versions", "case_routing").stdout
    assert "pulled through trainset 1 time(s), last " in listed and " by " in listed
    verified = trainset(root, "audit", "verify")
    assert verified.returncode == 0 and "the chain holds" in verified.stdout, verified.stderr
    # The release commit carries the log up to and with the release's entry; what came after waits, ignored by git.
    committed = subprocess.run(
        ["git", "show", "case_routing@v1:audit/log.jsonl"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert json.loads(committed[-1])["event"]["type"] == "release"
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout == ""
    # The manifest and card answer who released it and under what; the change log sits beside the versions.
    version = root / "datasets" / "case_routing" / "v1"
    record = json.loads((version / "manifest.json").read_text())["release_record"]
    assert record["released_by"]["os_user"] and record["erasure_requests"] == 0 and record["waivers"] == []
    assert "## Release record" in (version / "DATASET_CARD.md").read_text()
    changelog = (root / "datasets" / "case_routing" / "CHANGELOG.md").read_text()
    assert "## v1 — " in changelog and "(first version)" in changelog
    text = (root / "audit" / "log.jsonl").read_text() + (root / "audit" / "pending.jsonl").read_text()
    assert not any(value in text for values in planted.values() for value in values)


def test_audit_verify_names_an_edited_and_a_removed_entry_of_a_real_log(released, tmp_path):
    root, _, _ = released
    for case in ("edited", "removed"):
        copy = tmp_path / case
        shutil.copytree(root / "audit", copy / "audit")
        log = copy / "audit" / "log.jsonl"
        release = log.read_text()
        assert json.loads(release)["event"]["type"] == "release"  # the entry the release commit carries
        log.write_text(release.replace('"rows": ', '"rows": 1') if case == "edited" else "")
        result = trainset(copy, "audit", "verify")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "is broken: 1 problem(s)" in result.stderr and "restore audit/log.jsonl" in result.stderr
        if case == "edited":
            assert "audit/log.jsonl:1: entry #1 (release case_routing@v1 at " in result.stderr
            assert "was edited after it was written" in result.stderr
        else:
            assert "audit/pending.jsonl:1: entry #2 (run case_routing@v1 at " in result.stderr
            assert "follows the start of the log: entry #1 removed" in result.stderr


def test_the_release_keeps_its_own_columns_and_the_detected_language(released):
    root, _, _ = released
    version = root / "datasets" / "case_routing" / "v1"
    frame = pd.concat(pd.read_parquet(version / f"{s}.parquet") for s in ("train", "validation", "test"))
    kept = [
        "case_number",
        "source_name",
        "opened",
        "product",
        "title",
        "description",
        "queue",
        *PROVENANCE,
        DETECTED_LANGUAGE,
    ]
    assert list(frame.columns) == kept
    assert not set(DROPPED) & set(frame.columns)
    assert frame["case_number"].str.fullmatch(r"\d{7}").all()  # text as written, leading zeros kept
    # Faker wrote German, French and English; the detector found them without a language column.
    shares = frame["detected_language"].value_counts(normalize=True)
    assert shares.get("de", 0) > 0.35 and shares.get("fr", 0) > 0.15 and shares.get("en", 0) > 0.15


def test_no_planted_pii_reaches_the_release(released):
    root, planted, _ = released
    version = root / "datasets" / "case_routing" / "v1"
    frame = pd.concat(pd.read_parquet(version / f"{s}.parquet") for s in ("train", "validation", "test"))
    text = "\n".join(frame["title"]) + "\n" + "\n".join(frame["description"])
    leaked = [kind for kind, values in planted.items() for value in values if value in text]
    assert not leaked, f"{len(leaked)} planted values of kinds {sorted(set(leaked))} reached the release"
    assert "<EMAIL>" in text and "<IBAN>" in text


def test_segment_gates_take_their_column_by_name_and_the_card_says_what_could_not_apply(released):
    root, _, _ = released
    version = root / "datasets" / "case_routing" / "v1"
    manifest = json.loads((version / "manifest.json").read_text())
    gates = {g["name"]: g for g in manifest["gates"]}
    assert gates["required_values"]["passed"], gates["required_values"]
    assert "product values Laptop, Router, Suite are all present" in gates["required_values"]["explanation"]
    assert "other than 'de'" in gates["min_share_outside_language"]["explanation"]
    assert {limit["rule"] for limit in manifest["limits"]} == {"consent", "erasure", "pseudonymisation", "language"}
    assert {c["segments"]["product"] for c in manifest["counts"]} == {"Laptop", "Router", "Suite", "(missing)"}
    card = (version / "DATASET_CARD.md").read_text()
    section = card.split("## What could not apply", 1)[1].split("##", 1)[0]
    assert "**consent**: no user column" in section and "**erasure**: no user column" in section
    assert "| product | examples |" in card and "| detected_language | examples |" in card
    policies = {p["name"]: p["summary"] for p in manifest["policies"]}
    assert policies["consent"].startswith("not applied: no user column")


def test_forget_names_the_dataset_it_cannot_search(released):
    root, _, _ = released
    result = trainset(root, "forget", "0000042")
    assert result.returncode == 0, result.stderr
    assert "case_routing: declares no user column" in result.stdout
    assert "nothing recorded: no declared dataset has a user column" in result.stdout
    assert not (root / "privacy" / "erasure_log.jsonl").exists()


def test_a_rule_over_a_column_declared_absent_is_refused_when_the_spec_loads(tmp_path):
    root, _ = workspace_with_cases(tmp_path / "workspace")
    path = root / "pipelines" / "defs" / "case_routing" / "defs.yaml"
    document = yaml.safe_load(path.read_text())
    attributes = document["attributes"]
    attributes["privacy"]["consent"] = {"path": "data/landing/opt_outs.csv"}
    attributes["gates"]["max_language_mismatch"] = {"max": 0.05}
    attributes["gates"]["required_values"]["column"] = "channel"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = trainset(root, "run", "case_routing")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "privacy.consent needs columns.user, which is declared absent (null)" in result.stderr
    assert "gates.max_language_mismatch needs a declared columns.language" in result.stderr
    assert "gates.required_values.column: 'channel' is not a segment column" in result.stderr


#: Vocabularies, not columns read by name: `trainset init` guesses roles from the words columns are
#: commonly named by (`category` suggests a label), names the spec's role keys (`language`) and drafts
#: the seed's reference language; the language detector lists the languages it always considers.
VOCABULARY = {
    # Label Studio's own export fields (`created_at`, `updated_at`), not a column of the demo
    "pipelines/lib/labeling/label_studio_export.py",
    "pipelines/lib/ingest/language.py",
    "pipelines/lib/ingest/roles.py",
    # role names (the language role), as the partner assessment's schema fit names each role
    "pipelines/lib/partners/assessment_privacy.py",
    "pipelines/lib/ingest/profile.py",
    "pipelines/lib/drafting/bars.py",
    "pipelines/lib/drafting/spec_text.py",
}
#: The feedback event table's own columns, fixed by the seed's example 5 (`triage_feedback(event_id,
#: ticket_id, ...)`): the schema trainset creates and reads, not a column of the demo's tickets.
VOCABULARY |= {
    "pipelines/cli/feedback_db.py",
    "pipelines/lib/feedback/declaration.py",
    "pipelines/lib/feedback/events.py",
    "pipelines/lib/feedback/ingest.py",
    "pipelines/lib/feedback/labels.py",
    "pipelines/lib/feedback/store.py",
    "pipelines/lib/feedback/migrations/versions/r0001_events_and_models.py",
}


def test_demo_names_appear_only_in_the_demo_yaml_and_the_generator():
    """No column name or value of the demo outside its YAML, suite and generator: roles map to
    any names. String literals only: the words may be used in prose."""
    names = "language|channel|ticket_id|user_id|category|subject|body|created_at|en"
    # (`lang="en"` of an HTML page is the page's own language, not a value of the data.)
    literal = re.compile(rf"""(?<![\w.=])["'](?:{names})["']""")
    identifier = re.compile(r"\b(?:ticket_id|user_id)\b")
    found = []
    for path in sorted((PROJECT / "pipelines").rglob("*.py")) + sorted((PROJECT / "pipelines").rglob("*.j2")):
        relative = path.relative_to(PROJECT).as_posix()
        if relative.startswith(("pipelines/synthetic/", "pipelines/defs/")) or relative in VOCABULARY:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if literal.search(line) or identifier.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


if shutil.which("git") is None:  # pragma: no cover - git is part of the workspace
    pytest.skip("git is needed", allow_module_level=True)


def test_when_retention_or_freshness_leaves_no_rows_the_run_says_so_with_the_dates(released):
    root, _, _ = released
    late = trainset(root, "run", "case_routing", "--as-of", "2028-01-15")
    assert late.returncode == 2 and "Traceback" not in late.stderr
    assert "every landed day (2026-10-02..2026-10-31) is before 2027-01-16, the oldest day retention" in late.stderr
    stale = trainset(root, "run", "case_routing", "--as-of", "2027-06-01")
    assert stale.returncode == 1 and "Traceback" not in stale.stderr + stale.stdout
    assert (
        "all 300 labelled rows are before 2026-12-02, where the freshness window (P6M as of 2027-06-01) starts: "
        "pass --as-of, or widen freshness.window"
    ) in stale.stderr


def test_exports_in_another_format_and_a_mistyped_column_are_named(tmp_path):
    root, _ = workspace_with_cases(tmp_path / "workspace")
    folder = root / "data" / "landing" / "cases"
    for path in folder.glob("*.jsonl"):
        path.rename(path.with_suffix(".json"))
    result = trainset(root, "run", "case_routing")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no jsonl export at data/landing/cases" in result.stderr
    assert "found 30 other file(s) (2026-10-02.json," in result.stderr
    for path in folder.glob("*.json"):  # any name will do: records are placed by their timestamp
        path.rename(folder / f"export-{path.stem}.jsonl")
    spec = root / "pipelines" / "defs" / "case_routing" / "defs.yaml"
    spec.write_text(spec.read_text().replace("id: case_number", "id: Case_Number"))
    result = trainset(root, "run", "case_routing", "--as-of", AS_OF.isoformat())
    assert "missing column(s) ['Case_Number']" in result.stderr + result.stdout
    assert "Did you mean 'case_number' for 'Case_Number'?" in result.stderr + result.stdout


def test_without_a_timestamp_retention_counts_from_landing_a_freshness_block_is_refused_and_placeholders_are_said(
    tmp_path,
):
    """A workspace without a timestamp column: a freshness block is refused when the spec loads;
    without it the run releases with freshness not applied, retention counted from the day each
    export landed, and the placeholder left in the spec said (one release for all: runs are slow)."""
    root, _ = workspace_with_cases(tmp_path / "workspace", timestamp=False)
    spec = root / "pipelines" / "defs" / "case_routing" / "defs.yaml"
    document = yaml.safe_load(spec.read_text())
    document["attributes"]["freshness"] = {"window": "P6M"}
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    result = trainset(root, "run", "case_routing", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2
    assert "attributes.freshness needs columns.timestamp, which is declared absent (null)" in result.stderr
    del document["attributes"]["freshness"]
    document["attributes"]["sources"][0]["legal_basis"] = "TODO-legal-basis"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    result = trainset(root, "run", "case_routing", "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not applied: freshness: no timestamp column" in result.stdout
    assert "to fill in (still TODO in defs.yaml): sources[0].legal_basis" in result.stdout
    version = root / "datasets" / "case_routing" / "v1"
    card = (version / "DATASET_CARD.md").read_text()
    assert "**retention**: no timestamp column: counted from the day each export landed" in card
    assert "- `sources[0].legal_basis` is still a placeholder" in card.split("## Known gaps", 1)[1]
    frame = pd.read_parquet(version / "train.parquet")
    assert "opened" not in frame.columns
