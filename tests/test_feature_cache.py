"""Text features kept between runs give, bit for bit, what vectorising every text again gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.labeling import text_model
from pipelines.lib.labeling.label_issues import cross_validated_sample, find_label_issues
from pipelines.lib.quality import feature_cache
from pipelines.lib.quality.feature_cache import FeatureCache, cache_file
from pipelines.synthetic.generate import GeneratorConfig, generate

CLASSES = ["Billing", "Technical", "Account", "Other"]


def _distinct(rows: int, seed: int) -> pd.Index:
    tickets = generate(GeneratorConfig(rows=rows, seed=seed)).tickets
    return pd.Index((tickets["subject"] + " | " + tickets["body"]).unique())


def assert_same_rows(got, expected) -> None:
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)  # bit for bit, not close


def test_features_from_the_cache_equal_features_vectorised_again(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_cache, "WRITTEN_AT_ONCE", 97)  # the file in several parts
    first, second = _distinct(500, 3), _distinct(500, 4)
    tricky = pd.Index(["", "a", "word " * 70_000, "İSTANBUL ΣΑΣ naïve", "x y x y x y"])
    cold = FeatureCache(tmp_path)
    assert_same_rows(cold(first.append(tricky)), text_model._features(first.append(tricky)))
    cold.write()
    # a later run: most texts known, some new, in another order
    later = second[:200].append(first[::-1]).append(tricky)
    warm = FeatureCache(tmp_path)
    assert_same_rows(warm(later), text_model._features(later))
    warm.write()
    kept = pq.read_table(cache_file(tmp_path))
    # each text once; a count above what the cache keeps (a word 70,000 times) is vectorised each run
    assert len(kept) == later.nunique() - 1
    assert_same_rows(FeatureCache(tmp_path)(later), text_model._features(later))


def test_the_cache_keeps_only_the_texts_asked_for(tmp_path):
    texts = _distinct(300, 5)
    cache = FeatureCache(tmp_path)
    cache(texts[:100])
    cache(texts[50:150])  # asked twice: kept once
    (tmp_path / "features-0000000000000000.parquet").write_bytes(b"another vectoriser's")
    cache.write()
    assert [p.name for p in tmp_path.iterdir()] == [cache_file(tmp_path).name]
    assert len(pq.read_table(cache_file(tmp_path))) == 150
    unused = FeatureCache(tmp_path)
    unused.write()  # a run that vectorised nothing keeps nothing
    assert not cache_file(tmp_path).exists()


def test_label_issues_with_the_cache_equal_those_without(tmp_path):
    tickets = generate(GeneratorConfig(rows=3000, seed=9)).tickets
    ids, labels = tickets["ticket_id"].astype("str"), tickets["category"].astype("str")
    texts = tickets["subject"] + " | " + tickets["body"]
    labels.iloc[::20] = labels.iloc[::20].map({"Billing": "Technical"}).fillna("Billing")  # some wrong labels
    sample = cross_validated_sample(ids, labels, 1000)
    plain = text_model.out_of_sample_proba(texts, labels, CLASSES, seed=13, sample=sample)
    for _ in range(2):  # cold, then warm
        cache = FeatureCache(tmp_path)
        cached = text_model.out_of_sample_proba(texts, labels, CLASSES, seed=13, sample=sample, features=cache)
        cache.write()
        pd.testing.assert_frame_equal(cached, plain, check_exact=True)
    issues = find_label_issues(ids, texts, labels, CLASSES, seed=13, max_cross_validated=1000)
    again = find_label_issues(
        ids, texts, labels, CLASSES, seed=13, max_cross_validated=1000, features=FeatureCache(tmp_path)
    )
    assert len(issues) and issues.equals(again)
