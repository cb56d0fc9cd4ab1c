"""The columns of an ingested feedback event, as `feedback_events` stores them and `metrics`,
`drift` and `labels` read them.

An ingested day is a Parquet file with `EVENT_COLUMNS`, then one column per segment the spec
reports by (`DatasetSpec.feedback_segments`, looked up from the dataset's rows by ticket; a ticket
without a value there has `MISSING`). No event carries text: the ticket's text stays in the
dataset, and only a consented event is ever joined to it (`labels`).
"""

from __future__ import annotations

#: column -> pandas dtype of an ingested event
EVENT_COLUMNS = {
    "event_id": "str",
    "ticket_id": "str",  # as the dataset's id column holds it (pseudonymised when the spec says so)
    "model_version": "str",
    "predicted_category": "str",
    "final_category": "str",  # may be null: an ignored suggestion whose ticket is not routed yet
    "user_action": "str",  # one of declaration.USER_ACTIONS
    "consent_flag": "bool",
    "ts": "datetime64[us, UTC]",
    "day": "str",  # YYYY-MM-DD of ts in UTC: the partition
}
#: a segment value the dataset does not hold for the event's ticket (as coverage counts it)
MISSING = "(missing)"
