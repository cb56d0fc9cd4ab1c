"""Pseudonymisation, consent and retention as pure functions."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import small_spec

from pipelines.lib.accounting import Accounting, AccountingError
from pipelines.lib.privacy.policies import apply_consent, apply_freshness, apply_retention, minimise_and_redact
from pipelines.lib.privacy.pseudonymize import MissingKeyError, key_id, load_key, pseudonymize

AS_OF = date(2026, 10, 31)


def frame(rows):
    df = pd.DataFrame(rows, columns=["ticket_id", "user_id", "created_at", "category"])
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True).astype("datetime64[us, UTC]")
    return df


def test_pseudonyms_are_keyed_stable_and_hide_the_id():
    ids = pd.Series(["u1", "u2", "u1", None], dtype="str")
    a, b = pseudonymize(ids, b"key-a"), pseudonymize(ids, b"key-b")
    assert a[0] == a[2] and a[0] != a[1] and pd.isna(a[3])
    assert a[0] != b[0] and "u1" not in a[0] and len(a[0]) == 20
    assert key_id(b"key-a") != key_id(b"key-b") and "key-a" not in key_id(b"key-a")


def test_missing_key_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINSET_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="set TRAINSET_PSEUDONYM_KEY.*trainset keygen"):
        load_key("TRAINSET_PSEUDONYM_KEY")
    monkeypatch.setenv("TRAINSET_PSEUDONYM_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(MissingKeyError, match="does not exist"):
        load_key("TRAINSET_PSEUDONYM_KEY")
    (tmp_path / "k").write_text("a-longer-secret-key\n")
    (tmp_path / "k").chmod(0o644)
    monkeypatch.setenv("TRAINSET_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    with pytest.raises(MissingKeyError, match=r"readable by other users of this host \(mode 644\).*chmod 600"):
        load_key("TRAINSET_PSEUDONYM_KEY")  # as ssh refuses a loose private key
    (tmp_path / "k").chmod(0o600)
    (tmp_path / "k").write_text("secret\n")
    with pytest.raises(MissingKeyError, match="is 6 characters, fewer than 16.*trainset keygen"):
        load_key("TRAINSET_PSEUDONYM_KEY")  # a guessable key would let anyone reverse the pseudonyms
    (tmp_path / "k").write_text("a-longer-secret-key\n")
    assert load_key("TRAINSET_PSEUDONYM_KEY") == b"a-longer-secret-key"


def test_minimisation_keeps_only_declared_columns():
    spec = small_spec()
    raw = pd.DataFrame(
        {
            "ticket_id": ["T1"],
            "user_id": ["u1"],
            "customer_name": ["Anna Smith"],
            "customer_email": ["a@b.example.com"],
            "created_at": pd.to_datetime(["2026-10-01"], utc=True).astype("datetime64[us, UTC]"),
            "channel": ["email"],
            "language": ["en"],
            "subject": ["hi"],
            "body": ["mail a@b.example.com"],
            "category": ["Billing"],
        }
    ).astype(
        {
            c: "str"
            for c in [
                "ticket_id",
                "user_id",
                "customer_name",
                "customer_email",
                "channel",
                "language",
                "subject",
                "body",
                "category",
            ]
        }
    )
    out, replaced = minimise_and_redact(raw.assign(source_name="tickets"), spec, b"k")
    assert list(out.columns) == spec.stored_columns and spec.stored_columns[1] == "source_name"
    assert "customer_email" not in out.columns and out.loc[0, "body"] == "mail <EMAIL>"
    assert replaced.loc[0, "email"] == 1


def test_consent_excludes_every_row_of_an_opted_out_user():
    spec = small_spec()
    df = frame(
        [
            ("T1", "p1", "2026-10-01", "Billing"),
            ("T2", "p2", "2026-10-02", "Billing"),
            ("T3", "p1", "2026-01-01", "Other"),
        ]
    )
    accounting = Accounting(len(df))
    kept = apply_consent(df, pd.Series(["p1"]), spec, accounting)
    assert kept["ticket_id"].tolist() == ["T2"] and accounting.removed == {"consent_opt_out": 2}


def test_retention_is_shorter_for_sensitive_categories():
    spec = small_spec()  # 12 months; Account 3 months
    df = frame(
        [
            ("old", "p", "2025-10-15", "Billing"),  # older than 12 months
            ("kept", "p", "2025-11-15", "Billing"),
            ("old-account", "p", "2026-06-15", "Account"),  # older than 3 months
            ("new-account", "p", "2026-09-15", "Account"),
        ]
    )
    accounting = Accounting(len(df))
    kept = apply_retention(df, spec, AS_OF, accounting)
    assert kept["ticket_id"].tolist() == ["kept", "new-account"]
    assert accounting.removed == {"retention_expired": 1, "retention_expired_sensitive": 1}
    assert accounting.close(len(kept)).rows_out == 2


def test_freshness_window_and_accounting_that_does_not_balance():
    spec = small_spec()  # P6M
    df = frame([("a", "p", "2026-04-15", "Billing"), ("b", "p", "2026-05-15", "Billing")])
    accounting = Accounting(len(df))
    assert apply_freshness(df, spec, AS_OF, accounting)["ticket_id"].tolist() == ["b"]
    with pytest.raises(AccountingError, match="does not balance"):
        accounting.close(2)
