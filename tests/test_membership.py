"""`is_in` answers as pandas' `isin` does."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.lib.membership import is_in

VALUES = pd.Series(["a", None, "b", "c", "a", ""], dtype="str", index=[5, 3, 1, 0, 2, 9], name="id")


@pytest.mark.parametrize(
    "value_set",
    [
        pd.Series(["a", "x"], dtype="str"),
        pd.Series(["a", None], dtype="str"),
        pd.Series([], dtype="str"),
        pd.Index(["c", ""]),
        ["b", "zz"],
        {"a", "c"},
        pd.Series(["a", "b"], dtype=object),
        pd.Series([1, 2]),  # not text: pandas' own answer
    ],
)
def test_is_in_equals_pandas_isin(value_set):
    pd.testing.assert_series_equal(is_in(VALUES, value_set), VALUES.isin(value_set))


def test_is_in_of_a_column_that_is_not_text_is_pandas_isin():
    numbers = pd.Series([1, 2, 3])
    pd.testing.assert_series_equal(is_in(numbers, [2]), numbers.isin([2]))
