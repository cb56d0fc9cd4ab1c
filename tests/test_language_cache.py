"""Detected languages kept between runs give what detecting every text again gives."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.ingest.language import detect_languages
from pipelines.lib.quality.language_cache import cache_file, detect_languages_cached
from pipelines.synthetic.generate import GeneratorConfig, generate


def _texts(rows: int, seed: int) -> pd.Series:
    tickets = generate(GeneratorConfig(rows=rows, seed=seed)).tickets
    return tickets["subject"] + ". " + tickets["body"]


def test_cached_detection_equals_detection_run_by_run(tmp_path):
    candidates = ["en", "es", "de", "fr", "pt"]
    first = pd.concat([_texts(600, 3), pd.Series(["", "12345", None])], ignore_index=True)
    second = pd.concat([first.iloc[200:], _texts(300, 4)], ignore_index=True).set_axis(range(10, 10 + 703))
    for texts in (first, second, second):  # empty cache, then a partial one, then a full one
        cached = detect_languages_cached(texts, candidates, tmp_path)
        pd.testing.assert_series_equal(cached, detect_languages(texts, candidates))
    # Only the texts of the latest call stay, and no text is stored.
    stored = pq.read_table(cache_file(tmp_path, candidates))
    assert stored.column_names == ["h1", "h2", "detected"] and stored.num_rows == second.fillna("").nunique()


def test_another_candidate_set_does_not_read_the_cache(tmp_path):
    assert cache_file(tmp_path, ["en"]) != cache_file(tmp_path, ["en", "ca"])
    texts = pd.Series(["Mijn kaart is twee keer belast voor hetzelfde abonnement.", "My card was charged twice."])
    detect_languages_cached(texts, ["en"], tmp_path)
    assert (
        detect_languages_cached(texts, ["en", "ca"], tmp_path).tolist()
        == detect_languages(texts, ["en", "ca"]).tolist()
    )
    assert [p.name for p in tmp_path.iterdir()] == [cache_file(tmp_path, ["en", "ca"]).name]
