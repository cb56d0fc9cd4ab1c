"""The scorer every redaction evaluation set shares: outputs aligned to inputs, strict per value."""

from __future__ import annotations

from pipelines.synthetic.pii_scoring import EvalText, GoldSpan, align, field_rule_failures, score

TEXT = "call 0151 23456789 or mail ann@example.org, version 8.5.1.2"
PHONE = GoldSpan(5, 18, "phone")
EMAIL = GoldSpan(27, 42, "email")
LABELLED = EvalText(TEXT, (PHONE, EMAIL), keep=("8.5.1.2",))


def scored(output):
    return score([LABELLED], [output])


def test_values_replaced_whole_by_their_own_placeholder_are_found():
    result = scored("call <PHONE> or mail <EMAIL>, version 8.5.1.2")
    assert (result.types["phone"].tp, result.types["email"].tp) == (1, 1)
    assert result.types["phone"].precision == result.types["phone"].recall == 1.0 and result.kept == 1.0


def test_a_value_cut_short_or_run_long_is_missed_and_its_placeholder_is_a_false_positive():
    short = scored("call <PHONE>789 or mail <EMAIL>, version 8.5.1.2").types["phone"]
    long = scored("call <PHONE>or mail <EMAIL>, version 8.5.1.2").types["phone"]
    for counts in (short, long):
        assert (counts.tp, counts.fn, counts.fp, counts.over) == (0, 1, 1, 0)


def test_a_mislabelled_value_is_missed_and_a_false_positive_of_the_type_it_was_given():
    result = scored("call <CREDIT_CARD> or mail <EMAIL>, version 8.5.1.2")
    assert result.types["phone"].fn == 1 and result.types["credit_card"].fp == 1


def test_over_redaction_is_a_false_positive_touching_no_value_and_a_lost_lookalike():
    result = scored("call <PHONE> or mail <EMAIL>, version <IP_ADDRESS>")
    ip = result.types["ip_address"]
    assert (ip.fp, ip.over, ip.precision) == (1, 1, 0.0)
    assert result.kept == 0.0 and result.lost_lookalikes == ["'8.5.1.2'"]


def test_an_ambiguous_alignment_is_read_in_the_redactors_favour():
    text = "numbers 612 345 678 9 and more"
    labelled = EvalText(text, (GoldSpan(8, 19, "phone"),))
    # "<PHONE> <PHONE>" could also be "612" + "345 678 9": the reading that matches the gold wins
    assert align(text, "numbers <PHONE> 9 and more", labelled.gold) == [(8, 19, "phone")]
    spans = align(text, "numbers <PHONE> <PHONE> and more", labelled.gold)
    assert spans == [(8, 19, "phone"), (20, 21, "phone")]


def test_an_output_that_changed_other_text_is_unaligned_and_scored_as_all_wrong():
    result = scored("CALL <PHONE> or mail <EMAIL>, version 8.5.1.2")
    assert result.unaligned == 1 and result.types["phone"].fn == 1 and result.types["phone"].fp == 1


def test_values_scored_apart_count_toward_neither_recall_nor_false_positives():
    labelled = EvalText("ring 291 417 7763 now", (GoldSpan(5, 17, "phone", counted=False),))
    phone = score([labelled, labelled], ["ring <PHONE> now", labelled.text]).types["phone"]
    assert (phone.tp, phone.fn, phone.fp, phone.uncounted, phone.uncounted_found) == (0, 0, 0, 2, 1)
    assert phone.recall == 1.0 and phone.precision == 1.0


def test_the_field_rule_wants_values_gone_without_fragments_and_lookalikes_verbatim():
    remove = [("josé.garcía@correo.example.es", "email")]
    assert field_rule_failures(remove, [], "write to <EMAIL> please") == []
    assert field_rule_failures(remove, [], "write to josé.garcí<EMAIL> please") == [
        "left email 'josé.garcía@correo.example.es'"
    ]
    assert field_rule_failures([], ["16:00"], "after <PHONE>") == ["changed look-alike '16:00'"]
