"""The synthetic export a block of days at a time: the landing zone `write_landing` writes, with
the configured shares, ids unique across blocks and side tables that name real tickets and users."""

from __future__ import annotations

import hashlib
import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.synthetic.day_blocks import generate_in_blocks, write_landing_in_blocks
from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

AS_OF = date(2026, 10, 31)
CONFIG = GeneratorConfig(rows=20_000, seed=3, as_of=AS_OF)
#: small enough that the 18 months take several blocks, and not a divisor of the rows
BLOCK_ROWS = 3_000


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blocked")
    write_landing_in_blocks(CONFIG, root, block_rows=BLOCK_ROWS)
    return root


@pytest.fixture(scope="module")
def tickets(landed) -> pd.DataFrame:
    days = sorted((landed / "tickets").glob("*.csv"))
    return pd.concat([pd.read_csv(day, dtype="str") for day in days], ignore_index=True)


def _files(root: Path) -> dict[str, list[str]]:
    """Each file of a landing zone (relative path) and its header."""
    return {
        str(path.relative_to(root)): path.read_text().splitlines()[0].split(",") for path in sorted(root.rglob("*.csv"))
    }


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_blocks_land_the_files_and_columns_write_landing_lands(landed, tmp_path):
    write_landing(generate(CONFIG), tmp_path)
    assert _files(landed) == _files(tmp_path)
    days = sorted(p.stem for p in (landed / "tickets").glob("*.csv"))
    assert days[-1] == AS_OF.isoformat() and len(days) == len(pd.date_range(days[0], days[-1]))


def test_ticket_ids_are_unique_across_blocks_and_follow_creation(tickets):
    assert len(tickets) == CONFIG.rows
    assert tickets["ticket_id"].is_unique
    assert tickets["ticket_id"].is_monotonic_increasing and tickets["created_at"].is_monotonic_increasing
    assert (tickets["created_at"].str.slice(0, 10) <= AS_OF.isoformat()).all()


def test_shares_are_the_configured_ones(tickets):
    def share(column: str) -> pd.Series:
        return tickets[column].value_counts(normalize=True)

    for column, weights in (("category", CONFIG.class_weights), ("channel", CONFIG.channel_weights)):
        for value, weight in weights.items():
            assert abs(share(column)[value] - weight) < 0.015, (column, value)
    # The language field is wrong for a few tickets, uniformly over the languages.
    noise, languages = CONFIG.language_label_noise, len(CONFIG.language_weights)
    for value, weight in CONFIG.language_weights.items():
        assert abs(share("language")[value] - (weight * (1 - noise) + noise / languages)) < 0.015, value
    # Users are drawn from one population across blocks: tickets per user who wrote one is
    # Poisson(3) given at least one.
    per_user = CONFIG.tickets_per_user
    assert abs(tickets.groupby("user_id").size().mean() - per_user / (1 - math.exp(-per_user))) < 0.15


def test_annotations_and_opt_outs_name_real_tickets_and_users_at_the_configured_shares(landed, tickets):
    annotations = pd.read_csv(landed / "annotations" / "annotations.csv", dtype="str")
    wide = annotations.pivot(index="ticket_id", columns="annotator", values="label")
    assert set(wide.index) <= set(tickets["ticket_id"]) and not wide.isna().any().any()
    assert abs(len(wide) / len(tickets) - CONFIG.annotated_share) < 0.01
    assert abs((wide["annotator_a"] == wide["annotator_b"]).mean() - CONFIG.label_agreement) < 0.025
    category = tickets.set_index("ticket_id").loc[wide.index, "category"]
    assert (wide["annotator_a"] == category).all()

    opt_outs = pd.read_csv(landed / "consent" / "opt_outs.csv", dtype="str")
    users = tickets["user_id"].drop_duplicates()
    assert opt_outs["user_id"].is_unique and set(opt_outs["user_id"]) <= set(users)
    assert abs(len(opt_outs) / len(users) - CONFIG.opt_out_share) < 0.008


def test_pii_is_planted_at_the_configured_shares():
    blocks = list(generate_in_blocks(CONFIG, block_rows=BLOCK_ROWS))
    assert len(blocks) > 5
    planted = pd.concat([block.export.planted for block in blocks], ignore_index=True)
    tickets = pd.concat([block.export.tickets for block in blocks], ignore_index=True).set_index("ticket_id")
    contact = planted["pii_type"].isin(["email", "phone"])
    in_body, in_subject = contact & (planted["field"] == "body"), planted["field"] == "subject"
    assert abs(in_body.sum() / CONFIG.rows - CONFIG.contact_share) < 0.02
    assert abs((~contact).sum() / CONFIG.rows - CONFIG.other_pii_share) < 0.01
    assert abs(in_subject.sum() / CONFIG.rows - 0.05) < 0.01
    assert set(planted["pii_type"]) == {"email", "phone", "credit_card", "iban", "ip_address", "us_ssn"}
    texts = [tickets.at[ticket, field] for ticket, field in zip(planted["ticket_id"], planted["field"], strict=True)]
    assert all(value in text for value, text in zip(planted["value"], texts, strict=True))


def test_the_same_config_and_block_size_give_the_same_bytes(landed, tmp_path):
    write_landing_in_blocks(CONFIG, tmp_path / "again", block_rows=BLOCK_ROWS)
    assert _digest(tmp_path / "again") == _digest(landed)
    write_landing_in_blocks(GeneratorConfig(rows=20_000, seed=4, as_of=AS_OF), tmp_path / "seed", BLOCK_ROWS)
    assert _digest(tmp_path / "seed") != _digest(landed)


def test_a_quiet_day_still_lands_a_header_only_file(tmp_path):
    written = write_landing_in_blocks(GeneratorConfig(rows=30, months=3, as_of=AS_OF), tmp_path, block_rows=10)
    sizes = [len(pd.read_csv(p)) for p in written["tickets"].glob("*.csv")]
    assert 0 in sizes and sum(sizes) == 30
    annotations = pd.read_csv(written["annotations"] / "annotations.csv")
    assert list(annotations.columns) == ["ticket_id", "annotator", "label"]
