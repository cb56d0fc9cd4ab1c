"""Language as measured, not as claimed."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.lib.ingest.language import UnknownLanguageError, detect_languages
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
