"""Acceptance, change, ignore and misroute rates of ingested feedback events, with Wilson
intervals, per period x model version x predicted class x segment value.

Definitions (one event = one suggestion the deployed model made, see `events`):

- acceptance_rate = accepted / (accepted + changed): of the suggestions an agent decided on, the
  share kept. An ignored suggestion was not judged either way and is left out. Its 95% interval is
  Wilson's score interval (E. B. Wilson, "Probable inference, the law of succession, and
  statistical inference", JASA 22, 1927), which keeps inside [0, 1] and stays honest for small
  cells and for rates near 0 or 1, where the normal (Wald) interval does not.
- change_rate = changed / n and ignore_rate = ignored / n: over all events.
- misroute_rate = events whose final_category is present and differs from predicted_category /
  events that have a final_category, with its Wilson interval: the seed's product target
  ("misroutes under 5%", example 2). An ignored suggestion whose ticket was later routed elsewhere
  counts: the ticket went to the wrong queue first.
- judged: the cell has at least `min_n` decided events (accepted + changed). A cell below it keeps
  its rates, marked too small to judge; nothing is hidden.

A rate whose denominator is 0 is NaN, never 0: no evidence is not a rate of 0.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from pipelines.lib.feedback.events import MISSING

#: what a key column holds in a row that counts every value of it ("all classes", "all segments")
ALL = "*"
#: the period levels, in the order their rows come
LEVELS = ("day", "week", "pilot")
#: confidence of every interval
CONFIDENCE = 0.95
#: the count columns of a metrics row, in order
COUNTS = ("n", "accepted", "changed", "ignored", "decided", "with_final", "misrouted")
#: the key columns of a metrics row, in order
KEYS = ("level", "period", "first_day", "last_day", "model_version", "predicted_category", "segment", "value")
#: every column of `feedback_metrics`, in order
COLUMNS = (
    *KEYS,
    *COUNTS,
    "acceptance_rate",
    "acceptance_low",
    "acceptance_high",
    "change_rate",
    "ignore_rate",
    "misroute_rate",
    "misroute_low",
    "misroute_high",
    "judged",
)


def week_of(days: pd.Series, start: date) -> pd.Series:
    """The pilot week of each `YYYY-MM-DD` day: 1 for start..start+6, 2 for the next seven days,
    and so on; 0 or less for a day before the pilot."""
    offsets = (pd.to_datetime(days, format="%Y-%m-%d") - pd.Timestamp(start)).dt.days
    return (offsets // 7 + 1).astype("int64")


def week_days(week: int, start: date) -> tuple[str, str]:
    """First and last day (YYYY-MM-DD) of pilot week `week`."""
    first = start + timedelta(days=7 * (week - 1))
    return first.isoformat(), (first + timedelta(days=6)).isoformat()


def wilson_interval(count: np.ndarray, nobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's 95% score interval of count / nobs, elementwise; NaN where nobs is 0."""
    count, nobs = np.asarray(count, dtype="float64"), np.asarray(nobs, dtype="float64")
    some = nobs > 0
    low, high = proportion_confint(count, np.where(some, nobs, 1.0), alpha=1 - CONFIDENCE, method="wilson")
    return np.where(some, low, np.nan), np.where(some, high, np.nan)


def feedback_metrics(events: pd.DataFrame, segments: list[str], start: date, min_n: int) -> pd.DataFrame:
    """Tidy rates of `events` (the columns of `events.EVENT_COLUMNS` and one per segment): one row
    per level (`day`, `week`, `pilot`) x period x model version x predicted class (`*` for all) x
    segment column (`*` for all) x segment value, with the counts, the rates and their Wilson
    intervals defined in this module's docstring.

    `period` is the day (YYYY-MM-DD), the week number (`1` = `start`..`start`+6), or for `pilot`
    the whole range as `first/last`; `first_day` and `last_day` bound it. An event before `start`
    counts in its day and the pilot, not in any week."""
    if events.empty:
        return _empty()
    cube = _cube(events, segments)
    parts = []
    for level, dated in _periods(cube, start):
        for model_version in (True, False):
            for by_class in (True, False):
                for segment in (None, *segments):
                    parts.append(_rollup(dated, segments, level, model_version, by_class, segment))
    counted = pd.concat(parts, ignore_index=True)
    return _with_rates(counted, min_n)


def changed_to(events: pd.DataFrame) -> pd.DataFrame:
    """Which classes agents changed suggestions to: one row per (predicted_category,
    final_category) of the `changed` events, with `changed` (events) and `share` (of the changes
    of that predicted class), most changes first."""
    changes = events.loc[events["user_action"] == "changed", ["predicted_category", "final_category"]]
    pairs = changes.fillna(MISSING).value_counts().rename("changed").reset_index()
    pairs["share"] = pairs["changed"] / pairs.groupby("predicted_category")["changed"].transform("sum")
    return pairs.sort_values(["changed", "predicted_category"], ascending=[False, True], ignore_index=True)


def _cube(events: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    """Counts per day x model version x class x every segment column at once: everything after
    rolls this small table up instead of the events."""
    action, final = events["user_action"], events["final_category"]
    routed = final.notna()
    counts = pd.DataFrame(
        {
            "n": 1,
            "accepted": action == "accepted",
            "changed": action == "changed",
            "ignored": action == "ignored",
            "with_final": routed,
            "misrouted": routed & (final != events["predicted_category"]),
        },
        index=events.index,
    ).astype("int64")
    keys = events[["day", "model_version", "predicted_category", *segments]].fillna(MISSING).astype("str")
    cube = pd.concat([keys, counts], axis=1).groupby(list(keys.columns), sort=False, dropna=False).sum()
    cube = cube.reset_index()
    cube["decided"] = cube["accepted"] + cube["changed"]
    return cube


def _periods(cube: pd.DataFrame, start: date) -> list[tuple[str, pd.DataFrame]]:
    """The cube with `period`, `first_day` and `last_day` for each level."""
    by_day = cube.assign(period=cube["day"], first_day=cube["day"], last_day=cube["day"])
    weeks = week_of(cube["day"], start)
    in_pilot = cube.loc[weeks >= 1].assign(period=weeks[weeks >= 1].astype("str"))
    bounds = {str(w): week_days(int(w), start) for w in weeks[weeks >= 1].unique()}
    in_pilot["first_day"] = in_pilot["period"].map({w: days[0] for w, days in bounds.items()})
    in_pilot["last_day"] = in_pilot["period"].map({w: days[1] for w, days in bounds.items()})
    first, last = cube["day"].min(), cube["day"].max()
    whole = cube.assign(period=f"{first}/{last}", first_day=first, last_day=last)
    return [("day", by_day), ("week", in_pilot), ("pilot", whole)]


def _rollup(
    dated: pd.DataFrame, segments: list[str], level: str, by_model: bool, by_class: bool, segment: str | None
) -> pd.DataFrame:
    frame = dated.assign(
        level=level,
        model_version=dated["model_version"] if by_model else ALL,
        predicted_category=dated["predicted_category"] if by_class else ALL,
        segment=segment or ALL,
        value=dated[segment] if segment else ALL,
    )
    return frame.groupby(list(KEYS), sort=False, dropna=False)[list(COUNTS)].sum().reset_index()


def _with_rates(counted: pd.DataFrame, min_n: int) -> pd.DataFrame:
    n, decided, with_final = (counted[c].to_numpy("float64") for c in ("n", "decided", "with_final"))
    accepted, misrouted = counted["accepted"].to_numpy("float64"), counted["misrouted"].to_numpy("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        counted["acceptance_rate"] = np.where(decided > 0, accepted / decided, np.nan)
        counted["acceptance_low"], counted["acceptance_high"] = wilson_interval(accepted, decided)
        counted["change_rate"] = np.where(n > 0, counted["changed"] / n, np.nan)
        counted["ignore_rate"] = np.where(n > 0, counted["ignored"] / n, np.nan)
        counted["misroute_rate"] = np.where(with_final > 0, misrouted / with_final, np.nan)
        counted["misroute_low"], counted["misroute_high"] = wilson_interval(misrouted, with_final)
    counted["judged"] = counted["decided"] >= min_n
    order = counted["level"].map({level: rank for rank, level in enumerate(LEVELS)})
    counted = counted.assign(_order=order).sort_values(["_order", "first_day", *KEYS[4:]], kind="stable")
    return counted.drop(columns="_order").reset_index(drop=True)[list(COLUMNS)]


def _empty() -> pd.DataFrame:
    dtypes = {c: "str" for c in KEYS} | {c: "int64" for c in COUNTS} | {"judged": "bool"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in COLUMNS})
