"""Vectorised check digits agree with python-stdnum on random and real-shaped values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import luhn

from pipelines.lib.privacy.checksums import iban_valid, luhn_valid
from pipelines.synthetic import pii_values

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=19)


@given(st.lists(DIGITS | st.text(alphabet="0123456789a -", max_size=19), min_size=1, max_size=50))
def test_luhn_agrees_with_stdnum(values):
    expected = [v.isdigit() and v.isascii() and luhn.is_valid(v) for v in values]
    assert luhn_valid(pa.array(values)).tolist() == expected


def _mod97(value: str) -> bool:
    try:
        return stdnum_iban.mod_97_10.is_valid(value[4:] + value[:4])
    except Exception:  # noqa: BLE001 - stdnum refuses some characters: not valid either
        return False


@given(st.lists(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZa", min_size=0, max_size=34), max_size=50))
def test_iban_check_agrees_with_stdnum_on_random_strings(values):
    expected = [len(v) >= 5 and v.isalnum() and v.isascii() and v == v.upper() and _mod97(v) for v in values]
    assert iban_valid(pa.array(values, type=pa.string())).tolist() == expected


def test_real_shaped_values_pass_and_one_changed_digit_fails():
    rng = np.random.default_rng(3)
    cards = [pii_values.card_number(rng).replace(" ", "").replace("-", "") for _ in range(500)]
    ibans = [pii_values.iban(rng).replace(" ", "") for _ in range(500)]
    assert luhn_valid(pa.array(cards)).all() and iban_valid(pa.array(ibans)).all()
    bumped = [v[:-1] + str((int(v[-1]) + 1) % 10) for v in cards]
    assert not luhn_valid(pa.array(bumped)).any()
    bumped = [v[:6] + str((int(v[6]) + 1) % 10) + v[7:] if v[6].isdigit() else v[:6] + "Q" + v[7:] for v in ibans]
    assert iban_valid(pa.array(bumped)).tolist() == [_mod97(v) for v in bumped]
