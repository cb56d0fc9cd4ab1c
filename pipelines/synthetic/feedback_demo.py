"""The feedback loop's demo: a 2-week pilot of triage model v1, simulated over the dataset's tickets
and logged into its event store (the embedded SQLite file unless the spec names another).

    python -m pipelines.synthetic.feedback_demo [DATASET] [--workspace DIR]

Week 1 is the baseline. The model is right more often on English than on German or Portuguese
tickets; in week 2 the channel mix moves towards chat and German acceptance falls, the shift the
pilot report's drift section must find. Agents accept a right suggestion, change a wrong one, or
ignore either; about 70% of events carry consent. Model v1 is recorded as trained on the dataset's
latest released version. The simulation is seeded: the same tickets give the same events.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.catalog import get_spec
from pipelines.lib.feedback.events import FeedbackEvent
from pipelines.lib.feedback.store import FeedbackStore, Logged
from pipelines.lib.release.versions import versions
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths, default_workspace

MODEL_VERSION = "v1"
#: chance the model is right, by language, in week 1 and in week 2 (German drifts)
ACCURACY = {"en": (0.93, 0.93), "es": (0.90, 0.90), "de": (0.88, 0.62), "fr": (0.90, 0.90), "pt": (0.86, 0.86)}
OTHER_ACCURACY = 0.85
#: how much more often a ticket of a channel is seen in week 2 than in week 1
WEEK2_CHANNEL_WEIGHT = {"chat": 3.0}
CONSENT_SHARE = 0.7


def simulate_pilot(
    tickets: pd.DataFrame, spec: DatasetSpec, start: date, days: int = 14, per_day: int = 220, seed: int = 7
) -> pd.DataFrame:
    """Events of a `days`-day pilot (`per_day` a day), one frame with the seed's columns. `tickets`
    holds the dataset's id, language, segment and label columns (the label is the truth an agent
    routes to; a ticket without one gets a random class)."""
    rng = np.random.default_rng(seed)
    classes = np.asarray(spec.labels.classes)
    language = tickets[spec.columns.language].astype("str").to_numpy() if spec.columns.language else None
    channel = tickets[spec.columns.segments[0]].astype("str").to_numpy() if spec.columns.segments else None
    frames = []
    for offset in range(days):  # 14 days: one vectorised draw per day
        week = offset // 7
        weights = np.ones(len(tickets))
        if week and channel is not None:
            for value, factor in WEEK2_CHANNEL_WEIGHT.items():
                weights[channel == value] = factor
        picked = rng.choice(len(tickets), size=per_day, replace=False, p=weights / weights.sum())
        truth = tickets[spec.labels.column].astype("str").to_numpy()[picked]
        unknown = ~np.isin(truth, classes)
        truth[unknown] = rng.choice(classes, size=int(unknown.sum()))
        accuracy = np.full(per_day, OTHER_ACCURACY)
        if language is not None:
            for lang, by_week in ACCURACY.items():
                accuracy[language[picked] == lang] = by_week[week]
        right = rng.random(per_day) < accuracy
        # Another class, uniformly: shift the true class's index by 1..k-1.
        index = np.searchsorted(np.sort(classes), truth)
        wrong = np.sort(classes)[(index + rng.integers(1, len(classes), per_day)) % len(classes)]
        predicted = np.where(right, truth, wrong)
        roll = rng.random(per_day)
        action = np.where(
            right, np.where(roll < 0.88, "accepted", "ignored"), np.where(roll < 0.8, "changed", "ignored")
        )
        seconds = np.sort(rng.integers(0, 86_400, per_day))
        day_start = datetime.combine(start + timedelta(days=offset), time(), tzinfo=UTC)
        frames.append(
            pd.DataFrame(
                {
                    "ticket_id": tickets[spec.id_column].astype("str").to_numpy()[picked],
                    "model_version": MODEL_VERSION,
                    "predicted_category": predicted,
                    "final_category": truth,
                    "user_action": action,
                    "consent_flag": rng.random(per_day) < CONSENT_SHARE,
                    "ts": pd.Timestamp(day_start) + pd.to_timedelta(seconds, unit="s"),
                }
            )
        )
    events = pd.concat(frames, ignore_index=True)
    events.insert(0, "event_id", [f"evt-{n:06d}" for n in range(1, len(events) + 1)])
    return events


def run(dataset: str, root: Path) -> Logged:
    """Simulate the pilot over the dataset's stored tickets and log it; returns what was logged.
    Raises ValueError when the dataset has no feedback block, no stored ticket, or no released
    version to say what model v1 was trained on."""
    spec, _ = get_spec(dataset, root)
    if spec.feedback is None:
        raise ValueError(f"{dataset} declares no feedback block")
    paths = DatasetPaths(root, dataset)
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    if not files:
        raise ValueError(f"{dataset} has no stored ticket yet: run `trainset run {dataset}` first")
    wanted = [spec.id_column, *spec.segment_columns, spec.labels.column]
    tickets = pd.concat([pd.read_parquet(f, columns=wanted) for f in files], ignore_index=True)
    released = versions(paths.releases)
    if not released:
        raise ValueError(f"{dataset} has no released version for model {MODEL_VERSION} to be trained on")
    store = FeedbackStore.for_dataset(spec, root)
    store.migrate()
    store.register_model(MODEL_VERSION, dataset, released[-1], who="feedback_demo")
    events = simulate_pilot(tickets, spec, spec.feedback.start)
    return store.log([FeedbackEvent.model_validate(row) for row in events.to_dict("records")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", default="ticket_triage")
    parser.add_argument("--workspace", type=Path, default=Path(default_workspace()))
    args = parser.parse_args()
    logged = run(args.dataset, args.workspace.resolve())
    print(
        f"{args.dataset}: logged {logged.inserted} pilot event(s) of model {MODEL_VERSION} "
        f"({logged.duplicates} already logged)"
    )


if __name__ == "__main__":
    main()
