"""Stratified splits and the aggregate gates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from conftest import small_spec

from pipelines.lib.quality.gates import evaluate_gates, label_agreement
from pipelines.lib.quality.splits import assign_splits, fold_numbers, normalised_text
from pipelines.lib.spec import SplitSpec

AS_OF = date(2026, 10, 31)
STRATA = ["category", "language"]


def tickets(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i:06d}" for i in range(n)],
            "subject": ["Question"] * n,
            "body": [f"text {i}" for i in range(n)],
            "category": rng.choice(["Billing", "Technical", "Account", "Other"], n),
            "language": rng.choice(["en", "de", "es", "fr", "pt"], n, p=[0.5, 0.2, 0.1, 0.1, 0.1]),
            "channel": rng.choice(["email", "chat", "web"], n),
            "created_at": pd.Timestamp("2026-10-31", tz="UTC") - pd.to_timedelta(rng.integers(0, 170, n), unit="D"),
        }
    )


def test_every_stratum_is_split_in_the_declared_shares():
    df = tickets()
    df["split"] = assign_splits(df, ["body"], SplitSpec(), STRATA)
    shares = df.groupby(["category", "language"])["split"].value_counts(normalize=True).unstack()
    assert ((shares["train"] - 0.8).abs() < 0.03).all()
    assert ((shares["test"] - 0.1).abs() < 0.03).all()


def test_an_example_keeps_its_split_when_the_data_grows():
    df = tickets(2000)
    first = assign_splits(df, ["body"], SplitSpec(), STRATA)
    bigger = pd.concat([df, tickets(4000, seed=1).iloc[2000:]], ignore_index=True)
    second = assign_splits(bigger, ["body"], SplitSpec(), STRATA)
    moved = (first != second.iloc[:2000]).mean()
    assert moved < 0.1  # only examples near a stratum's cut points move
    assert assign_splits(df, ["body"], SplitSpec(), STRATA).equals(first)


def test_identical_texts_share_a_split():
    df = tickets(3000)
    df.loc[df.index % 3 == 0, "body"] = "the same complaint"  # a thousand duplicates, two strata mixed
    df["category"], df["language"] = "Billing", "en"
    df["split"] = assign_splits(df, ["body"], SplitSpec(), STRATA)
    assert df.loc[df["body"] == "the same complaint", "split"].nunique() == 1
    assert set(df["split"]) == {"train", "validation", "test"}


def test_copies_of_a_text_in_different_strata_share_a_split():
    df = tickets(4000)
    df.loc[df.index % 50 == 0, "body"] = "same words, labelled differently"  # spread over every stratum
    df["split"] = assign_splits(df, ["subject", "body"], SplitSpec(), STRATA)
    assert df.loc[df["body"] == "same words, labelled differently", "split"].nunique() == 1
    shares = df.loc[df["body"] != "same words, labelled differently", "split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.8) < 0.03


def test_gates_pass_on_good_data_and_name_failing_segments():
    spec = small_spec()
    results = {g.name: g for g in evaluate_gates(tickets(), spec, AS_OF)}
    assert results["min_examples_per_class"].passed and results["required_values"].passed
    thin = tickets()
    thin = thin[~((thin["category"] == "Account") & (thin.index % 20 != 0))]
    failed = {g.name: g for g in evaluate_gates(thin, spec, AS_OF)}["min_examples_per_class"]
    assert not failed.passed and failed.blocking and failed.status == "failed"
    assert failed.failing[0].segment == "Account" and failed.failing[0].text.endswith("< 100")
    assert "measured" in failed.message() and "required 100" in failed.message()
    n = failed.measured
    assert failed.explanation == f"class 'Account' has {n} examples, below the 100 required"
    passed = results["min_examples_per_class"]
    assert passed.explanation.startswith("every class has at least 100 examples (fewest: ")


def test_missing_channel_non_english_share_and_recency_gates_fail():
    spec = small_spec()
    df = tickets()
    df = df[df["channel"] != "web"].assign(language="en")
    df["created_at"] = pd.Timestamp("2026-06-01", tz="UTC")
    results = {g.name: g for g in evaluate_gates(df, spec, AS_OF)}
    assert [s.text for s in results["required_values"].failing] == ["web: absent"]
    assert results["required_values"].explanation == "channel 'web' is absent"
    outside = results["min_share_outside_language"]
    assert not outside.passed and outside.measured == 0.0
    assert outside.explanation.endswith("in a language other than 'en', below the 10% required")
    assert not results["min_recent_share"].passed
    assert "only 1 language(s) present" in [s.text for s in results["min_examples_top_languages"].failing]


def test_label_agreement_is_cohens_kappa_on_items_in_the_set():
    annotations = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "a", "b", "c", "d", "zz", "zz"],
            "annotator": ["x"] * 4 + ["y"] * 4 + ["x", "y"],
            "label": ["B", "T", "B", "T", "B", "T", "B", "B", "B", "T"],
        }
    )
    kappa, items = label_agreement(annotations, pd.Series(["a", "b", "c", "d"]))
    assert items == 4 and round(kappa, 3) == 0.5
    assert label_agreement(None, pd.Series(["a"])) == (None, 0)


def test_duplicate_and_leakage_gates():
    spec = small_spec()
    df = tickets(1000)
    df["split"] = assign_splits(df, ["subject", "body"], spec.split, spec.strata)
    results = {g.name: g for g in evaluate_gates(df, spec, AS_OF)}
    assert results["max_duplicate_share"].passed and results["max_split_leakage"].measured == 0.0
    leaky = df.copy()
    leaky.loc[leaky["split"] != "train", "body"] = leaky.loc[leaky["split"] == "train", "body"].iloc[0]
    results = {g.name: g for g in evaluate_gates(leaky, spec, AS_OF)}
    assert not results["max_split_leakage"].passed and results["max_split_leakage"].measured == 1.0
    assert results["max_split_leakage"].failing[0].text.startswith("validation: ")
    assert "have a text also in train, above the 1% allowed" in results["max_split_leakage"].explanation
    assert results["max_duplicate_share"].measured > 0.19  # every held-out row repeats one text
    numbered = df.assign(body=[f"order {i} is late" for i in range(len(df))])
    results = {g.name: g for g in evaluate_gates(numbered, spec, AS_OF)}
    assert results["max_duplicate_share"].measured == 0.0
    assert not results["max_near_duplicate_share"].passed and results["max_near_duplicate_share"].measured > 0.99


def test_a_class_absent_from_a_split_is_a_failed_gate_not_a_silent_gap():
    spec = small_spec()
    df = tickets(2000)
    df["split"] = assign_splits(df, ["subject", "body"], spec.split, spec.strata)
    df.loc[(df["category"] == "Account") & (df["split"] == "test"), "split"] = "train"
    gate = {g.name: g for g in evaluate_gates(df, spec, AS_OF)}["min_examples_per_split"]
    assert not gate.passed and gate.blocking and gate.measured == 0
    assert [s.text for s in gate.failing] == ["Account/test: 0 < 5"]
    assert gate.explanation == "class 'Account' has 0 examples in test, below the 5 required"


def test_the_window_is_read_a_batch_at_a_time_as_a_whole_read_would_cut_it(tmp_path, monkeypatch):
    import pipelines.lib.quality.steps as steps
    from pipelines.lib.accounting import Accounting
    from pipelines.lib.files import write_parquet
    from pipelines.lib.privacy.policies import apply_freshness

    spec = small_spec()
    path = tmp_path / "labeled.parquet"
    write_parquet(tickets(500), path)
    monkeypatch.setattr(steps, "READ_BATCH", 64)
    later = date(2027, 1, 31)  # the window (6 months) then starts inside the tickets' 170 days
    frame, accounting = steps.read_window(path, spec, later)
    whole = Accounting(500)
    expected = apply_freshness(pd.read_parquet(path), spec, later, whole).reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert accounting == whole and 0 < len(frame) < 500
    write_parquet(tickets(500).iloc[:0], path)
    empty, none = steps.read_window(path, spec, AS_OF)
    assert empty.empty and none == Accounting(0, {"outside_freshness_window": 0})


def test_near_duplicates_count_each_row_as_folding_every_row_would():
    """The near-duplicate gate folds each distinct key once; the count is that of every row folded."""
    spec = small_spec()
    rng = np.random.default_rng(4)
    bodies = [f"Order {n} of {d}.{m}: refund €{n},50!" for n, d, m in rng.integers(0, 40, (1500, 3))]
    df = tickets(1500).assign(body=[b if i % 7 else f"Order {i} — refund" for i, b in enumerate(bodies)])
    df["split"] = assign_splits(df, ["subject", "body"], spec.split, spec.strata)
    key = normalised_text(df, ["subject", "body"])
    expected = round(float(fold_numbers(key).duplicated().mean()), 4)
    results = {g.name: g for g in evaluate_gates(df, spec, AS_OF, text_key=key)}
    assert 0 < expected < 1 and results["max_near_duplicate_share"].measured == expected
