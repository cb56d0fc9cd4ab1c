"""The Faker evaluation set: deterministic, every kind covered, gold spans on the values, stated rules."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from stdnum import iban, luhn

from pipelines.synthetic import faker_values
from pipelines.synthetic.faker_pii import SEED, build_faker_set
from pipelines.synthetic.faker_values import phone_status, region_of
from pipelines.synthetic.lookalikes import status_id


@pytest.fixture(scope="module")
def values():
    return faker_values.draw_values(SEED, 1)


@pytest.fixture(scope="module")
def texts():
    return build_faker_set(SEED, 1)


def test_the_set_is_the_same_for_the_same_seed_and_differs_for_another(texts):
    assert build_faker_set(SEED, 1) == texts
    assert build_faker_set(SEED + 1, 1) != texts


def test_gold_spans_point_at_every_drawn_value_once(texts, values):
    placed = Counter((t.text[g.start : g.end], g.pii_type, g.kind, g.counted) for t in texts for g in t.gold)
    assert placed == Counter((v.value, v.pii_type, v.kind, v.counted) for v in values)
    for text in texts:
        assert all(keep in text.text for keep in text.keep)
        spans = sorted((g.start, g.end) for g in text.gold)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "gold spans overlap"


def test_every_phone_locale_card_type_email_locale_and_form_is_covered(values):
    kinds = {v.kind for v in values}
    for locale in faker_values.phone_locales():
        assert any(k.startswith(f"phone {locale}") for k in kinds), locale
    assert len(faker_values.phone_locales()) >= 70  # Faker 40.63: 72 locales with a phone provider of their own
    for card_type in faker_values.card_types():
        assert {f"credit_card {card_type} {g}" for g in faker_values.CARD_GROUPINGS} <= kinds
    for locale in faker_values.email_locales():
        assert {f"email {locale} {m}" for m in faker_values.EMAIL_METHODS} <= kinds
    assert "email uk_UA unicode" in kinds and any(not v.value.isascii() for v in values if v.pii_type == "email")
    countries = {k.split()[1] for k in kinds if k.startswith("iban ")}
    assert len(countries) >= 20
    for country in countries:
        assert {f"iban {country} {form}" for form in faker_values.IBAN_FORMS} <= kinds
    assert {"ip_address ipv4 public", "ip_address ipv4 private", "ip_address ipv6"} <= kinds
    assert {"us_ssn dashes", "us_ssn spaces"} <= kinds


@pytest.mark.parametrize(
    ("value", "region", "status"),
    [
        ("1439", "JO", None),  # a short code: not a phone number in any sense
        ("100", "PS", None),
        ("+7 (914) 177-76-31", "RU", "valid"),
        ("+49 (0) 9141 777631", "DE", "valid"),  # the (0) trunk marker is not read as a digit
        ("০১৭০৬-৬৯০৭৪৩", "BD", "valid"),  # Bengali digits
        ("291 417 7763", "CA", "unassigned"),  # possible, but area code 291 is not assigned
    ],
)
def test_phone_rule(value, region, status):
    assert phone_status(value, region) == status


def test_phones_are_judged_in_their_locales_region_and_counted_only_when_valid(texts, values):
    for value in (v for v in values if v.pii_type == "phone"):
        locale = value.kind.split()[1]
        assert value.region == region_of(locale)
        status = phone_status(value.value, value.region)
        assert status is not None and value.counted == (status == "valid")
    for text in texts:
        kinds = [g.kind for g in text.gold if g.pii_type == "phone"]
        assert len(kinds) <= 1  # one market per text
        if kinds:
            assert text.region == region_of(kinds[0].split()[1])


def test_only_ibans_python_stdnum_accepts_are_kept(values):
    for value in (v for v in values if v.pii_type == "iban"):
        assert iban.is_valid(value.value.replace(" ", "").upper()), value
    countries = {v.kind.split()[1] for v in values if v.pii_type == "iban"}
    assert not countries & {"BD", "PH", "AR", "CO", "TH", "IR"}  # Faker writes IBAN shapes for them; they have none


def test_status_ids_are_never_luhn_valid():
    rng = random.Random(7)
    assert not any(luhn.is_valid(status_id(rng)) for _ in range(2000))
