"""Shared fixtures: a real workspace (git + DVC repository whose remote is under a temporary
XDG_DATA_HOME) declaring ticket_triage with bars scaled to small data, and that data."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import settings
from sqlalchemy.pool import NullPool

from pipelines.lib.catalog import COMPONENT_TYPE, get_spec
from pipelines.lib.reports import MANIFEST_SCHEMA
from pipelines.lib.spec import DatasetSpec, GatesSpec
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

PROJECT = Path(__file__).resolve().parents[1]
#: the PostgreSQL server database sources are tested against (CI starts the machine's own)
POSTGRES_URL = os.environ.get("TRAINSET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Property tests: the `ci` profile (default) draws the same 150 examples every run, so a run fails
# only on a real regression; `HYPOTHESIS_PROFILE=explore make test` draws 3,000 new ones per
# property to hunt for bugs.
settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
AS_OF = date(2026, 10, 31)  # fixed, so tests do not depend on today's date
TEST_KEY = "test-pseudonymisation-key"
#: what the suite's function-scoped environment sets, for module-scoped workspaces run as subprocesses
ENVIRONMENT = {"TRAINSET_PSEUDONYM_KEY": TEST_KEY} | {
    f"GIT_{who}_{what}": value
    for who in ("AUTHOR", "COMMITTER")
    for what, value in (("NAME", "test"), ("EMAIL", "t@x"))
}

#: Files that run the pipeline, slowest first (`pytest --durations=0`, summed per file). `make test`
#: hands whole files to its two workers (`--dist loadfile`) in collection order, these first: the
#: workers then end within seconds of each other. xdist's default, the files with the most tests
#: first, hands these (a few slow tests each) out last, and one worker waited on the other's.
SLOWEST_FIRST = (
    "test_distributed.py",
    "test_crash_safety.py",
    "test_labeling_loop.py",
    "test_run_lock.py",
    "test_erasure.py",
    "test_partner_deletions.py",
    "test_sharing.py",
    "test_cli_errors.py",
    "test_init_to_release.py",
    "test_sql_end_to_end.py",
    "test_feedback_loop.py",
    "test_other_columns.py",
    "test_partner_sources.py",
    "test_pipeline_end_to_end.py",
    "test_properties.py",
    "test_init.py",
    "test_release_recovery.py",
    "test_waivers.py",
    "test_residue_review.py",
    "test_cli.py",
    "test_release_holds_no_planted_pii.py",
    "test_assets.py",
)


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep the order below
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The slowest files first; every file's tests keep their order (a stable sort by file)."""
    rank = {name: n for n, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FIRST)))


@pytest.fixture(scope="session", autouse=True)
def _data_home(tmp_path_factory):
    """Every default DVC remote a test creates ($XDG_DATA_HOME/trainset/dvc-remote/...) lands in tmp."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data-home")))
        yield


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    monkeypatch.setenv("TRAINSET_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("TRAINSET_PSEUDONYM_KEY_FILE", raising=False)
    for var, value in {
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@localhost",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@localhost",
    }.items():
        monkeypatch.setenv(var, value)


def declare(root: Path, spec: DatasetSpec) -> Path:
    """Write `spec` as the workspace's `pipelines/defs/<name>/defs.yaml`; returns the file."""
    path = root / "pipelines" / "defs" / spec.name / "defs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Column roles keep their nulls: a user or timestamp column is declared absent as null.
    attributes = spec.model_dump(mode="json", exclude_none=True) | {"columns": spec.columns.model_dump(mode="json")}
    document = {"type": COMPONENT_TYPE, "requirements": {"env": [spec.privacy.key_env]}, "attributes": attributes}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    guideline = spec.labeling.guideline if spec.labeling else None
    if guideline and (PROJECT / guideline).is_file() and not (root / guideline).exists():
        (root / guideline).parent.mkdir(parents=True, exist_ok=True)  # the project's, where the spec names it
        shutil.copyfile(PROJECT / guideline, root / guideline)
    return path


_checked_manifests: set[Path] = set()


@pytest.fixture(autouse=True)
def _every_release_matches_the_manifest_schema(tmp_path_factory):
    """After each test, every manifest.json a test of the suite has released so far is validated
    against the committed JSON Schema (schemas/manifest.schema.json)."""
    yield
    base = tmp_path_factory.getbasetemp()
    found = {p for depth in range(1, 5) for p in base.glob("*/" * depth + "datasets/*/v*/manifest.json")}
    if not found - _checked_manifests:
        return
    validator = jsonschema.Draft202012Validator(json.loads((PROJECT / MANIFEST_SCHEMA).read_text()))
    for manifest in sorted(found - _checked_manifests):
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(json.loads(manifest.read_text()))
        ]
        assert not errors, f"{manifest} does not match {MANIFEST_SCHEMA}: {errors[:5]}"
        _checked_manifests.add(manifest)


def make_workspace(root: Path, spec: DatasetSpec | None = None) -> Path:
    """A git repository declaring `spec` (default: `small_spec()`), with the project's expectation
    suites and one initial commit."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT / "expectations", root / "expectations")
    declare(root, spec or small_spec())
    (root / ".gitignore").write_text("data/\n.dagster_home/\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "workspace"], cwd=root, check=True)
    return root


def small_spec() -> DatasetSpec:
    """ticket_triage as declared, with bars scaled to a few thousand generated tickets."""
    spec, _ = get_spec("ticket_triage")
    gates = spec.gates.model_dump()
    gates["min_examples_per_class"]["min"] = 100
    gates["min_examples_top_languages"]["min"] = 30
    gates["min_label_agreement"]["min"] = 0.7  # a few hundred doubly-labelled items: per-class kappa is noisy
    # Cross-validated label issues take seconds per run and the suite builds many training sets:
    # measured by the labeling loop's test and tests/test_labeling_quality.py instead.
    del gates["max_label_issue_share"]
    return spec.model_copy(update={"gates": GatesSpec.model_validate(gates)})


def land(root: Path, rows: int = 5000, months: int = 8, **overrides) -> Path:
    """Generated tickets over `months` up to AS_OF, landed one CSV per day; returns the folder.

    A run's time grows with the days landed: 8 months reach past the retention (3 months for
    Account) and freshness (6 months) bars; a test that is about neither lands fewer."""
    config = GeneratorConfig(rows=rows, seed=11, as_of=AS_OF, months=months, **overrides)
    return write_landing(generate(config), root / "data" / "landing")["tickets"]


@pytest.fixture
def workspace(tmp_path) -> Path:
    return make_workspace(tmp_path / "workspace")


@contextlib.contextmanager
def postgres_schema(prefix: str) -> Iterator[tuple[sa.Engine, str]]:
    """(engine, schema): a schema of its own on the test server, dropped afterwards (tests run in
    parallel and CI reuses the server). An unreachable server fails the test, naming it."""
    engine = sa.create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"connect_timeout": 5})
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        unreachable = None
    except sa.exc.OperationalError as error:
        unreachable = str(error.orig).strip().splitlines()[0]
    if unreachable:  # out of the except block: the message alone, not the driver's traceback
        where = sa.make_url(POSTGRES_URL).render_as_string(hide_password=True)
        pytest.fail(
            f"PostgreSQL is not reachable at {where} ({unreachable}): these tests need a real server; "
            "start it (CI does) or point TRAINSET_TEST_POSTGRES_URL at one",
            pytrace=False,
        )
    try:
        yield engine, schema
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def chromium(page: Path, tmp_path: Path, *action: str) -> subprocess.CompletedProcess:
    """Debian's headless Chromium on a local page (`--dump-dom` unless `action` says otherwise),
    with the flags this machine's closed network needs; skips the test where it is not installed
    (.ci/run installs it). Fails the test if Chromium fails."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1280,1800",
    ]
    command = [binary, *flags, *(action or ["--dump-dom"]), page.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done
