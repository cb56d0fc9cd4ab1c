"""What the feedback report measures, as typed results: rates with their intervals, each week's
drift against week 1, the two feedback gates, the quarantined events, and the summary the HTML
report, `report.json` and the post-mortem draft are all rendered from."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pipelines.lib.feedback.declaration import DriftBar, MisrouteBar
from pipelines.lib.quality.gate_results import GateStatus, gate_verdict


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


def _no_nan(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


#: a rate or p-value; NaN (no denominator, no test) is kept as None, written null: JSON has no NaN
Number = Annotated[float | None, BeforeValidator(_no_nan)]


def counted(n: int, noun: str) -> str:
    """`1 event`, `0 events`, `12,345 events`: a count and its noun, singular for one."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


class Proportion(_Result):
    """`count` of `of` as a rate with its Wilson 95% interval; the rate is None when `of` is 0."""

    count: int = Field(ge=0, description="Events counted (accepted, or misrouted).")
    of: int = Field(ge=0, description="The denominator (decided events, or events with a final category).")
    rate: Number = Field(description="count / of; None when of is 0.")
    low: Number = Field(description="Lower end of the Wilson 95% interval.")
    high: Number = Field(description="Upper end of the Wilson 95% interval.")

    def shown(self, percent: bool = False) -> str:
        """`0.82 [0.79, 0.85] (n=412)` (`82.0% [79.1%, 84.6%] ...` in percent), or `n/a (n=0)`."""
        if self.rate is None or self.low is None or self.high is None:
            return f"n/a (n={self.of})"
        form = ".1%" if percent else ".2f"
        return f"{self.rate:{form}} [{self.low:{form}}, {self.high:{form}}] (n={self.of:,})"


class Cell(_Result):
    """Rates of one cell of the metrics: a model version (`*` all) x a class (`*` all) x a segment
    value (`*` all)."""

    model_version: str = Field(default="*", description="The model version, `*` for all versions pooled.")
    predicted_category: str = Field(description="The predicted class, `*` for all.")
    segment: str = Field(description="The segment column, `*` for all.")
    value: str = Field(description="The segment value, `*` for all.")
    events: int = Field(ge=0, description="Events of the cell.")
    acceptance: Proportion = Field(description="accepted / (accepted + changed).")
    misroute: Proportion = Field(
        description="Final category present and not the predicted one / with a final category."
    )
    change_rate: Number = Field(description="changed / events.")
    ignore_rate: Number = Field(description="ignored / events.")
    judged: bool = Field(description="At least min_n decided events: large enough to judge.")

    @property
    def label(self) -> str:
        """`Billing, language=de`, `language=de`, `Billing` or `all events`."""
        parts = [self.predicted_category] if self.predicted_category != "*" else []
        parts += [f"{self.segment}={self.value}"] if self.segment != "*" else []
        return ", ".join(parts) or "all events"


class WeekRate(_Result):
    """A cell's acceptance in one pilot week."""

    week: int = Field(ge=1)
    acceptance: Proportion


class AcceptanceRow(_Result):
    """A class or segment value's acceptance over the report's range, and week by week."""

    cell: Cell
    weekly: list[WeekRate] = Field(description="Acceptance in each pilot week that has events.")


class ValueShare(_Result):
    """A value's share of events in week 1 and in a later week."""

    value: str
    before_n: int = Field(ge=0, description="Events of the value in week 1.")
    after_n: int = Field(ge=0, description="Events of the value in the later week.")
    before: float = Field(description="Share of week 1's events.")
    after: float = Field(description="Share of the later week's events.")


class MixDrift(_Result):
    """How the mix of one column's values (the predicted class, or a segment) moved from week 1."""

    column: str = Field(description="`predicted_category`, or a segment column.")
    before_events: int = Field(ge=0, description="Events of week 1.")
    after_events: int = Field(ge=0, description="Events of the later week.")
    js_distance: float = Field(description="Jensen-Shannon distance (base 2, 0..1) of the two mixes.")
    psi: float = Field(description="Population stability index, empty shares replaced as Evidently does.")
    chi2_p: Number = Field(description="Chi-square test of homogeneity p-value; None with a single value.")
    judged: bool = Field(description="Both weeks hold at least min_n events; else too small to judge, never drifted.")
    small_sample: bool = Field(
        description="A week holds 1,000 events or fewer: the chi-square p must also be below alpha to drift."
    )
    drifted: bool = Field(
        description="judged, js_distance >= max_js or psi >= max_psi, and with a small sample chi2_p < alpha."
    )
    moved: ValueShare | None = Field(description="The value whose share moved most.")
    shares: list[ValueShare] = Field(description="Every value's shares, week 1 and the later week.")


class AcceptanceDrift(_Result):
    """How acceptance of one segment value (or of all events) changed from week 1."""

    segment: str = Field(description="The segment column, `*` for all events.")
    value: str = Field(description="The segment value, `*` for all events.")
    before: Proportion = Field(description="Acceptance in week 1.")
    after: Proportion = Field(description="Acceptance in the later week.")
    change: Number = Field(description="after - before; None when either has no decided event.")
    p_value: Number = Field(description="Two-proportion z-test; None when it cannot be computed.")
    judged: bool = Field(description="Both weeks hold at least min_n decided events.")
    drifted: bool = Field(description="judged, p < alpha and |change| >= min_change.")

    @property
    def label(self) -> str:
        return "overall acceptance" if self.segment == "*" else f"acceptance of {self.segment}={self.value}"


class WeekDrift(_Result):
    """One pilot week against an earlier one: week 1 (drift), or the first week of a report's range
    that does not hold week 1 (the post-mortem's comparison)."""

    baseline: int = Field(default=1, ge=1, description="The week compared against: 1 unless said.")
    week: int = Field(ge=2)
    first_day: date
    last_day: date
    events: int = Field(ge=0)
    mixes: list[MixDrift] = Field(description="The predicted class mix, then each segment's mix.")
    acceptance: list[AcceptanceDrift] = Field(description="Overall, then each segment value.")

    @property
    def drifted(self) -> bool:
        return any(m.drifted for m in self.mixes) or any(a.drifted for a in self.acceptance)


class FeedbackGate(_Result):
    """One feedback gate (`max_misroute_rate`, `max_feedback_drift`) and its result in words."""

    name: str
    severity: str = Field(pattern="^(warn|error)$")
    passed: bool
    judged: bool = Field(
        description="Enough events to measure; a gate that could not be judged passes, and is shown as not judged."
    )
    message: str = Field(description="The result in words, naming the model version, segment and value.")
    measured: Annotated[float | int | None, BeforeValidator(_no_nan)] = Field(
        description="The worst misroute rate; or the number of drifts found."
    )
    threshold: float | int = Field(description="misroute.max; or 0 drifts allowed.")
    measured_text: str = Field(description="`measured` with its unit: `7.2%`, `3 drifts`; `n/a` when not judged.")
    threshold_text: str = Field(description="`threshold` with its unit: `at most 5%`, `0 allowed`.")

    @property
    def status(self) -> GateStatus:
        """passed, warned or failed (an `error` bar), as every other gate reads."""
        return gate_verdict(self.severity, self.passed)

    @property
    def shown_status(self) -> str:
        """How reports show the result: `not judged` for a gate that judged nothing, else pass,
        WARN or FAIL."""
        return self.status.label if self.judged else "not judged"

    @property
    def status_class(self) -> str:
        """The HTML class of the status: `unjudged` (grey), else passed, warned or failed."""
        return self.status.value if self.judged else "unjudged"


class DayVolume(_Result):
    """Events of one day of the range, by action; a day not ingested has none."""

    day: date
    ingested: bool = Field(description="The day's events were ingested: its partition file exists.")
    events: int = Field(ge=0)
    accepted: int = Field(ge=0)
    changed: int = Field(ge=0)
    ignored: int = Field(ge=0)

    @property
    def quiet(self) -> bool:
        """Ingested, and holding no event: a quiet day, not a gap."""
        return self.ingested and self.events == 0


class WeekVolume(_Result):
    """Events of one pilot week and its overall acceptance."""

    week: int = Field(ge=1)
    first_day: date
    last_day: date
    events: int = Field(ge=0)
    acceptance: Proportion


class ChangePair(_Result):
    """Suggestions of one class that agents changed to another."""

    predicted_category: str
    final_category: str
    changed: int = Field(ge=0)
    share: float = Field(description="Of the changes of the predicted class.")


class QuarantineCount(_Result):
    """Events of the range the ingestion quarantined for one reason (`ingest.REASONS`)."""

    reason: str
    events: int = Field(ge=0)


class MissingShare(_Result):
    """Events whose ticket has no value of a segment column in the dataset."""

    segment: str
    events: int = Field(ge=0)
    share: float


class FeedbackSummary(_Result):
    """Everything the pilot report shows, measured over the ingested days of one range."""

    dataset: str
    from_day: date
    to_day: date
    start: date = Field(description="The pilot's first day: week 1 starts here.")
    min_n: int = Field(description="Decided events a cell needs to be judged.")
    drift_bar: DriftBar = Field(description="The bars of max_feedback_drift.")
    misroute_bar: MisrouteBar = Field(description="The bar of max_misroute_rate.")
    days_ingested: int = Field(ge=0, description="Ingested days found in the range.")
    events: int = Field(ge=0)
    consented: int = Field(ge=0, description="Events with consent_flag set: only these can become labels.")
    model_versions: list[str]
    segments: list[str] = Field(description="The segment columns events are reported by.")
    overall: Cell = Field(description="All events of the range.")
    by_model: list[Cell] = Field(description="All events of each model version (`model_version` says which).")
    days: list[DayVolume]
    weeks: list[WeekVolume]
    acceptance: list[AcceptanceRow] = Field(
        description="Each predicted class, then each segment value, all model versions pooled."
    )
    acceptance_by_model: list[AcceptanceRow] = Field(
        description="With more than one model version: for each, all its events, each predicted class and each "
        "segment value (`cell.model_version` says which); empty with one."
    )
    lagging: list[Cell] = Field(
        description="Judged cells (class, segment value, or both; model versions pooled) whose interval lies below "
        "the overall rate."
    )
    label_more: list[Cell] = Field(
        description="The lagging classes and segment values, and the lagging class x segment cells that neither "
        "explains: what to label more of."
    )
    drift: list[WeekDrift] = Field(description="Each week after week 1, against week 1 (none without week 1).")
    comparison: WeekDrift | None = Field(
        description="What the post-mortem compares: the range's last week against week 1 when the range holds "
        "it, else against the range's first week; None with fewer than two weeks."
    )
    gates: list[FeedbackGate]
    changed_to: list[ChangePair] = Field(description="The most frequent changes, predicted -> final class.")
    missing: list[MissingShare] = Field(description="Per segment column: events without a value.")
    quarantined: list[QuarantineCount] = Field(
        description="Events of the range's days the ingestion quarantined, by reason, most first."
    )

    @property
    def quarantined_events(self) -> int:
        """Events quarantined over the range, every reason."""
        return sum(q.events for q in self.quarantined)


class FeedbackReportFiles(_Result):
    """Where `write_feedback_report` wrote the report, and what it measured."""

    html: Path
    json_file: Path
    postmortem: Path
    summary: FeedbackSummary
