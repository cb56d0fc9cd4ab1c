"""The feedback loop end to end, on the PostgreSQL server and on the embedded SQLite store: a
released version -> a model registered as trained on it -> a 2-week pilot's events logged (a
channel shift and an acceptance drop injected in week 2, an agent's consented correction, a
correction without consent, events the ingestion must quarantine, one event logged twice) -> the
feedback sensor ingests them exactly once -> acceptance and its Wilson interval as computed by
hand -> the drift gate names the segment that moved -> the next version holds the consented
correction as a label with its provenance, and never the one without consent."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import AS_OF, POSTGRES_URL, land, make_workspace, postgres_schema, small_spec

from pipelines.cli import cli
from pipelines.feedback_runner import ingest_feedback
from pipelines.lib.feedback.declaration import FeedbackSpec
from pipelines.lib.feedback.events import FeedbackEvent
from pipelines.lib.feedback.store import FeedbackStore
from pipelines.lib.labeling.plan import make_plan
from pipelines.lib.release.versions import read_manifest
from pipelines.lib.workspace import DatasetPaths
from pipelines.runner import materialize_dataset

START = date(2026, 10, 12)  # week 1: Oct 12-18, week 2: Oct 19-25 (tickets end on AS_OF, Oct 31)
Z = 1.959963984540054  # the 97.5% normal quantile: a 95% two-sided interval


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval (1927), written out."""
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def _event(event_id, ticket, predicted, final, action, consent, ts) -> FeedbackEvent:
    return FeedbackEvent(
        event_id=event_id,
        ticket_id=ticket,
        model_version="v1",
        predicted_category=predicted,
        final_category=final,
        user_action=action,
        consent_flag=consent,
        ts=ts,
    )


def _pilot_events(eligible: pd.DataFrame, reserved: list[str]) -> list[FeedbackEvent]:
    """Week 1: tickets of every channel, 75% of decided events accepted; week 2: chat tickets only,
    about half accepted. 20 events a day, every other one consented."""
    rng = np.random.default_rng(5)
    classes = ["Billing", "Technical", "Account", "Other"]
    pool = eligible[~eligible["ticket_id"].isin(reserved)]
    events = []
    for offset in range(14):
        week2 = offset >= 7
        candidates = pool[pool["channel"] == "chat"] if week2 else pool
        picked = candidates.sample(20, random_state=int(rng.integers(1 << 30)))
        actions = rng.choice(
            ["accepted", "changed", "ignored"], size=20, p=[0.45, 0.45, 0.1] if week2 else [0.7, 0.2, 0.1]
        )
        for n, (row, action) in enumerate(zip(picked.itertuples(), actions, strict=True)):
            truth = row.category
            predicted = truth if action != "changed" else classes[(classes.index(truth) + 1) % 4]
            ts = datetime.combine(START + timedelta(days=offset), datetime.min.time(), tzinfo=UTC) + timedelta(
                minutes=30 * n + 1
            )
            events.append(_event(f"e{offset:02d}-{n:02d}", row.ticket_id, predicted, truth, action, n % 2 == 0, ts))
    return events


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pilot(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        feedback = {"start": START, "min_n": 20, "segments": ["language", "channel"], "labels": {"audit_share": 0.2}}
        if request.param == "postgresql":
            _, schema = stack.enter_context(postgres_schema("feedback"))
            feedback["store"] = {"url": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"}
        spec = small_spec().model_copy(update={"feedback": FeedbackSpec.model_validate(feedback)})
        root = make_workspace(tmp_path_factory.mktemp(f"feedback_{request.param}") / "workspace", spec)
        land(root, rows=2500, months=2)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("TRAINSET_PSEUDONYM_KEY", "test-pseudonymisation-key")
            first = materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
            assert first.success, first.failure
            paths = DatasetPaths(root, spec.name)
            eligible = pd.read_parquet(paths.eligible, columns=["ticket_id", "channel", "category"])
            eligible = eligible.dropna().sort_values("ticket_id").reset_index(drop=True)
            fixed, private = eligible.iloc[0], eligible.iloc[1]
            store = FeedbackStore.for_dataset(spec, root)
            store.migrate()
            store.register_model("v1", spec.name, 1, who="test")
            events = _pilot_events(eligible, [fixed.ticket_id, private.ticket_id])
            other = lambda label: next(c for c in ["Billing", "Technical", "Account", "Other"] if c != label)  # noqa: E731
            day3 = datetime(2026, 10, 14, 23, 0, tzinfo=UTC)
            corrections = [
                # An agent's consented correction of a ticket the model got "right" by the source.
                _event("fix", fixed.ticket_id, fixed.category, other(fixed.category), "changed", True, day3),
                # The same without consent: aggregates only.
                _event("private", private.ticket_id, private.category, other(private.category), "changed", False, day3),
                # Events the ingestion quarantines.
                _event("q-ticket", "no-such-ticket", "Billing", "Billing", "accepted", True, day3),
                _event("q-model", fixed.ticket_id, "Billing", "Billing", "accepted", True, day3).model_copy(
                    update={"model_version": "v9"}
                ),
                _event("q-class", fixed.ticket_id, "Billing", "Sales", "changed", True, day3),
            ]
            logged = store.log([*events, *corrections])
            again = store.log(corrections[:1])
            # An application that writes the table itself, with an action trainset does not know.
            with sa.create_engine(store.url).begin() as connection:
                connection.execute(
                    sa.text(
                        f"INSERT INTO {spec.feedback.store.table} (event_id, ticket_id, model_version, "
                        "predicted_category, final_category, user_action, consent_flag, ts) VALUES "
                        "('q-action', :t, 'v1', 'Billing', 'Billing', 'dismissed', true, :ts)"
                    ),
                    {"t": fixed.ticket_id, "ts": day3 if request.param == "postgresql" else "2026-10-14 23:00:00"},
                )
            instance = dg.DagsterInstance.ephemeral()
            ingested = ingest_feedback(spec, root, instance=instance)
            repeated = ingest_feedback(spec, root, instance=instance)
            # An application's clock a year ahead: the event must not hold back the ones after it.
            with sa.create_engine(store.url).begin() as connection:
                connection.execute(
                    sa.text(
                        f"INSERT INTO {spec.feedback.store.table} (event_id, ticket_id, model_version, "
                        "predicted_category, final_category, user_action, consent_flag, ts) VALUES "
                        "('future', :t, 'v1', 'Billing', 'Billing', 'accepted', true, :ts)"
                    ),
                    {
                        "t": fixed.ticket_id,
                        "ts": datetime(2027, 12, 1, tzinfo=UTC)
                        if request.param == "postgresql"
                        else "2027-12-01 00:00:00.000000",
                    },
                )
            # Logged long after the watermark passed its ts; and one before the pilot's first day.
            late_ts = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)
            late = _event("late", eligible.iloc[7].ticket_id, "Billing", "Billing", "accepted", True, late_ts)
            early_ts = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
            early = _event("early", eligible.iloc[7].ticket_id, "Billing", "Billing", "accepted", True, early_ts)
            store.log([late, early])
            after_late = ingest_feedback(spec, root, instance=instance)
            second = materialize_dataset(spec, root, as_of=AS_OF, instance=dg.DagsterInstance.ephemeral())
            labeled = pd.read_parquet(paths.labeled)  # before the erasure below
            audit = pd.read_parquet(paths.warehouse / "feedback_audit.parquet")
            plan, items = make_plan(paths, spec, 1)
            # Erasure: a user with a ticket the pilot logged events about.
            raw = pd.concat(
                pd.read_parquet(f, columns=["ticket_id", "user_id"])
                for f in (paths.warehouse / "raw_tickets").glob("*.parquet")
            ).dropna()
            logged_about = raw[raw["ticket_id"].isin([e.ticket_id for e in events[20:]])]
            user = logged_about["user_id"].iloc[0]
            erased_tickets = set(raw.loc[raw["user_id"] == user, "ticket_id"])
            forgot = CliRunner().invoke(cli, ["forget", user, "--workspace", str(root)])
            yield {
                "root": root,
                "paths": paths,
                "spec": spec,
                "events": [*events, *corrections[:2], late],
                "logged": logged,
                "again": again,
                "ingested": ingested,
                "repeated": repeated,
                "after_late": after_late,
                "second": second,
                "labeled": labeled,
                "audit": audit,
                "plan_items": items,
                "forgot": forgot,
                "erased_tickets": erased_tickets,
                "store": store,
                "fixed": fixed,
                "private": private,
            }


def test_logging_is_idempotent(pilot):
    assert pilot["logged"].inserted == 14 * 20 + 5
    assert (pilot["again"].inserted, pilot["again"].duplicates) == (0, 1)


def test_the_sensor_ingests_each_event_exactly_once(pilot):
    ingested, repeated = pilot["ingested"], pilot["repeated"]
    assert ingested.days == [(START + timedelta(days=n)).isoformat() for n in range(14)]
    assert not ingested.failed
    assert repeated.days == [] and repeated.skipped
    after_late = pilot["after_late"]
    assert after_late.days == ["2026-10-14"]  # a late event: its day only, whole again
    assert "1 event(s) dated before feedback.start (2026-10-05..2026-10-05)" in after_late.outside
    assert "1 event(s) dated in the future (from 2027-12-01)" in after_late.outside
    paths = pilot["paths"]
    stored = pd.concat([pd.read_parquet(f) for f in sorted((paths.warehouse / "feedback_events").glob("*.parquet"))])
    assert stored["event_id"].is_unique
    erased = pilot["erased_tickets"]  # the erasure test's user: their events are gone since
    assert sorted(stored["event_id"]) == sorted(e.event_id for e in pilot["events"] if e.ticket_id not in erased)
    quarantined = pd.read_parquet(paths.feedback_quarantine("2026-10-14"))
    assert dict(zip(quarantined["event_id"], quarantined["reason"], strict=True)) == {
        "q-ticket": "unknown_ticket",
        "q-model": "unknown_model_version",
        "q-class": "unknown_final_category",
        "q-action": "unknown_action",
    }
    assert "text" not in stored.columns and "subject" not in stored.columns and "body" not in stored.columns


def test_acceptance_and_interval_match_a_hand_computation(pilot):
    metrics = pd.read_parquet(pilot["paths"].feedback_metrics)
    every = (metrics["model_version"] == "*") & (metrics["predicted_category"] == "*") & (metrics["segment"] == "*")
    for week in (1, 2):
        first = START + timedelta(days=7 * (week - 1))
        days = {(first + timedelta(days=n)).isoformat() for n in range(7)}
        mine = [e for e in pilot["events"] if e.ts.date().isoformat() in days]
        accepted = sum(e.user_action == "accepted" for e in mine)
        changed = sum(e.user_action == "changed" for e in mine)
        row = metrics[every & (metrics["level"] == "week") & (metrics["period"] == str(week))].iloc[0]
        assert (row["n"], row["accepted"], row["changed"]) == (len(mine), accepted, changed)
        assert row["acceptance_rate"] == pytest.approx(accepted / (accepted + changed))
        low, high = wilson(accepted, accepted + changed)
        assert (row["acceptance_low"], row["acceptance_high"]) == (pytest.approx(low), pytest.approx(high))


def test_drift_fires_on_the_week_two_shift_and_names_the_segment(pilot):
    checks = "\n".join(pilot["ingested"].checks + pilot["after_late"].checks)
    drift = [line for line in pilot["after_late"].checks if line.startswith("max_feedback_drift")]
    assert drift and "FAILED" in drift[0], checks
    assert "channel mix moved" in drift[0] and "chat" in drift[0]


def test_consented_corrections_become_labels_and_others_never_do(pilot):
    second, paths, spec = pilot["second"], pilot["paths"], pilot["spec"]
    assert second.success, second.failure
    labeled = pilot["labeled"].set_index("ticket_id")
    fixed, private = pilot["fixed"], pilot["private"]
    row = labeled.loc[fixed.ticket_id]
    assert row["category"] != fixed.category
    assert (row["label_source"], row["label_how"]) == ("feedback", "changed")
    assert (row["label_ref"], row["label_model_version"]) == ("feedback:fix", "v1")
    kept = labeled.loc[private.ticket_id]
    assert (kept["category"], kept["label_source"], kept["label_ref"]) == (private.category, "source", "")
    assert not labeled["label_ref"].str.contains("private").any()
    v2 = paths.releases / "v2"
    manifest = read_manifest(v2)
    assert manifest.labels is not None and manifest.labels.feedback is not None
    assert manifest.labels.feedback.changed == int(labeled["label_source"].eq("feedback").sum()) > 0
    released = pd.concat([pd.read_parquet(f) for f in v2.glob("*.parquet")]).set_index("ticket_id")
    if fixed.ticket_id in released.index:  # in a split unless the freshness window left it out
        assert released.loc[fixed.ticket_id, "label_ref"] == "feedback:fix"
    # What the card says was released is what the splits hold (the freshness window applied).
    assert manifest.labels.released_by_source == released["label_source"].value_counts().sort_index().to_dict()
    assert manifest.labels.feedback.events_sha256 and "table triage_feedback" in manifest.labels.feedback.store
    card = (v2 / "DATASET_CARD.md").read_text()
    assert "Where each released example's label came from" in card and "From consented feedback" in card
    assert spec.feedback is not None


def test_erasure_deletes_the_users_feedback_events(pilot):
    forgot, erased = pilot["forgot"], pilot["erased_tickets"]
    assert forgot.exit_code == 0, forgot.output
    assert "feedback event(s) about the user's tickets deleted from the event store" in forgot.output
    stored = pd.concat(
        pd.read_parquet(f) for f in sorted((pilot["paths"].warehouse / "feedback_events").glob("*.parquet"))
    )
    assert not stored["ticket_id"].isin(erased).any()
    assert not pilot["store"].read_after(None)["ticket_id"].isin(erased).any()


def test_a_random_share_of_feedback_labels_goes_to_the_next_plan_blind(pilot):
    audit, labeled = pilot["audit"], pilot["labeled"]
    from_feedback = labeled.loc[labeled["label_ref"].str.startswith("feedback:"), "ticket_id"]
    assert len(audit) and audit["ticket_id"].notna().all()
    assert set(audit["ticket_id"]) <= set(from_feedback)
    assert audit["label_ref"].str.startswith("feedback:").all()
    assert "category" not in audit.columns  # the label is not sent along
    items = pilot["plan_items"]
    sent = items[items["cell"] == "feedback_audit"]
    assert sorted(sent["ticket_id"]) == sorted(audit["ticket_id"])
    assert (sent["predicted"] == "").all()  # no suggestion: annotators label them blind
