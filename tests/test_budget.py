"""The labeling budget: the seed's example 3 and its drill, through the CLI and the library."""

from decimal import Decimal

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.lib.labeling.budget import budget, split_items
from pipelines.lib.labeling.declaration import LabelingSpec


def test_the_seed_budget_through_the_cli() -> None:
    args = "--items 12000 --labels-per-item 2 --price-per-label 0.09 --qa 0.20 --contingency 0.10"
    result = CliRunner().invoke(cli, ["budget", *args.split()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "12,000 items x 2 labels x $0.09 = $2,160.00"
    assert lines[1] == "with 20% QA overhead: $2,592.00"
    assert lines[2] == "with 10% contingency: $2,851.20"
    # the seed's 30/40/30 batches, and they add up to the whole
    rows = [line.split() for line in lines[5:]]
    assert [(r[0], r[1]) for r in rows] == [("batch-1", "3,600"), ("batch-2", "4,800"), ("batch-3", "3,600")]


def test_amounts_are_exact_until_shown() -> None:
    b = budget(12_000, 2, 0.09, 0.2, 0.1)
    assert (b.base, b.with_qa, b.total) == (Decimal("2160.00"), Decimal("2592.000"), Decimal("2851.2000"))
    parts = [b.part(n) for _, n in split_items(12_000, 200, [0.3, 0.4, 0.3])]
    assert sum(p.total for p in parts) == b.total


@pytest.mark.parametrize(
    ("items", "pilot", "shares", "expected"),
    [
        (1000, 200, [0.3, 0.4, 0.3], [("pilot", 200), ("batch-1", 240), ("batch-2", 320), ("batch-3", 240)]),
        (7, 200, [0.3, 0.4, 0.3], [("pilot", 7)]),
        (10, 2, [1 / 3, 1 / 3, 1 / 3], [("pilot", 2), ("batch-1", 3), ("batch-2", 3), ("batch-3", 2)]),
        (0, 100, [1.0], []),
    ],
)
def test_batches_sum_to_the_items(items: int, pilot: int, shares: list[float], expected: list) -> None:
    assert split_items(items, pilot, shares) == expected
    assert sum(n for _, n in expected) == items


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("--items 10 --price-per-label $0.09", "not a number"),
        ("--items 10 --price-per-label 0", "must be above 0"),
        ("--items 10 --price-per-label 0.09 --currency XYZ", "not an ISO 4217 code"),
        ("--items 10 --price-per-label 0.09 --batches 0.5,0.4", "sum to 1"),
    ],
)
def test_bad_options_are_named(args: str, words: str) -> None:
    result = CliRunner().invoke(cli, ["budget", *args.split()])
    assert result.exit_code == 2
    assert words in result.output


def test_a_spec_refuses_a_split_that_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        LabelingSpec(price_per_label=Decimal("0.09"), batches=[0.5, 0.4])
    with pytest.raises(ValueError, match="ISO 4217"):
        LabelingSpec(price_per_label=Decimal("0.09"), currency="dollars")
    assert LabelingSpec(price_per_label=Decimal("0.09"), currency="eur").currency == "EUR"
