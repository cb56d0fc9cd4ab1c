"""Gate results and the one rule that says what a result means: passed, failed (blocking),
waived or warned. The assets' checks, `trainset gates`, the HTML report, the card and
`trainset versions` all ask a result (or `gate_verdict`) instead of deciding for themselves."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from pipelines.lib.quality.waivers import Waiver


class GateStatus(StrEnum):
    """What a gate's result means for the release."""

    PASSED = "passed"
    FAILED = "failed"  # blocks the release
    WAIVED = "waived"  # failed, let through by a steward's active waiver
    WARNED = "warned"  # failed a `warn` bar: reported only

    @property
    def label(self) -> str:
        """How terminals and reports show it: pass, FAIL, WAIVED, WARN."""
        return _LABELS[self]

    @property
    def blocks(self) -> bool:
        """Only a failure nobody waived stops the release."""
        return self is GateStatus.FAILED


_LABELS = {GateStatus.PASSED: "pass", GateStatus.FAILED: "FAIL", GateStatus.WAIVED: "WAIVED", GateStatus.WARNED: "WARN"}


def gate_verdict(severity: str, passed: bool, waived: bool = False) -> GateStatus:
    """The one rule for gates and checks alike: passed; else waived (an active waiver); else
    failed at `error` severity (blocking); else warned."""
    if passed:
        return GateStatus.PASSED
    if waived:
        return GateStatus.WAIVED
    return GateStatus.FAILED if severity == "error" else GateStatus.WARNED


class Shortfall(BaseModel):
    """One segment below a gate's bar."""

    model_config = ConfigDict(frozen=True)

    segment: str | None = Field(default=None, description="The class, language or channel; None for the whole set.")
    text: str = Field(description="The shortfall in short: `Account: 812 < 1000`.")
    column: str | None = Field(
        default=None, description="The column `segment` is a value of: the label, the language or a segment column."
    )
    other_than: bool = Field(
        default=False, description="The shortfall is of examples whose `column` is anything but `segment`."
    )
    missing: int | None = Field(
        default=None,
        ge=0,
        description="Examples of the segment to add to close the shortfall, by the gate's own rule; None when "
        "adding examples cannot close it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data  # gate results written before segments

    def __str__(self) -> str:
        return self.text


Measure = Annotated[float | int | str, Field(description="A number, or words where nothing could be measured.")]


class GateResult(BaseModel):
    """One gate measured on the training set, its result in words, and any steward's waiver."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The gate's name under `gates:`.")
    severity: Literal["error", "warn"]
    passed: bool
    measured: Measure
    required: Measure
    explanation: str = Field(default="", description="The result in words, naming each shortfall.")
    failing: list[Shortfall] = Field(default_factory=list, description="Segments below the bar.")
    waiver: Waiver | None = Field(default=None, description="The active waiver that lets a failed gate through.")
    expired_waiver: Waiver | None = Field(default=None, description="An expired waiver, reported.")

    @computed_field(description="passed, failed (blocking), waived or warned.")  # type: ignore[prop-decorator]
    @property
    def status(self) -> GateStatus:
        """What this result means for the release, by `gate_verdict`."""
        return gate_verdict(self.severity, self.passed, self.waiver is not None)

    @computed_field(description="Whether this result stops the release.")  # type: ignore[prop-decorator]
    @property
    def blocking(self) -> bool:
        """True when this result stops the release (status failed)."""
        return self.status.blocks

    @property
    def enforced(self) -> bool:
        """Whether a failure of this gate blocks (an `error` bar nobody waived): Dagster's check severity."""
        return gate_verdict(self.severity, passed=False, waived=self.waiver is not None).blocks

    def message(self) -> str:
        """One line for a check description or a terminal: verdict, measured, required, explanation, waiver."""
        verdict = "passed" if self.passed else f"FAILED ({self.severity})"
        text = f"gate {self.name} {verdict}: measured {self.measured}, required {self.required}"
        text += f"; {self.explanation}" if self.explanation else ""
        if self.status is GateStatus.WAIVED and self.waiver:
            w = self.waiver
            text += f" — WAIVED by {w.approver} until {w.expires}: {w.reason}"
        elif not self.passed and self.expired_waiver:
            text += f" — waiver by {self.expired_waiver.approver} expired on {self.expired_waiver.expires}"
        return text
