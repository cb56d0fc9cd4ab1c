"""The audit log: entries chained by sha256, appended by concurrent writers without breaking the
chain, and `trainset audit verify` naming an entry that was edited or removed."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.lib.audit.entries import GENESIS, PullEvent, RetentionEvent, RunEvent
from pipelines.lib.audit.events import record_erasure
from pipelines.lib.audit.log import AUDIT_LOG, PENDING_LOG, commit_pending, entries, record
from pipelines.lib.audit.verify import verify


def some_entries(root: Path) -> None:
    """Five entries: a run, a retention deletion, two pulls, an erasure request."""
    record(root, RunEvent(dataset="demo", version=1, run_id="r1", outcome="released", partitions="2 days"))
    record(
        root,
        RetentionEvent(dataset="demo", files_deleted=3, sensitive_rows_deleted=2, oldest_day_kept=date(2026, 1, 1)),
    )
    record(root, PullEvent(dataset="demo", version=1, files=4))
    record(root, PullEvent(dataset="other", version=2, files=4))
    record_erasure(root, "erasure-0123456789ab", {"demo": 7}, "GDPR art. 17")


def audit(root: Path, *args: str):
    return CliRunner().invoke(cli, ["audit", *args, "--workspace", str(root)])


def test_entries_are_chained_and_an_untouched_log_verifies(tmp_path):
    some_entries(tmp_path)
    logged = entries(tmp_path)
    assert [e.seq for e in logged] == [1, 2, 3, 4, 5]
    assert logged[0].prev == GENESIS and all(b.prev == a.hash for a, b in zip(logged, logged[1:], strict=False))
    assert logged[0].who.os_user and logged[0].who.host
    text = (tmp_path / PENDING_LOG).read_text()
    assert "erasure-0123456789ab" not in text  # the request's hash, never its id
    result = audit(tmp_path, "verify")
    assert result.exit_code == 0, result.output
    assert "5 entries, the chain holds" in result.output


def test_show_filters_by_dataset_version_and_day(tmp_path):
    some_entries(tmp_path)
    shown = audit(tmp_path, "show", "--dataset", "demo")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line.split()[0] for line in lines] == ["#1", "#2", "#3", "#5"]  # the erasure request names demo
    assert "run demo@v1" in lines[0] and "outcome=released" in lines[0]
    assert "erasure_request" in lines[3] and "GDPR art. 17" in lines[3]
    pulls = audit(tmp_path, "show", "--dataset", "other", "--version", "2").output.splitlines()
    assert len(pulls) == 1 and "pull other@v2 files=4" in pulls[0]
    assert "no audit entries" in audit(tmp_path, "show", "--since", "2999-01-01").output
    as_json = [json.loads(line) for line in audit(tmp_path, "show", "--format", "json").output.splitlines()]
    assert [e["seq"] for e in as_json] == [1, 2, 3, 4, 5]


def test_an_edited_entry_is_named_by_line_and_verify_fails(tmp_path):
    some_entries(tmp_path)
    path = tmp_path / PENDING_LOG
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"files": 4', '"files": 40')
    path.write_text("\n".join(lines) + "\n")
    result = audit(tmp_path, "verify")
    assert result.exit_code == 1
    message = str(result.exception)
    assert f"{PENDING_LOG}:3: entry #3 (pull demo@v1 at " in message
    assert "was edited after it was written" in message and "1 problem(s)" in message


def test_a_removed_entry_is_named_and_verify_fails_without_a_traceback(tmp_path):
    some_entries(tmp_path)
    path = tmp_path / PENDING_LOG
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [
            str(Path(__file__).parents[1] / ".venv" / "bin" / "trainset"),
            "audit",
            "verify",
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{PENDING_LOG}:2: entry #3 (pull demo@v1" in done.stderr
    assert "follows entry #1 (run demo@v1" in done.stderr and "entry #2 removed" in done.stderr
    assert "restore audit/log.jsonl" in done.stderr


def test_a_log_rewritten_whole_differs_from_the_committed_one(tmp_path):
    """Hashes recomputed after removing an entry: the chain holds, the last commit's log does not match."""
    for args in (["init", "-q", "-b", "main"],):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    some_entries(tmp_path)
    commit_pending(tmp_path)
    subprocess.run(["git", "add", str(AUDIT_LOG)], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "Release demo@v1"], cwd=tmp_path, check=True)
    (tmp_path / AUDIT_LOG).write_text("")
    kept = [e for e in entries(tmp_path)]
    assert kept == []
    record(tmp_path, PullEvent(dataset="demo", version=1, files=4))  # a fresh chain in its place
    commit_pending(tmp_path)
    count, problems = verify(tmp_path)
    assert count == 1 and len(problems) == 1
    assert str(problems[0]).startswith(f"{AUDIT_LOG}:1: differs from the same line of the log committed")


def _append_many(root: Path, worker: int, n: int) -> None:
    for i in range(n):
        record(root, PullEvent(dataset=f"d{worker}", version=i + 1, files=4))


def test_concurrent_writers_never_interleave_or_fork_the_chain(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(tmp_path, w, 25)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert all(w.exitcode == 0 for w in workers)
    count, problems = verify(tmp_path)
    assert (count, problems) == (100, [])
    assert [e.seq for e in entries(tmp_path)] == list(range(1, 101))


def test_the_change_log_says_what_moved_between_versions(tmp_path):
    """Two versions released from manifests that differ in rows, a bar, a gate's status and the rows
    removed by reason; the first withdrawn. The change log names each, newest first."""
    from test_release import body, frame

    from pipelines.lib.accounting import RowAccounting
    from pipelines.lib.audit.changelog import changelog
    from pipelines.lib.files import write_json
    from pipelines.lib.quality.gate_results import GateResult
    from pipelines.lib.release.versions import release

    def version(offset: int, bar: int, passed: bool, erased: int):
        first = body()
        spec = first.spec.content | {"gates": first.spec.content["gates"] | {"min_examples_per_class": {"min": bar}}}
        gate = GateResult(name="min_examples_per_class", severity="warn", passed=passed, measured=5, required=bar)
        steps = {"eligible": RowAccounting(rows_in=40, rows_out=40 - erased, removed={"erasure_request": erased})}
        update = {"spec": first.spec.model_copy(update={"content": spec}), "gates": [gate], "accounting": steps}
        return release(tmp_path, "demo", frame(offset=offset), first.model_copy(update=update))

    version(0, 5, True, 0)
    version(10, 8, False, 3)
    withdrawn = {"withdrawn_at": "2026-11-30T05:00:00+00:00", "reason": "erasure", "requests": ["e1"], "replaced_by": 2}
    write_json({"withdrawn": {"1": withdrawn}}, tmp_path / "registry" / "demo.json")
    record(tmp_path, PullEvent(dataset="demo", version=2, files=4))
    text = changelog(tmp_path, "demo", entries(tmp_path), pulls=True)
    assert text.index("## v2 — ") < text.index("## v1 — ")
    v2, v1 = text.split("## v2 — ")[1].split("## v1 — ")
    assert "- rows: 30 (+0 since v1)" in v2
    assert "- examples added: 10; removed: 10 (by id, against v1)" in v2
    assert "erasure_request 3 (+3)" in v2
    assert "gates.min_examples_per_class.min: 5 → 8" in v2
    assert "- gates that changed status: min_examples_per_class passed → warned" in v2
    assert "- pulled through trainset: 1: " in v2
    assert "**withdrawn** 2026-11-30T05:00:00+00:00 (erasure: 1 request(s)); use v2" in v1 and "(first version)" in v1


def test_a_change_log_of_a_dataset_never_released_is_a_usage_error(tmp_path):
    result = audit(tmp_path, "changelog", "demo")
    assert result.exit_code == 2 and "demo has no released version under" in result.output


def test_loading_a_version_with_pipelines_load_is_a_pull_in_the_log(tmp_path):
    from test_release import body, frame

    import pipelines
    from pipelines.lib.release.versions import release

    release(tmp_path, "demo", frame(), body())
    splits = pipelines.load("demo", workspace=tmp_path)
    assert sorted(splits) == ["test", "train", "validation"]
    (pulled,) = entries(tmp_path)
    assert pulled.event == PullEvent(dataset="demo", version=1, files=3, via="pipelines.load")


def test_entries_since_a_release_follow_a_log_another_clone_extended(tmp_path):
    """Clone A has an entry pending when it pulls clone B's release (B's log went two entries
    further): the chain still holds, and A's next release re-links its entries after B's."""
    a, b = tmp_path / "a", tmp_path / "b"
    record(a, RunEvent(dataset="demo", version=1, run_id="r1", outcome="released", partitions="2 days"))
    commit_pending(a)
    (b / "audit").mkdir(parents=True)
    (b / AUDIT_LOG).write_text((a / AUDIT_LOG).read_text())  # b is a clone of a
    record(a, PullEvent(dataset="demo", version=1, files=4))  # pending in a
    for version in (2, 3):
        record(b, PullEvent(dataset="demo", version=version, files=4))
    commit_pending(b)
    (a / AUDIT_LOG).write_text((b / AUDIT_LOG).read_text())  # `git pull` of b's release into a
    assert verify(a) == (4, [])
    record(a, PullEvent(dataset="other", version=1, files=4))  # follows a's pending entry
    commit_pending(a)
    assert verify(a) == (5, [])
    logged = entries(a)
    assert [e.seq for e in logged] == [1, 2, 3, 4, 5]
    assert [(e.event.dataset, e.event.version) for e in logged[3:]] == [("demo", 1), ("other", 1)]


def test_an_edited_pending_entry_is_not_relinked_onto_another_clones_log(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    record(a, RunEvent(dataset="demo", version=1, run_id="r1", outcome="released", partitions="2 days"))
    commit_pending(a)
    (b / "audit").mkdir(parents=True)
    (b / AUDIT_LOG).write_text((a / AUDIT_LOG).read_text())
    record(a, PullEvent(dataset="demo", version=1, files=4))
    record(b, PullEvent(dataset="demo", version=2, files=4))
    commit_pending(b)
    (a / AUDIT_LOG).write_text((b / AUDIT_LOG).read_text())
    pending = a / PENDING_LOG
    pending.write_text(pending.read_text().replace('"files": 4', '"files": 5'))
    commit_pending(a)  # appended as it is, for verify to name
    count, problems = verify(a)
    assert count == 3 and any("entry #2 (pull demo@v1" in str(p) and "was edited" in str(p) for p in problems)


def test_the_change_log_names_a_moved_key_of_a_source_by_its_position():
    from pipelines.lib.audit.changelog import _spec_changes

    before = {"sources": [{"name": "a", "path": "x", "url": None}], "gates": {"m": {"min": 5}}}
    after = {"sources": [{"name": "a", "path": "y", "url": None}], "gates": {"m": {"min": 6}}}
    assert _spec_changes(before, after) == ["gates.m.min: 5 → 6", "sources[0].path: x → y"]


def test_a_run_names_as_blockers_only_the_error_checks_that_blocked_it(tmp_path):
    """A warning is reported in the run's output, never recorded as what blocked a release."""
    from pipelines.lib.audit.events import record_run
    from pipelines.runner import RunSummary

    warned = "min_examples_per_class [WARN]: gate min_examples_per_class FAILED (warn): measured 190"
    released = RunSummary(
        "r1", True, "2026-10-01..2026-10-02", failed_checks=[warned], release_metadata={"created": True, "version": 1}
    )
    failed = [warned, "pii_residue [ERROR]: 1 finding"]
    blocked = RunSummary("r2", False, "2026-10-01..2026-10-02", failed_checks=failed)
    assert record_run(tmp_path, "ticket_triage", released).event.blocked_by == []
    entry = record_run(tmp_path, "ticket_triage", blocked)
    assert (entry.event.outcome, entry.event.blocked_by) == ("blocked", ["pii_residue"])
