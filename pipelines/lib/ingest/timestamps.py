"""Landed timestamps as UTC instants, and the instant after which one is in the future.

Exports write time every way: with an offset (`-05:00`, `+0100`), with `Z`, with fractional
seconds, or naive (the exporting system's local time, which the source declares as `timezone:`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

UTC_DTYPE = "datetime64[us, UTC]"
# A time of day followed by `Z` or an offset (`+01`, `+0100`, `+01:00`): the value names its own
# zone. A date alone (`2026-11-20`) ends in digits after a dash, so the time is required.
ZONED = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def parse_timestamps(values: pd.Series, zone: str = "UTC") -> pd.Series:
    """ISO-8601 text (str, any index) as UTC instants (`datetime64[us, UTC]`, same index); a value
    that is not a timestamp is NaT. A value with `Z` or an offset is that instant; a naive one is
    wall-clock time in `zone` (an IANA name): in a DST fold it is the earlier instant, in a DST
    gap it is moved forward to the first valid time."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601").astype(UTC_DTYPE)
    if zone == "UTC" or not len(values):
        return parsed
    naive = ~values.str.contains(ZONED, regex=True).fillna(True).to_numpy(dtype=bool)
    if not naive.any():
        return parsed
    # Parsed as UTC above, so the wall-clock time is that instant with its zone removed.
    wall = parsed[naive].dt.tz_localize(None)
    local = wall.dt.tz_localize(zone, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward")
    parsed[naive] = local.dt.tz_convert("UTC").astype(UTC_DTYPE)
    return parsed


def future_after(as_of: date) -> pd.Timestamp:
    """The end of the run's as-of day (UTC): a timestamp at or after it is `future_timestamp`.

    The as-of day ends last at UTC-12, 12:00 UTC the next day: until then it is still the as-of day
    somewhere, so a ticket written at 22:30-05:00 on that day (03:30 UTC the next) is not future."""
    return pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1, hours=12)
