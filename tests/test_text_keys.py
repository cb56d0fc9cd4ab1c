"""The duplicate and near-duplicate keys computed in RE2 are the keys Python's `re` computed.

A key that changed would move a text to another split between two versions, so the RE2 keys are
compared with the former row-by-row ones (kept here as the reference) on text this project did
not write: Faker in many locales and scripts, whitespace and digits of every kind, every code
point Python's Unicode database assigns.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from faker import Faker

from pipelines.lib.quality.splits import (
    DIGIT,
    OTHER_SPACE,
    SPACE,
    WORD,
    assign_splits,
    fold_numbers,
    joined_text,
    normalised_text,
)
from pipelines.lib.spec import SplitSpec

LOCALES = [
    "en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "pl_PL", "cs_CZ", "tr_TR", "ru_RU",
    "uk_UA", "el_GR", "ar_AA", "fa_IR", "he_IL", "hi_IN", "bn_BD", "th_TH", "ja_JP", "zh_CN", "zh_TW",
    "ko_KR", "vi_VN", "hy_AM", "ka_GE", "az_AZ",
]  # fmt: skip
TRICKY = [
    "",
    " ",
    "\u00a0price\u00a0\u00a012\u00a0€\u00a0",  # no-break spaces
    "line\u2028separated\u2029paragraph",
    "全角\u3000スペース\u3000１２３",  # ideographic space, full-width digits
    "fields\x1cgroups\x1drecords\x1eunits\x1fend",
    "next\x85line\x0bvertical\x0cfeed\r\n",
    "\u200bzero\u200dwidth\ufeffjoiners\u2060",  # not whitespace for Python either
    "رقم الطلب ١٢٣٤٥ و ۶۷۸۹",  # Arabic-Indic and extended Arabic-Indic digits
    "ऑर्डर संख्या १२३४, कृपया मदद करें!",  # Devanagari digits, vowel signs (combining marks)
    "Cafe\u0301 re\u0301sume\u0301 — naïve; co-operate…",  # combining acute accents
    "Ⅻ ½ ² ⑤ 〇 ٫",  # numbers that are not decimal digits
    "İSTANBUL ǅ ß ẞ ΣΑΣ",  # case mappings that change length
    "emoji 👍🏽 family 👨‍👩‍👧 flag 🇩🇪 #1 ★",
    "<EMAIL> wrote <PHONE>: order #A-12/34.5, 2026-03-14 @ 10:32",
    "tabs\t\tand   spaces \t\n mixed\u2003\u2009\u202f\u205f\u1680",
    "snake_case __dunder__ x_1",
]


def old_normalised_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The key as pandas computed it with Python's `re` (the reference)."""
    return joined_text(frame, columns).str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


def old_fold_numbers(key: pd.Series) -> pd.Series:
    """The near-duplicate key as pandas computed it with Python's `re` (the reference)."""
    folded = key.str.replace(r"\d+", "0", regex=True)
    return folded.str.replace(r"[^\w\s<>]", "", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()


def faker_texts(seed: int = 7) -> list[str]:
    texts = []
    for locale in LOCALES:
        faker = Faker(locale)
        faker.seed_instance(seed)
        for _ in range(20):
            texts += [faker.text(max_nb_chars=160), faker.address(), f"{faker.name()} {faker.phone_number()}"]
    return texts


def assert_same_keys(frame: pd.DataFrame, columns: list[str]) -> None:
    new, old = normalised_text(frame, columns), old_normalised_text(frame, columns)
    pd.testing.assert_series_equal(new, old)
    pd.testing.assert_series_equal(fold_numbers(new), old_fold_numbers(old))


def test_keys_equal_pythons_on_faker_text_in_many_locales():
    texts = faker_texts()
    rng = np.random.default_rng(3)
    glued = [a + rng.choice(TRICKY[1:]) + b for a, b in zip(texts, rng.permutation(texts), strict=True)]
    frame = pd.DataFrame({"subject": pd.Series(texts, dtype="str"), "body": pd.Series(glued, dtype="str")})
    assert_same_keys(frame, ["subject", "body"])


def test_keys_equal_pythons_on_tricky_whitespace_digits_marks_and_missing_text():
    body = pd.Series([*TRICKY, None, np.nan], dtype="str", index=range(100, 100 + len(TRICKY) + 2))
    frame = pd.DataFrame({"subject": pd.Series(["Subject"] * len(body), dtype="str", index=body.index), "body": body})
    assert_same_keys(frame, ["subject", "body"])
    assert_same_keys(frame, ["body"])
    # a column that is not text yet (pandas' default string storage, object) is keyed the same
    assert_same_keys(frame.assign(body=frame["body"].astype(object)), ["body"])
    assert normalised_text(frame, ["body"]).index.equals(body.index)


def test_keys_equal_pythons_on_every_assigned_code_point():
    points = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    texts = [f" A{c}{c}b 1{c}2 {c} " for c in points]
    assert_same_keys(pd.DataFrame({"text": pd.Series(texts, dtype="str")}), ["text"])


@pytest.mark.parametrize(
    ("python", "re2"),
    [(r"\s", f"[{SPACE}]"), (r"[^\S ]", f"[{OTHER_SPACE}]"), (r"\d", f"[{DIGIT}]"), (r"\w", f"[{WORD}]")],
)
def test_classes_match_pythons_on_every_assigned_code_point(python, re2):
    points = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    pattern = re.compile(python)
    expected = np.array([pattern.fullmatch(c) is not None for c in points])
    found = pc.match_substring_regex(pa.array(points), f"^{re2}$").to_numpy(zero_copy_only=False)
    assert (found == expected).all(), [hex(ord(c)) for c in np.array(points)[found != expected][:10]]


def test_splits_are_those_of_the_python_keys():
    texts = faker_texts(seed=11)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "body": pd.Series(texts, dtype="str").str.upper().where(rng.random(len(texts)) < 0.5, texts),
            "category": rng.choice(["Billing", "Technical"], len(texts)),
        }
    )
    split = assign_splits(frame, ["body"], SplitSpec(), ["category"])
    assert split.value_counts().to_dict().keys() == {"train", "validation", "test"}
    key = old_normalised_text(frame, ["body"])
    assert split.equals(assign_splits(frame, ["body"], SplitSpec(), ["category"], key=key))
    # the same texts in another case share a key, hence a split
    assert (split.groupby(key.to_numpy()).nunique() == 1).all()
