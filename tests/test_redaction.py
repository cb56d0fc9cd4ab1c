"""Email and phone redaction: typed placeholders, look-alikes untouched, counts without values."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.lib.privacy.redaction import PII_TYPES, redact
from pipelines.synthetic.generate import GeneratorConfig, generate

PHONES = [
    "(415) 623-1234",
    "+1 212-664-5425",
    "312.664.5425",
    "+44 7911 466473",
    "020 7946 0123",
    "+49 30 12345678",
    "0151 12345678",
    "+33 6 95 70 39 69",
    "01 23 45 67 89",
    "+34 612 345 678",
    "612 034 863",  # national, space-grouped: the trunk-0 shape must not take its tail
    "+91 98123 45678",
    "+55 11 91234-5678",
]
LOOKALIKES = [
    "Order ORD-139034 is affected.",
    "I am on version 2.1234.4.",
    "Invoice INV-2026-12345 shows it.",
    "The error code is E1234.",
    "It started on 2026-03-14 at 10:32.",
    "Reference #732452.",
    "GUID 123e4567-e89b-12d3-a456-426614174000",
    "Ticket T00012345 was closed",
    "Build 20260314.1",
]


def redacted(texts, types=("email", "phone")):
    return redact(pa.array(texts), list(types))


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_in_national_and_international_formats_are_replaced(phone):
    result = redacted([f"Call me on {phone}, thanks."])
    assert result.text.to_pylist() == ["Call me on <PHONE>, thanks."]
    assert result.replaced == {"email": 0, "phone": 1}


@pytest.mark.parametrize("email", ["anna.smith31@correo.example.es", "x+tag@mail.example.org", "A_B@EXAMPLE.COM"])
def test_emails_are_replaced(email):
    assert redacted([f"write to {email}!"]).text.to_pylist() == ["write to <EMAIL>!"]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_survive(text):
    assert redacted([text]).text.to_pylist() == [text]


def test_several_values_in_one_text_and_per_row_counts():
    result = redacted(["a +1 212-664-5425 and 0151 12345678 b c@d.example.com", "nothing here", ""])
    assert result.text.to_pylist() == ["a <PHONE> and <PHONE> b <EMAIL>", "nothing here", ""]
    assert result.counts["phone"].tolist() == [2, 0, 0] and result.counts["email"].tolist() == [1, 0, 0]


@pytest.mark.parametrize("separator", [", ", ";", " - ", ". ", ".\n ", " / "])
def test_adjacent_values_sharing_a_separator_are_all_replaced(separator):
    # the first match consumes the separator as its right context; the second needs it on its left
    result = redacted([f"Call 212-664-5425{separator}312.664.5425 now"])
    assert result.text.to_pylist() == [f"Call <PHONE>{separator}<PHONE> now"]
    assert result.counts["phone"].tolist() == [2]


def test_only_the_declared_types_are_redacted():
    assert redacted(["x@y.example.com +44 7911 466473"], ["email"]).text.to_pylist() == ["<EMAIL> +44 7911 466473"]
    with pytest.raises(ValueError, match="unknown PII types"):
        redacted(["x"], ["passport"])


def test_every_planted_value_in_generated_tickets_is_removed():
    tickets = generate(GeneratorConfig(rows=3000, seed=3)).tickets
    body = redacted(tickets["body"].tolist()).text.to_pandas()
    leaked = [email for email, text in zip(tickets["customer_email"], body, strict=True) if email in text]
    assert leaked == []
    assert not body.str.contains(r"\+\d{1,3} \d", regex=True).any()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an identifier's name counts only right before its number; a bracket stays in the text
        ("Close my account (0151 51656459)", "Close my account (<PHONE>)"),
        ("customer number 12345678, invoice (020 7946 0123)", "customer number 12345678, invoice (<PHONE>)"),
        ("( +34 612 203 421) is my number", "( <PHONE>) is my number"),
        # digits, dashes and spaces of any script; the value replaced in the original text
        ("Tel. ٠١٧١ ٢٣٤٥٦٧٨ — bitte", "Tel. <PHONE> — bitte"),
        ("card ４１１１ １１１１ １１１１ １１１１ – thanks", "card <CREDIT_CARD> – thanks"),
        # two numbers the scan joined are taken apart group by group
        ("call 0151 1234567 / 0171 2345678", "call <PHONE> / <PHONE>"),
        ("pay DE89 3704 0044 0532 0130 00 DE89 3704 0044 0532 0130 00 now", "pay <IBAN> <IBAN> now"),
    ],
)
def test_spans_in_context(text, expected):
    assert redact(pa.array([text]), ["phone", "credit_card", "iban"]).text.to_pylist() == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "look at example.com now",
        "CEP 01310-100 São Paulo",
        "protocolo de atendimento 20251103001234",
        "for i in range(1000000)",
        "WHERE id = 20250001234;",
        "heap size 2147483648",
        "Our PO is 4500123987",
        "EAN 4006381333931",
        "GPS 52.520008, 13.404954",
        "reference RF18 5390 0754 7034",
        "we paid 240575 cents",
    ],
)
def test_numbers_of_other_kinds_survive(text):
    assert redact(pa.array([text]), list(PII_TYPES)).text.to_pylist() == [text]


@pytest.mark.parametrize(
    "email",
    [
        "ana.souza[at]exemplo.com.br",
        "paul.martin(at)exemple.fr",
        "john.smith AT example DOT com",
        "jean dot dupont at exemple dot fr",
        "anna.kowalska @ przyklad.pl",
    ],
)
def test_obfuscated_addresses_are_replaced_whole(email):
    assert redact(pa.array([f"write to {email} please"]), ["email"]).text.to_pylist() == ["write to <EMAIL> please"]


def test_unknown_regions_are_refused():
    with pytest.raises(ValueError, match="unknown regions"):
        redact(pa.array(["x"]), ["phone"], regions=["XX"])


@pytest.mark.parametrize(
    "phone", ["04.91.23.45.67 poste 12", "0761 47810 Durchwahl 900", "11 3456-7890 ramal 22", "(212) 555-0150 ext. 12"]
)
def test_extensions_in_any_language_go_with_the_number(phone):
    assert redact(pa.array([f"Tel. {phone} bitte"]), ["phone"]).text.to_pylist() == ["Tel. <PHONE> bitte"]


def test_a_brazilian_number_after_the_preposition_no_is_a_phone_and_a_number_after_no_dot_a_reference():
    # `me liguem no 11 2345-6789` (call me on ...): Portuguese and Spanish `no` is a preposition,
    # not the abbreviation of number; `No 4471...` and `no. 4471...` stay references.
    texts = [
        "Me liguem no 11 2345-6789 amanhã",
        "Me liguem no 11 98765-4321",
        "llámame no 612 345 678",
        "Order No 1234567 shipped",
        "see no. 1234567",
    ]
    result = redact(pa.array(texts, type=pa.large_string()), ["phone"], regions=["BR", "ES", "US"]).text.to_pylist()
    assert result == [
        "Me liguem no <PHONE> amanhã",
        "Me liguem no <PHONE>",
        "llámame no <PHONE>",
        "Order No 1234567 shipped",
        "see no. 1234567",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A national number its region's rules reject is still a phone after "at the number"
        # (Faker's it_IT wrote `39188787489`, the country code without its +).
        ("oppure al numero 39188787489.", "oppure al numero <PHONE>."),
        ("chiamami al 188787489 domani", "chiamami al <PHONE> domani"),
        ("appelez-moi au numéro 0912345678 merci", "appelez-moi au numéro <PHONE> merci"),
        ("llámame al número 912 34 56 789 gracias", "llámame al número <PHONE> gracias"),
        ("me ligue pelo número 11 9876 54321", "me ligue pelo número <PHONE>"),
        ("bel me op nummer 0201234567", "bel me op nummer <PHONE>"),
        ("proszę dzwonić pod numerem 123 456 7890", "proszę dzwonić pod numerem <PHONE>"),
        ("erreichen Sie mich unter der Nummer 0301234567890", "erreichen Sie mich unter der Nummer <PHONE>"),
        # the number one orders or pays by is named, and stays
        ("al numero d'ordine 12345678 manca un pezzo", "al numero d'ordine 12345678 manca un pezzo"),
        ("fattura numero 4500123987 pagata", "fattura numero 4500123987 pagata"),
        ("bestelling 123456789 is onderweg", "bestelling 123456789 is onderweg"),
        ("zamówienie nr 123456789 wysłane", "zamówienie nr 123456789 wysłane"),
        ("no número do pedido 123456789 faltou", "no número do pedido 123456789 faltou"),
    ],
)
def test_a_number_one_is_asked_to_call_at_is_a_phone_in_every_language(text, expected):
    regions = ["IT", "FR", "ES", "BR", "NL", "PL", "DE"]
    assert redact(pa.array([text]), ["phone"], regions=regions).text.to_pylist() == [expected]
