"""`trainset feedback init-db | model | log`: a dataset's feedback tables, the model versions
deployed and the dataset version each was trained on, and prediction outcomes logged by hand or
from a file."""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipelines.cli.common import dataset_option, workspace_option
from pipelines.lib.feedback.declaration import USER_ACTIONS

if TYPE_CHECKING:  # imported where they are used: `trainset feedback --help` loads no database driver
    from pipelines.lib.feedback.events import FeedbackEvent
    from pipelines.lib.feedback.store import FeedbackStore

#: option of `trainset feedback log` -> the event field it gives
OPTION_FIELDS = {
    "--event-id": "event_id",
    "--ticket-id": "ticket_id",
    "--model-version": "model_version",
    "--predicted": "predicted_category",
    "--final": "final_category",
    "--action": "user_action",
    "--consent": "consent_flag",
    "--ts": "ts",
}
#: the seed's columns an event file holds; final_category may be absent
FIELDS = tuple(OPTION_FIELDS.values())
REQUIRED = tuple(field for field in FIELDS if field != "final_category")
#: how a CSV may write consent_flag (case aside): words, letters (PostgreSQL's COPY), digits
CSV_BOOLEANS = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False, "1": True, "0": False}


class EventInputError(ValueError):
    """Events that cannot be logged as given: names the file, line and field, never a value."""


@click.command("init-db")
@dataset_option
@workspace_option
def init_db(dataset: str | None, workspace: Path) -> None:
    """Create DATASET's feedback tables (the store its spec's `feedback.store` names), or bring
    them to this trainset's schema. Running it again changes nothing."""
    store = _store(dataset, workspace)
    applied = store.migrate()
    where = f"{store.dataset}: feedback table {store.table!r} at {store.location}"
    if applied:
        click.echo(f"{where}: applied revision(s) {', '.join(applied)}")
    else:
        click.echo(f"{where}: already at {store.current_revision()}")


@click.command()
@click.argument("dataset")
@click.argument("model_version")
@click.option(
    "--dataset-version",
    type=click.IntRange(min=1),
    required=True,
    help="The released version of DATASET (datasets/DATASET/vN/) the model was trained on.",
)
@click.option("--who", default=None, help="Who registers it (recorded). Default: the current user.")
@workspace_option
def model(dataset: str, model_version: str, dataset_version: int, who: str | None, workspace: Path) -> None:
    """Record that MODEL_VERSION, as events name it, was trained on DATASET's released version
    --dataset-version: feedback is then reported against the data the model learnt from."""
    from pipelines.lib.catalog import choose_dataset
    from pipelines.lib.feedback.store import FeedbackStore
    from pipelines.lib.release.versions import versions
    from pipelines.lib.workspace import DatasetPaths

    if not model_version.strip():
        raise click.BadParameter("a model version is not empty", param_hint="MODEL_VERSION")
    spec, _ = choose_dataset(dataset, workspace)
    released = versions(DatasetPaths(workspace, spec.name).releases)
    if dataset_version not in released:
        listed = ", ".join(f"v{v}" for v in released) or "none yet"
        raise click.BadParameter(
            f"{spec.name} has no released version v{dataset_version} (released: {listed}; see `trainset versions "
            f"{spec.name}`): a model is registered against the version it was trained on",
            param_hint="--dataset-version",
        )
    store = FeedbackStore.for_dataset(spec, workspace)
    created = store.register_model(model_version, spec.name, dataset_version, who or _current_user())
    done = "registered" if created else "already registered"
    click.echo(f"{spec.name}: model {model_version} {done}, trained on {spec.name}@v{dataset_version}")


@click.command()
@dataset_option
@workspace_option
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Events to log: a .jsonl (one JSON object per line) or .csv file with the columns event_id, ticket_id, "
    "model_version, predicted_category, final_category (optional), user_action, consent_flag, ts. All of its "
    "events are logged, or none.",
)
@click.option("--event-id", default=None, help="One event: its id (unique; logging it again changes nothing).")
@click.option("--ticket-id", default=None, help="The ticket the model categorised.")
@click.option("--model-version", default=None, help="The model version that made the suggestion.")
@click.option("--predicted", default=None, help="The category the model suggested.")
@click.option("--final", default=None, help="The category the ticket was routed to (when it was).")
@click.option("--action", type=click.Choice(USER_ACTIONS), default=None, help="What the agent did with the suggestion.")
@click.option("--consent", type=click.Choice(["yes", "no"]), default=None, help="Whether the user consented.")
@click.option(
    "--ts", default=None, help="When, ISO 8601 with an offset or Z (2026-11-28T22:30:00-05:00). Default: now."
)
def log(
    dataset: str | None,
    workspace: Path,
    file: Path | None,
    event_id: str | None,
    ticket_id: str | None,
    model_version: str | None,
    predicted: str | None,
    final: str | None,
    action: str | None,
    consent: str | None,
    ts: str | None,
) -> None:
    """Log prediction outcomes of DATASET's model: one event from the options, or many from --file.
    An event_id logged before with the same content is counted as a duplicate; with other content it
    is refused, and nothing is logged."""
    given = {
        "--event-id": event_id,
        "--ticket-id": ticket_id,
        "--model-version": model_version,
        "--predicted": predicted,
        "--final": final,
        "--action": action,
        "--consent": consent,
        "--ts": ts,
    }
    if file is not None and any(value is not None for value in given.values()):
        raise click.UsageError("give --file, or the options of one event, not both")
    store = _store(dataset, workspace)
    events: list[FeedbackEvent]
    if file is not None:
        events = read_event_file(file)
    else:
        missing = [o for o, v in given.items() if v is None and OPTION_FIELDS[o] in REQUIRED and o != "--ts"]
        if missing:
            raise click.UsageError(f"an event needs {', '.join(missing)} (or --file PATH for many)")
        record: dict[str, Any] = {OPTION_FIELDS[o]: v for o, v in given.items() if v is not None}
        record["consent_flag"] = consent == "yes"
        record.setdefault("ts", datetime.now(UTC))
        events = [_event(record, None, {field: option for option, field in OPTION_FIELDS.items()})]
    logged = store.log(events)
    click.echo(
        f"{store.dataset}: {logged.inserted} inserted, {logged.duplicates} duplicate(s) "
        f"(feedback table {store.table!r} at {store.location})"
    )


#: bad lines named in one error (all are counted)
SHOWN_PROBLEMS = 20


def read_event_file(path: Path) -> list[FeedbackEvent]:
    """The events of a JSONL or CSV file (UTF-8, with or without a byte-order mark), validated;
    EventInputError naming the line and field of every line that is not an event (the first
    `SHOWN_PROBLEMS`), or saying the file holds none."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EventInputError(f"{path}, line {line}: not UTF-8 text; save the file as UTF-8") from None
    suffix = path.suffix.lower()
    problems: list[str] = []
    if suffix in (".jsonl", ".ndjson", ".json"):
        events = _jsonl_events(path, text, problems)
    elif suffix == ".csv":
        events = _csv_events(path, text, problems)
    else:
        raise EventInputError(f"{path}: not a .jsonl or .csv file; write the events as JSON lines or CSV")
    if problems:  # every bad line at once, so that a large export is fixed in one pass
        more = f"\n... and {len(problems) - SHOWN_PROBLEMS} more line(s)" if len(problems) > SHOWN_PROBLEMS else ""
        raise EventInputError("\n".join(problems[:SHOWN_PROBLEMS]) + more + "\nnothing was logged from the file")
    if not events:
        raise EventInputError(f"{path}: holds no event; nothing was logged")
    return events


def _jsonl_events(path: Path, text: str, problems: list[str]) -> list[FeedbackEvent]:
    events: list[FeedbackEvent] = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON text may hold U+2028
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            problems.append(f"{path}, line {number}: not a JSON object (a .jsonl file holds one event a line)")
            continue
        _collect(events, problems, record, f"{path}, line {number}")
    return events


def _csv_events(path: Path, text: str, problems: list[str]) -> list[FeedbackEvent]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise EventInputError(f"{path}, line 1: not a CSV header ({error})") from None
    unknown = [name for name in header if name not in FIELDS]
    missing = [name for name in REQUIRED if name not in header]
    twice = sorted({name for name in header if header.count(name) > 1})
    if header and (unknown or missing or twice):
        problems = [f"unknown column {', '.join(unknown)}"] if unknown else []
        problems += [f"no column {', '.join(missing)}"] if missing else []
        problems += [f"column {', '.join(twice)} twice"] if twice else []
        raise EventInputError(f"{path}, line 1: {'; '.join(problems)}; the columns are {', '.join(FIELDS)}")
    reader.fieldnames = header
    events: list[FeedbackEvent] = []
    try:
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if None in row:
                problems.append(f"{where}: more values than the header's {len(header)} columns")
                continue
            record = {name: value for name, value in row.items() if value}  # an empty cell is absent
            if not record:
                continue  # a trailing all-empty row
            consent = record.get("consent_flag")
            if isinstance(consent, str):
                record["consent_flag"] = CSV_BOOLEANS.get(consent.strip().lower(), consent)
            _collect(events, problems, record, where)
    except csv.Error as error:
        raise EventInputError(f"{path}, line {reader.line_num}: not CSV ({error})") from None
    return events


def _collect(events: list[FeedbackEvent], problems: list[str], record: dict[str, Any], where: str) -> None:
    try:
        events.append(_event(record, where))
    except EventInputError as error:
        problems.append(str(error))


def _event(record: dict[str, Any], where: str | None, names: dict[str, str] | None = None) -> FeedbackEvent:
    """`record` as a FeedbackEvent; EventInputError naming `where` (a file's line) and each wrong
    field (as `names` calls it), never its value."""
    from pydantic import ValidationError

    from pipelines.lib.errors import validation_problems
    from pipelines.lib.feedback.events import FeedbackEvent

    try:
        return FeedbackEvent.model_validate(record)
    except ValidationError as error:
        problems = validation_problems(error.errors())
        if names:
            problems = [_renamed(problem, names) for problem in problems]
        prefix = f"{where}: " if where else ""
        raise EventInputError(prefix + "; ".join(problems)) from None


def _renamed(problem: str, names: dict[str, str]) -> str:
    field, _, message = problem.partition(": ")
    return f"{names.get(field, field)}: {message}"


def _store(dataset: str | None, workspace: Path) -> FeedbackStore:
    from pipelines.lib.catalog import choose_dataset
    from pipelines.lib.feedback.store import FeedbackStore

    spec, _ = choose_dataset(dataset, workspace)
    return FeedbackStore.for_dataset(spec, workspace)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "unknown"
