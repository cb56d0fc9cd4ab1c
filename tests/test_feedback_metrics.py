"""Feedback metrics and drift on generated events: acceptance and its Wilson interval against a
hand computation, cells too small to judge, the misroute definition, and drift that fires on an
injected week-2 shift but not on a week 2 drawn like week 1."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from pipelines.lib.feedback.declaration import DriftBar, MisrouteBar
from pipelines.lib.feedback.drift import drift_gate, feedback_drift, misroute_gate, mix_drift, psi
from pipelines.lib.feedback.events import EVENT_COLUMNS, MISSING
from pipelines.lib.feedback.metrics import COLUMNS, changed_to, feedback_metrics
from pipelines.lib.feedback.results import WeekDrift, counted

START = date(2026, 11, 9)  # ticket_triage's feedback.start
SEGMENTS = ["language", "channel"]
CLASSES = ["Billing", "Technical", "Account", "Other"]
LANGUAGES = {"en": 0.5, "de": 0.2, "es": 0.15, "fr": 0.15}


def events_frame(**columns) -> pd.DataFrame:
    """Events with the ingested columns; `columns` gives the varying ones, the rest are filled in."""
    n = len(next(iter(columns.values())))
    days = columns.pop("day", [START.isoformat()] * n)
    frame = pd.DataFrame(
        {
            "event_id": [f"E{i:06d}" for i in range(n)],
            "ticket_id": [f"T{i:06d}" for i in range(n)],
            "model_version": "triage-2026.11",
            "predicted_category": "Billing",
            "final_category": "Billing",
            "consent_flag": True,
            "ts": pd.to_datetime(days, utc=True).astype("datetime64[us, UTC]"),
            "day": days,
            "language": "en",
            "channel": "email",
        }
        | columns
    )
    return frame.astype({c: t for c, t in EVENT_COLUMNS.items() if t == "str"})


def pilot_week(
    rng: np.random.Generator,
    week: int,
    n: int,
    chat: float = 0.2,
    acceptance: float = 0.82,
    de_acceptance: float = 0.82,
    ignored: float = 0.1,
) -> pd.DataFrame:
    """`n` events of pilot week `week`: languages and classes drawn from fixed mixes, a `chat` share
    of channels (email and web share the rest), German suggestions accepted at `de_acceptance`, the
    others at `acceptance`, an `ignored` share not acted on (half of those routed later)."""
    language = rng.choice(list(LANGUAGES), n, p=list(LANGUAGES.values()))
    channel = rng.choice(["email", "chat", "web"], n, p=[(1 - chat) / 2, chat, (1 - chat) / 2])
    predicted = rng.integers(0, len(CLASSES), n)
    kept = rng.random(n) < np.where(language == "de", de_acceptance, acceptance)
    action = np.where(rng.random(n) < ignored, "ignored", np.where(kept, "accepted", "changed"))
    other = (predicted + rng.integers(1, len(CLASSES), n)) % len(CLASSES)  # never the predicted class
    routed_later = np.where(rng.random(n) < 0.8, predicted, other)
    final = np.select(
        [action == "accepted", action == "changed", rng.random(n) < 0.5], [predicted, other, routed_later], -1
    )
    classes = np.array([*CLASSES, None], dtype=object)
    day = START + timedelta(days=7 * (week - 1))
    seconds = rng.integers(0, 7 * 86_400, n)
    ts = pd.to_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC)) + pd.to_timedelta(seconds, unit="s")
    return events_frame(
        predicted_category=classes[predicted],
        final_category=classes[final],
        user_action=action,
        day=ts.strftime("%Y-%m-%d"),
        ts=ts.astype("datetime64[us, UTC]"),
        language=language,
        channel=channel,
    )


def two_weeks(seed: int, per_week: int = 6000, **week_2) -> pd.DataFrame:
    """Week 1 at the baseline, week 2 with `week_2`'s changes (none: drawn like week 1)."""
    rng = np.random.default_rng(seed)
    return pd.concat([pilot_week(rng, 1, per_week), pilot_week(rng, 2, per_week, **week_2)], ignore_index=True)


def row(metrics: pd.DataFrame, level="pilot", model="*", category="*", segment="*", value="*") -> pd.Series:
    found = metrics[
        (metrics["level"] == level)
        & (metrics["model_version"] == model)
        & (metrics["predicted_category"] == category)
        & (metrics["segment"] == segment)
        & (metrics["value"] == value)
    ]
    assert len(found) == 1, found
    return found.iloc[0]


def wilson_by_hand(count: int, n: int) -> tuple[float, float]:
    """E. B. Wilson (1927): the score interval, typed out: centre (p + z^2/2n) / (1 + z^2/n),
    half-width z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2), z the 97.5% normal quantile."""
    z = 1.959963984540054
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_acceptance_and_its_wilson_interval_match_a_hand_computation():
    actions = ["accepted"] * 17 + ["changed"] * 3 + ["ignored"] * 5
    final = ["Billing"] * 17 + ["Account"] * 3 + [None] * 5
    events = events_frame(user_action=actions, predicted_category=["Billing"] * 25, final_category=final)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=10)
    assert list(metrics.columns) == list(COLUMNS)
    overall = row(metrics)
    assert (overall["n"], overall["accepted"], overall["changed"], overall["ignored"]) == (25, 17, 3, 5)
    assert overall["acceptance_rate"] == pytest.approx(17 / 20)
    low, high = wilson_by_hand(17, 20)  # 0.6396..., 0.9476...
    assert (overall["acceptance_low"], overall["acceptance_high"]) == (pytest.approx(low), pytest.approx(high))
    assert overall["change_rate"] == pytest.approx(3 / 25) and overall["ignore_rate"] == pytest.approx(5 / 25)
    assert overall["judged"]
    # the same cell by class, by segment and by period
    assert row(metrics, category="Billing", segment="channel", value="email")["acceptance_rate"] == pytest.approx(0.85)
    assert row(metrics, level="day", model="triage-2026.11")["n"] == 25
    assert row(metrics, level="week")["period"] == "1"


def test_a_cell_below_min_n_is_marked_too_small_and_keeps_its_rates():
    actions = ["accepted"] * 40 + ["changed"] * 10 + ["accepted"] * 4 + ["changed"] * 1
    language = ["en"] * 50 + ["de"] * 5
    final = ["Billing"] * 40 + ["Other"] * 10 + ["Billing"] * 4 + ["Other"]
    events = events_frame(
        user_action=actions, language=language, predicted_category=["Billing"] * 55, final_category=final
    )
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=30)
    german = row(metrics, segment="language", value="de")
    assert not german["judged"] and german["decided"] == 5
    assert german["acceptance_rate"] == pytest.approx(0.8)  # shown, not hidden
    assert (german["acceptance_low"], german["acceptance_high"]) == tuple(map(pytest.approx, wilson_by_hand(4, 5)))
    assert row(metrics, segment="language", value="en")["judged"] and row(metrics)["judged"]


def test_a_rate_without_a_denominator_is_nan_never_zero():
    events = events_frame(
        user_action=["ignored", "ignored", "accepted"],
        predicted_category=["Other", "Other", "Billing"],
        final_category=[None, None, "Billing"],
    )
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=1)
    other = row(metrics, category="Other")
    for rate in ("acceptance_rate", "acceptance_low", "acceptance_high", "misroute_rate", "misroute_high"):
        assert math.isnan(other[rate]), rate
    assert other["ignore_rate"] == 1.0 and other["change_rate"] == 0.0 and not other["judged"]
    assert row(metrics, category="Billing")["acceptance_rate"] == 1.0


def test_a_misroute_is_a_final_category_other_than_the_predicted_one_among_events_with_one():
    events = events_frame(
        user_action=["accepted", "changed", "ignored", "ignored", "ignored"],
        predicted_category=["Billing"] * 5,
        # ignored and later routed elsewhere: a misroute; ignored, routed as predicted: not;
        # ignored and not routed yet: not counted at all
        final_category=["Billing", "Account", "Technical", "Billing", None],
    )
    overall = row(feedback_metrics(events, SEGMENTS, START, min_n=1))
    assert (overall["misrouted"], overall["with_final"]) == (2, 4)
    assert overall["misroute_rate"] == pytest.approx(0.5)
    assert (overall["misroute_low"], overall["misroute_high"]) == tuple(map(pytest.approx, wilson_by_hand(2, 4)))


def test_weeks_count_from_the_pilot_start_and_an_earlier_day_is_in_no_week():
    days = [(START + timedelta(days=d)).isoformat() for d in (-1, 0, 6, 7, 13, 14)]
    events = events_frame(
        user_action=["accepted"] * 6, predicted_category=["Billing"] * 6, final_category=["Billing"] * 6, day=days
    )
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=1)
    weeks = metrics[(metrics["level"] == "week") & (metrics["model_version"] == "*")]
    overall = weeks[(weeks["predicted_category"] == "*") & (weeks["segment"] == "*")]
    assert overall[["period", "first_day", "last_day", "n"]].values.tolist() == [
        ["1", "2026-11-09", "2026-11-15", 2],
        ["2", "2026-11-16", "2026-11-22", 2],
        ["3", "2026-11-23", "2026-11-29", 1],
    ]
    assert row(metrics)["n"] == 6 and row(metrics)["period"] == "2026-11-08/2026-11-23"
    by_day = metrics[(metrics["level"] == "day") & (metrics["model_version"] == "*") & (metrics["segment"] == "*")]
    assert by_day.loc[by_day["predicted_category"] == "*", "period"].tolist() == sorted(days)  # the day before too


def test_a_ticket_without_a_segment_value_counts_as_missing():
    events = events_frame(
        user_action=["accepted", "changed"],
        predicted_category=["Billing", "Billing"],
        final_category=["Billing", "Other"],
        channel=["chat", None],
    )
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=1)
    assert row(metrics, segment="channel", value=MISSING)["changed"] == 1
    assert changed_to(events).to_dict("records") == [
        {"predicted_category": "Billing", "final_category": "Other", "changed": 1, "share": 1.0}
    ]


def test_psi_replaces_an_empty_share_as_evidently_does():
    before, after = np.array([0.5, 0.5, 0.0]), np.array([0.4, 0.4, 0.2])
    by_hand = 2 * (0.5 - 0.4) * math.log(0.5 / 0.4) + (0.0001 - 0.2) * math.log(0.0001 / 0.2)
    assert psi(before, after) == pytest.approx(by_hand)
    tiny = np.array([0.99995, 0.00005, 0.0])  # the smallest share is under 0.0001: a millionth of it
    filled = 0.00005 / 10**6
    expected = (0.99995 - 0.5) * math.log(0.99995 / 0.5) + (0.00005 - 0.25) * math.log(0.00005 / 0.25)
    expected += (filled - 0.25) * math.log(filled / 0.25)
    assert psi(tiny, np.array([0.5, 0.25, 0.25])) == pytest.approx(expected)


def test_drift_fires_on_a_week_2_shift_and_names_the_segment():
    events = two_weeks(seed=20261109, chat=0.45, de_acceptance=0.61)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=30)
    [week] = feedback_drift(metrics, SEGMENTS, DriftBar(), min_n=30)
    mixes = {m.column: m for m in week.mixes}
    assert mixes["channel"].drifted and mixes["channel"].moved.value == "chat"
    assert mixes["channel"].moved.before == pytest.approx(0.2, abs=0.02)
    assert mixes["channel"].moved.after == pytest.approx(0.45, abs=0.02)
    assert mixes["channel"].chi2_p < 1e-6
    assert not mixes["language"].drifted and not mixes["predicted_category"].drifted
    # German acceptance fell; the other languages held (overall and each channel, a fifth German,
    # may fall with it)
    assert [a.value for a in week.acceptance if a.segment == "language" and a.drifted] == ["de"]
    german = next(a for a in week.acceptance if a.value == "de")
    assert german.change < -0.15 and german.p_value < 1e-6

    gate = drift_gate([week], DriftBar())
    assert not gate.passed and gate.measured >= 2 and gate.status.label == "WARN"
    assert re.search(
        r"week 2: channel mix moved \(JS 0\.\d\d >= 0\.1, PSI 0\.\d\d >= 0\.1\): chat 2\d% -> 4\d%", gate.message
    )
    assert re.search(r"acceptance of language=de fell 0\.8\d -> 0\.6\d \(p<0\.0001\)", gate.message), gate.message


def test_drift_stays_quiet_on_a_week_2_drawn_like_week_1():
    events = two_weeks(seed=20261109)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=30)
    weeks = feedback_drift(metrics, SEGMENTS, DriftBar(), min_n=30)
    assert [w.week for w in weeks] == [2] and not weeks[0].drifted
    assert max(m.js_distance for m in weeks[0].mixes) < 0.05
    gate = drift_gate(weeks, DriftBar())
    assert gate.passed and gate.measured == 0 and "within the bars" in gate.message


def test_drift_needs_both_weeks_large_enough_to_judge():
    events = two_weeks(seed=3, per_week=400, de_acceptance=0.5)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=100)
    [week] = feedback_drift(metrics, SEGMENTS, DriftBar(), min_n=100)
    german = next(a for a in week.acceptance if a.value == "de")
    assert not german.judged and not german.drifted and german.before.of < 100


def test_the_misroute_gate_names_the_model_version_and_its_worst_cell():
    rng = np.random.default_rng(5)
    good = pilot_week(rng, 1, 3000, acceptance=0.99, de_acceptance=0.99, ignored=0.0)
    bad = pilot_week(rng, 1, 3000, acceptance=0.97, de_acceptance=0.7, ignored=0.0).assign(model_version="triage-b")
    metrics = feedback_metrics(pd.concat([good, bad], ignore_index=True), SEGMENTS, START, min_n=30)
    gate = misroute_gate(metrics, MisrouteBar(max=0.05, severity="error"))
    assert not gate.passed and gate.status.label == "FAIL"
    assert gate.message.startswith("model triage-b: misroutes ") and "> 5%" in gate.message
    assert "triage-2026.11" not in gate.message  # the version under the bar is not blamed
    assert re.search(r"worst: (\w+, )?language=de \d\d\.\d%", gate.message), gate.message
    assert gate.measured == pytest.approx(row(metrics, model="triage-b")["misroute_rate"])
    passing = misroute_gate(metrics[metrics["model_version"] != "triage-b"], MisrouteBar())
    assert passing.passed and "<= 5%" in passing.message


def test_metrics_of_no_events_are_an_empty_table_with_every_column():
    empty = feedback_metrics(events_frame(user_action=[]).iloc[:0], SEGMENTS, START, min_n=30)
    assert empty.empty and list(empty.columns) == list(COLUMNS)


def test_a_mix_is_judged_only_when_both_weeks_hold_min_n_events():
    # ~10 events in week 2: Account's share moves 7% -> 40%, far past the bars, on too few events
    before = pd.Series({"Account": 1, "Billing": 6, "Technical": 4, "Other": 3})
    after = pd.Series({"Account": 4, "Billing": 3, "Technical": 2, "Other": 1})
    tiny = mix_drift("predicted_category", before, after, DriftBar(), min_n=30)
    assert tiny.js_distance >= 0.1 and tiny.psi >= 0.1
    assert not tiny.judged and not tiny.drifted and (tiny.before_events, tiny.after_events) == (14, 10)


def test_a_mix_of_1000_events_or_fewer_drifts_only_with_a_chi_square_p_below_alpha():
    shares = {"Account": 10, "Billing": 10, "Technical": 10, "Other": 10}
    moved = {"Account": 17, "Billing": 8, "Technical": 8, "Other": 7}  # JS 0.16, PSI 0.14: past both bars
    for scale, drifted in ((1, False), (5, True), (30, True)):
        before, after = (pd.Series(counts) * scale for counts in (shares, moved))
        mix = mix_drift("predicted_category", before, after, DriftBar(), min_n=30)
        assert mix.judged and mix.js_distance >= 0.1 and mix.psi >= 0.1
        assert mix.small_sample == (scale * 40 <= 1000)
        assert mix.drifted == drifted, (scale, mix.chi2_p)
    # 40 events a week: chi-square p=0.43, the move may be chance; 200 a week: p=0.003, it is not
    small = mix_drift("predicted_category", pd.Series(shares), pd.Series(moved), DriftBar(), min_n=30)
    assert small.chi2_p > 0.05 and not small.drifted
    larger = mix_drift("predicted_category", pd.Series(shares) * 5, pd.Series(moved) * 5, DriftBar(), min_n=30)
    words = drift_gate([_week([larger])], DriftBar()).message
    assert "predicted class mix moved (JS 0.16 >= 0.1, PSI 0.14 >= 0.1, chi-square p=0.003 < 0.05)" in words


def _week(mixes) -> WeekDrift:
    return WeekDrift(
        week=2, first_day=date(2026, 11, 16), last_day=date(2026, 11, 22), events=80, mixes=mixes, acceptance=[]
    )


def test_a_week_of_ten_events_against_a_large_week_1_drifts_nothing_and_judges_nothing():
    rng = np.random.default_rng(7)
    events = pd.concat([pilot_week(rng, 1, 2000), pilot_week(rng, 2, 10, chat=0.9)], ignore_index=True)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=30)
    [week] = feedback_drift(metrics, SEGMENTS, DriftBar(), min_n=30)
    assert not week.drifted and not any(m.judged for m in week.mixes)
    gate = drift_gate([week], DriftBar())
    assert gate.passed and not gate.judged and gate.shown_status == "not judged"
    assert "too small to judge" in gate.message and "within the bars" not in gate.message


def test_the_gates_say_their_units_and_a_gate_that_judged_nothing_is_not_judged():
    events = two_weeks(seed=20261109, chat=0.45, de_acceptance=0.61)
    metrics = feedback_metrics(events, SEGMENTS, START, min_n=30)
    drift = drift_gate(feedback_drift(metrics, SEGMENTS, DriftBar(), min_n=30), DriftBar())
    assert drift.measured_text == f"{drift.measured} drifts" and drift.threshold_text == "0 allowed"
    assert drift.shown_status == "WARN" and drift.status_class == "warned"
    misroute = misroute_gate(metrics, MisrouteBar(max=0.05))
    assert misroute.measured_text == f"{misroute.measured:.1%}" and misroute.threshold_text == "at most 5%"
    nothing = drift_gate([], DriftBar())
    assert nothing.passed and not nothing.judged
    assert (nothing.shown_status, nothing.status_class, nothing.measured_text) == ("not judged", "unjudged", "n/a")
    unjudged = misroute_gate(metrics.iloc[:0], MisrouteBar())
    assert unjudged.shown_status == "not judged" and unjudged.measured_text == "n/a"
    one = drift_gate(
        [_week([mix_drift("channel", pd.Series({"a": 5000}), pd.Series({"b": 5000}), DriftBar(), 30)])], DriftBar()
    )
    assert one.measured_text == "1 drift"


def test_counted_says_one_event_and_many_events():
    assert (counted(1, "event"), counted(0, "event"), counted(12345, "day")) == ("1 event", "0 events", "12,345 days")
