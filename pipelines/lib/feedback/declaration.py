"""The `feedback:` block of a dataset spec: where prediction outcomes are logged, the segments
they are reported by, the pilot's first day, the bars, and how feedback becomes labels.

An event is one row of the seed's example 5 table, `triage_feedback(event_id, ticket_id,
model_version, predicted_category, final_category, user_action, consent_flag, ts)`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: the user actions an event may record (the seed's example 5): the suggestion taken, replaced by
#: another category, or neither (the agent routed the ticket without looking at it)
USER_ACTIONS = ("accepted", "changed", "ignored")
#: the seed's table name, and the store of the demo (a SQLite file in the workspace)
DEFAULT_TABLE = "triage_feedback"


def default_store_url(dataset: str) -> str:
    """The embedded default: a SQLite file under the workspace's data folder (relative: resolved
    against the workspace root)."""
    return f"sqlite:///data/feedback/{dataset}/events.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackStoreSpec(_Strict):
    """Where events are logged: a PostgreSQL table, or a SQLite file (the embedded default)."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL: postgresql://user@host/db, or sqlite:///relative/path.db (relative to the "
        "workspace). Default: sqlite:///data/feedback/<dataset>/events.db.",
    )
    url_env: str | None = Field(
        default=None,
        description="Environment variable holding the URL (wins over `url` when set): keeps a password out of git.",
    )
    table: str = Field(default=DEFAULT_TABLE, pattern=r"^[a-z_][a-z0-9_]*$", description="The events table.")

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("postgres", "sqlite")):
            raise ValueError(f"store.url: {url.split(':', 1)[0]!r} is not supported; use postgresql:// or sqlite:///")
        return url

    def resolved_url(self, root: Path, dataset: str) -> str:
        """The URL to connect to: `$url_env`, else `url`, else the embedded default, a relative
        SQLite path made absolute under `root`. Raises ValueError when `url_env` is declared and
        unset."""
        if self.url_env and not os.environ.get(self.url_env):
            # Falling back to `url` would log events into another store than the one declared.
            raise ValueError(
                f"{dataset}: feedback.store.url_env names ${self.url_env}, which is not set: export it (the event "
                "store's database URL), or remove url_env from the spec"
            )
        url = (os.environ.get(self.url_env) if self.url_env else None) or self.url or default_store_url(dataset)
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix) :].startswith("/") and url != "sqlite:///:memory:":
            url = prefix + str((root / url[len(prefix) :]).resolve())
        return url


class DriftBar(_Strict):
    """Week-against-week-1 drift bars. Defaults are Evidently's for a categorical column: Jensen-Shannon
    distance 0.1 (its default test above 1,000 rows), PSI 0.1, and p < 0.05 for the chi-square and
    two-proportion tests."""

    max_js: float = Field(default=0.1, gt=0, le=1, description="Jensen-Shannon distance (base 2) of a mix.")
    max_psi: float = Field(default=0.1, gt=0, description="Population stability index of a mix.")
    alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Significance of the acceptance-change test, and of the chi-square test a mix of 1,000 events "
        "or fewer must also pass to count as drift.",
    )
    min_change: float = Field(
        default=0.05, ge=0, le=1, description="Smallest acceptance change (absolute) that counts as drift."
    )
    severity: str = Field(default="warn", pattern="^(warn|error)$", description="warn or error.")


class MisrouteBar(_Strict):
    """The seed's product target: misroutes under 5%."""

    max: float = Field(default=0.05, ge=0, le=1, description="Highest misroute rate a model version may have.")
    severity: str = Field(default="warn", pattern="^(warn|error)$", description="warn or error.")


class FeedbackLabelsSpec(_Strict):
    """How consented events become labels of the dataset."""

    changed: bool = Field(
        default=True, description="A consented `changed` event labels its ticket with the final category."
    )
    accepted: bool = Field(
        default=True, description="A consented `accepted` event gives its ticket a weak label (the category kept)."
    )
    train_accepted: bool = Field(
        default=False,
        description="Whether rows whose only label is an accepted suggestion enter the training set (marked weak).",
    )
    audit_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of feedback labels sent, at random, to the labeling plan: annotators label them blind, "
        "which measures the bias of feedback labels.",
    )


class FeedbackSpec(_Strict):
    """Prediction outcomes: where they are logged, what they are reported by, and their bars."""

    store: FeedbackStoreSpec = Field(default_factory=FeedbackStoreSpec, description="Where events are logged.")
    start: date = Field(description="First day of the pilot: the first daily partition, and the first day of week 1.")
    segments: list[str] | None = Field(
        default=None,
        description="Columns of the dataset to report by (looked up by ticket); default: its language and segments.",
    )
    min_n: int = Field(
        default=30,
        ge=1,
        description="Decided events (accepted + changed) a cell needs to be judged; below it, "
        "its rate is shown but marked too small to judge.",
    )
    misroute: MisrouteBar = Field(default_factory=MisrouteBar, description="The max_misroute_rate gate.")
    drift: DriftBar = Field(default_factory=DriftBar, description="The max_feedback_drift gate.")
    labels: FeedbackLabelsSpec = Field(default_factory=FeedbackLabelsSpec, description="Feedback -> labels.")

    @model_validator(mode="after")
    def _segments_named(self) -> FeedbackSpec:
        if self.segments is not None and len(set(self.segments)) != len(self.segments):
            raise ValueError(f"feedback.segments {self.segments}: a column is named twice")
        return self
