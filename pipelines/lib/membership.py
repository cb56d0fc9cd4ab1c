"""Set membership of text columns in one Arrow pass.

pandas 3's `Series.isin` on a `str` column turns every element of the value set into an Arrow
scalar in Python before it hashes anything: testing a column against another column of a few
hundred thousand ids takes seconds. `is_in` gives the same answer from Arrow's hash kernel.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def is_in(values: pd.Series, value_set: pd.Series | pd.Index | Iterable) -> pd.Series:
    """`values.isin(value_set)`: a boolean Series aligned with `values` (a missing value is in the
    set when the set holds one, as pandas says). For a `str` column and a set of text it runs in
    Arrow; for anything else it is pandas' own `isin`."""
    candidates = value_set if isinstance(value_set, pd.Series | pd.Index) else pd.Series(list(value_set), dtype=object)
    if not (isinstance(values.dtype, pd.StringDtype) and _is_text(candidates)):
        return values.isin(value_set)
    array = pa.array(values)
    wanted = pa.array(candidates.astype("str")).cast(array.type)
    found = pc.is_in(array, value_set=pc.unique(wanted), skip_nulls=False)
    return pd.Series(np.asarray(found, dtype=bool), index=values.index, name=values.name)


def _is_text(candidates: pd.Series | pd.Index) -> bool:
    """Every present value is text (pandas leaves non-text values of a set out of a `str` column's test)."""
    if isinstance(candidates.dtype, pd.StringDtype):
        return True
    present = candidates.dropna()
    return bool(pd.api.types.infer_dtype(present, skipna=True) in ("string", "empty"))
