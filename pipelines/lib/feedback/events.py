"""A feedback event as an application logs it (`FeedbackEvent`), and the columns of an ingested
one, as `feedback_events` stores them and `metrics`, `drift` and `labels` read them.

An ingested day is a Parquet file with `EVENT_COLUMNS`, then one column per segment the spec
reports by (`DatasetSpec.feedback_segments`, looked up from the dataset's rows by ticket; a ticket
without a value there has `MISSING`). No event carries text: the ticket's text stays in the
dataset, and only a consented event is ever joined to it (`labels`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, field_validator

from pipelines.lib.feedback.declaration import USER_ACTIONS

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
#: how far ahead of this machine's clock an event's ts may be (time zones, clock skew)
FUTURE_SKEW = timedelta(days=1)


class FeedbackEvent(BaseModel):
    """One prediction outcome, as an application logs it: what the model suggested for a ticket and
    what the agent did with the suggestion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    ticket_id: str
    model_version: str
    predicted_category: str
    final_category: str | None = None
    user_action: str
    consent_flag: StrictBool
    ts: datetime

    @field_validator("event_id", "ticket_id", mode="before")
    @classmethod
    def _whole_number_as_text(cls, value: Any) -> Any:
        # An export may write ids as JSON numbers; a fraction (1001.0) would not read back as the id.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("event_id", "ticket_id", "model_version", "predicted_category")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("final_category")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value is not None and value.strip() else None

    @field_validator("user_action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in USER_ACTIONS:
            raise ValueError(f"must be one of {', '.join(USER_ACTIONS)}")
        return value

    @field_validator("ts", mode="before")
    @classmethod
    def _aware_utc(cls, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError("is not an ISO 8601 date and time such as 2026-11-28T22:30:00Z") from None
        if not isinstance(value, datetime):
            raise ValueError("must be an ISO 8601 date and time such as 2026-11-28T22:30:00Z")
        if value.utcoffset() is None:
            raise ValueError("has no time zone: give an offset (2026-11-28T22:30:00-05:00) or Z for UTC")
        if value > datetime.now(UTC) + FUTURE_SKEW:
            raise ValueError("is more than a day in the future: check the sender's clock and the time zone offset")
        return value.astimezone(UTC)

    def _content(self) -> tuple:
        return (
            self.ticket_id,
            self.model_version,
            self.predicted_category,
            self.final_category,
            self.user_action,
            self.consent_flag,
            self.ts,
        )
