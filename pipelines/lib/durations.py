"""ISO-8601 calendar durations (P12M, P3M, P30D) counted back from an as-of date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated

from dateutil.relativedelta import relativedelta
from pydantic import AfterValidator

_DURATION = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")


def parse_duration(text: str) -> relativedelta:
    """Parse a date-only ISO-8601 duration such as `P12M` or `P30D` into a calendar offset."""
    match = _DURATION.match(text)
    if not match or text == "P":
        raise ValueError(f"{text!r} is not an ISO-8601 date duration; write it like P12M (12 months), P3M or P30D")
    parts = {key: int(value) for key, value in match.groupdict().items() if value}
    return relativedelta(**parts)


def _valid_duration(value: str) -> str:
    parse_duration(value)
    return value


#: An ISO-8601 date duration such as P12M, P3M or P30D, checked where a model is validated.
IsoDuration = Annotated[str, AfterValidator(_valid_duration)]


def cutoff(as_of: date, duration: str) -> datetime:
    """The UTC instant `duration` before the start of the day after `as_of` (inclusive windows)."""
    end_of_day = datetime.combine(as_of, time.min, tzinfo=UTC) + relativedelta(days=1)
    return end_of_day - parse_duration(duration)
