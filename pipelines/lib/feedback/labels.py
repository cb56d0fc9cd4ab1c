"""Consented feedback as labels: a `changed` event labels its ticket with the final category (an
agent's correction), an `accepted` one gives a weak label (the suggestion kept), an `ignored` one
none. An event without consent is never read here: it counts in the aggregates only, and is never
joined to a ticket's text.

Only tickets still eligible are labelled (the caller passes their ids): an opted-out or erased
user's tickets, or expired ones, get no label from feedback either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.feedback.ingest import read_events
from pipelines.lib.membership import is_in
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: provenance of a feedback label: `feedback:<event_id>`
REF_PREFIX = "feedback:"
#: columns read from the ingested events (never text, never a segment)
_READ = ["event_id", "ticket_id", "model_version", "predicted_category", "final_category", "user_action", "ts"]


def feedback_labels(paths: DatasetPaths, spec: DatasetSpec, eligible_ids: pd.Series) -> pd.DataFrame:
    """One row per eligible ticket that a consented event labels, indexed by the ticket id:
    `label`, `how` (changed or accepted), `ref` (`feedback:<event_id>`), `model_version`, `audit`
    (True for the random `feedback.labels.audit_share` sent to annotators blind). A ticket with
    several events takes its latest (by ts, then event_id). Empty without a feedback block."""
    columns = {"label": "str", "how": "str", "ref": "str", "model_version": "str", "audit": "bool"}
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    if spec.feedback is None:
        return empty
    wanted = [a for a in ("changed", "accepted") if getattr(spec.feedback.labels, a)]
    events = read_events(paths)
    if events.empty or not wanted:
        return empty
    # Consent first: nothing below ever sees an event without it.
    events = events.loc[events["consent_flag"].astype(bool), _READ]
    events = events[events["user_action"].isin(wanted) & is_in(events["ticket_id"], eligible_ids)]
    if events.empty:
        return empty
    latest = events.sort_values(["ts", "event_id"]).drop_duplicates("ticket_id", keep="last")
    changed = latest["user_action"].eq("changed")
    labels = pd.DataFrame(
        {
            "label": latest["final_category"].where(changed, latest["predicted_category"]).astype("str"),
            "how": latest["user_action"].astype("str"),
            "ref": (REF_PREFIX + latest["event_id"]).astype("str"),
            "model_version": latest["model_version"].astype("str"),
            "audit": _audit_draw(latest["event_id"], spec.feedback.labels.audit_share),
        }
    )
    return labels.set_axis(pd.Index(latest["ticket_id"].astype("str"), name=None)).astype(columns)


def _audit_draw(event_ids: pd.Series, share: float) -> np.ndarray:
    """True for a random `share` of events, fixed by each event id (the same event is drawn in
    every run, whatever else was logged): pandas' fixed-key 64-bit hash of the id as a uniform draw."""
    hashed = pd.util.hash_pandas_object(event_ids.astype("str"), index=False).to_numpy(dtype=np.uint64)
    return (hashed / np.float64(2**64)) < share


def store_description(spec: DatasetSpec, root: Path) -> str:
    """Where the events come from, for a manifest: `$VARIABLE` when the URL is in the environment
    (never read here), else the URL without its password; then the table."""
    if spec.feedback is None:
        return ""
    store = spec.feedback.store
    if store.url_env:
        return f"${store.url_env}, table {store.table}"
    from pipelines.lib.feedback.store import FeedbackStore

    return f"{FeedbackStore(store.resolved_url(root, spec.name), store.table).location}, table {store.table}"
