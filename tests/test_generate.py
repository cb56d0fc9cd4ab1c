"""The synthetic export: deterministic, realistic, configurable."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from pipelines.synthetic.generate import GeneratorConfig, generate, write_landing

AS_OF = date(2026, 10, 31)


def test_same_seed_gives_identical_data_and_a_new_seed_does_not():
    a = generate(GeneratorConfig(rows=2000, seed=5, as_of=AS_OF))
    b = generate(GeneratorConfig(rows=2000, seed=5, as_of=AS_OF))
    c = generate(GeneratorConfig(rows=2000, seed=6, as_of=AS_OF))
    pd.testing.assert_frame_equal(a.tickets, b.tickets)
    pd.testing.assert_frame_equal(a.annotations, b.annotations)
    assert not a.tickets["body"].equals(c.tickets["body"])


def test_tickets_cover_languages_channels_classes_and_18_months():
    tickets = generate(GeneratorConfig(rows=20_000, as_of=AS_OF)).tickets
    assert tickets["language"].nunique() >= 5
    assert set(tickets["channel"]) == {"email", "chat", "web"}
    assert set(tickets["category"]) == {"Billing", "Technical", "Account", "Other"}
    created = pd.to_datetime(tickets["created_at"], utc=True)
    assert created.max().date() == AS_OF and (created.max() - created.min()).days > 500
    assert tickets["body"].str.contains("@").mean() > 0.2
    assert tickets["body"].str.contains(r"\+\d", regex=True).mean() > 0.1
    assert tickets["ticket_id"].is_unique


def test_class_imbalance_and_label_agreement_are_configurable():
    weights = {"Billing": 0.7, "Technical": 0.2, "Account": 0.05, "Other": 0.05}
    export = generate(GeneratorConfig(rows=20_000, class_weights=weights, label_agreement=0.6, as_of=AS_OF))
    share = export.tickets["category"].value_counts(normalize=True)
    assert abs(share["Billing"] - 0.7) < 0.02 and abs(share["Account"] - 0.05) < 0.01
    wide = export.annotations.pivot(index="ticket_id", columns="annotator", values="label")
    agreement = (wide["annotator_a"] == wide["annotator_b"]).mean()
    assert abs(agreement - 0.6) < 0.03
    assert cohen_kappa_score(wide["annotator_a"], wide["annotator_b"]) < 0.6


def test_landing_zone_has_one_file_per_day_and_the_side_tables(tmp_path):
    export = generate(GeneratorConfig(rows=1000, months=2, as_of=AS_OF))
    written = write_landing(export, tmp_path)
    days = sorted(p.stem for p in written["tickets"].glob("*.csv"))
    assert days[-1] == AS_OF.isoformat()
    assert sum(len(pd.read_csv(written["tickets"] / f"{d}.csv")) for d in days) == 1000
    assert set(pd.read_csv(written["consent"] / "opt_outs.csv").columns) == {"user_id", "opted_out_at"}
    assert len(export.opt_outs) > 0


def test_a_quiet_day_still_lands_a_header_only_file(tmp_path):
    written = write_landing(generate(GeneratorConfig(rows=30, months=3, as_of=AS_OF)), tmp_path)
    sizes = [len(pd.read_csv(p)) for p in written["tickets"].glob("*.csv")]
    assert 0 in sizes and sum(sizes) == 30


def test_every_planted_value_is_recorded_where_it_was_planted():
    export = generate(GeneratorConfig(rows=5000, seed=11, as_of=AS_OF))
    planted, tickets = export.planted, export.tickets.set_index("ticket_id")
    texts = [tickets.at[ticket, field] for ticket, field in zip(planted["ticket_id"], planted["field"], strict=True)]
    assert all(value in text for value, text in zip(planted["value"], texts, strict=True))
    assert set(planted["pii_type"]) == {"email", "phone", "credit_card", "iban", "ip_address", "us_ssn"}
    # The customer's email, when it is the contact given, is the one planted.
    emails = planted[planted["pii_type"] == "email"].merge(tickets["customer_email"], on="ticket_id")
    assert (emails["value"] == emails["customer_email"]).all()
    # Every '@' of a body belongs to a recorded email: none goes unrecorded.
    at_signs = tickets["body"].str.count("@").sum()
    assert at_signs == ((planted["pii_type"] == "email") & (planted["field"] == "body")).sum()
