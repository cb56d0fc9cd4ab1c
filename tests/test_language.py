"""Language as measured, not as claimed."""

from __future__ import annotations

import pandas as pd
import pytest
from faker import Faker

from pipelines.lib.ingest.language import BACKGROUND, UnknownLanguageError, _detector, detect_languages, digits_folded
from pipelines.synthetic.field_cases import load_field_cases
from pipelines.synthetic.generate import GeneratorConfig, generate


def test_detects_the_language_of_short_tickets():
    texts = pd.Series(
        [
            "My card was charged twice for the same subscription.",
            "Meine Karte wurde für dasselbe Abo zweimal belastet.",
            "Me cobraron dos veces la misma suscripción.",
            "Ma carte a été débitée deux fois pour le même abonnement.",
            "",
        ]
    )
    detected = detect_languages(texts, ["en", "de", "es", "fr"])
    assert detected.tolist()[:4] == ["en", "de", "es", "fr"] and pd.isna(detected.iloc[4])


def test_finds_the_wrong_labels_the_export_carries():
    tickets = generate(GeneratorConfig(rows=3000, seed=8, language_label_noise=0.1)).tickets
    detected = detect_languages(tickets["subject"] + ". " + tickets["body"], list(tickets["language"].unique()))
    mismatch = (detected != tickets["language"]).mean()
    assert 0.05 < mismatch < 0.12  # 10% relabelled, one in six by chance to the right language


def test_an_unknown_code_is_named():
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        detect_languages(pd.Series(["hello there", "hola"]), ["en", "xx"])


def test_a_language_nobody_declared_is_reported_as_itself():
    """A dataset declaring one language still sees a ticket written in another: the mismatch gate
    works on a one-language dataset."""
    texts = pd.Series(
        [
            "My card was charged twice for the same subscription.",
            "Meine Karte wurde für dasselbe Abo zweimal belastet, bitte erstatten Sie den Betrag.",
            "Mijn kaart is twee keer belast voor hetzelfde abonnement.",
        ]
    )
    assert detect_languages(texts, ["en"]).tolist() == ["en", "de", "nl"]


def faker_texts_with_numbers(seed: int = 11) -> list[str]:
    """Text this project did not write, full of digits: Faker's sentences, addresses and phone
    numbers in the locales of the background languages, glued with order numbers and dates."""
    texts = []
    for locale in FAKER_LOCALES:
        faker = Faker(locale)
        faker.seed_instance(seed)
        for _ in range(15):
            texts += [
                faker.text(max_nb_chars=160),
                f"{faker.address()} {faker.phone_number()}",
                f"{faker.sentence()} #{faker.random_int(1, 10**9)} {faker.date()} v{faker.numerify('#.##.###')}",
                f"{faker.random_int(0, 999)}{faker.word()}{faker.random_int(0, 99)} {faker.sentence()}",
            ]
    return texts


FAKER_LOCALES = [
    "en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "pl_PL", "cs_CZ", "tr_TR", "ru_RU",
    "uk_UA", "el_GR", "ar_AA", "hi_IN", "ja_JP", "zh_CN", "ko_KR", "da_DK", "fi_FI", "hu_HU", "ro_RO",
    "sv_SE", "no_NO",
]  # fmt: skip
DIGIT_CASES = [
    "123 hola amigo", "hola123amigo 4", "42", "  7 bonjour ", "E419777 error", "0", "",
    "version 2.808363.4 ist kaputt", "x²y ½ abc 3", "رقم الطلب ١٢٣٤٥ و 678", "注文 12345 番", "007",
    "Bestellung 4711-0815 vom 14.03.2026, Betrag 12,50 €",
]  # fmt: skip


def as_written(texts: pd.Series, candidates: list[str]) -> list[str | None]:
    """lingua's language of every text exactly as written (no folding, no deduplication)."""
    known = tuple(sorted({*candidates, *BACKGROUND}))
    found = _detector(known).detect_languages_in_parallel_of(texts.fillna("").tolist())
    return [language.iso_code_639_1.name.lower() if language else None for language in found]


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(lambda: faker_texts_with_numbers(), id="faker-locales"),
        pytest.param(lambda: [case.text for case in load_field_cases()], id="field-cases"),
        pytest.param(lambda: DIGIT_CASES, id="digits"),
        pytest.param(
            lambda: (lambda t: (t["subject"] + ". " + t["body"]).tolist())(
                generate(GeneratorConfig(rows=4000, seed=5)).tickets
            ),
            id="generated-tickets",
        ),
    ],
)
def test_texts_differing_only_in_digits_get_the_language_of_each_text_as_written(texts):
    """Detection folds digit runs to detect fewer texts: the detector reads no digit, so every text
    gets the language lingua gives it as written."""
    series = pd.Series(texts(), dtype="str")
    assert digits_folded(series).nunique() <= series.nunique()
    detected = detect_languages(series, ["en", "es", "de", "fr", "pt"])
    expected = as_written(series, ["en", "es", "de", "fr", "pt"])
    assert [None if pd.isna(v) else v for v in detected] == expected


def test_folding_keeps_the_index_and_touches_only_ascii_digits():
    texts = pd.Series(["a1b22c333", "١٢٣ 45", None], index=[7, 3, 9], dtype="str")
    folded = digits_folded(texts)
    assert folded.index.tolist() == [7, 3, 9]
    assert folded.tolist()[:2] == ["a0b0c0", "١٢٣ 0"] and pd.isna(folded.iloc[2])
