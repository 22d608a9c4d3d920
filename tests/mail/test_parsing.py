"""Reading received mail (``tickets/mail/inbound/base.py``): no database, no servers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mail.conftest import CORPUS, corpus
from tickets.mail.inbound.base import (
    Automation,
    clean_subject,
    parse_envelope,
    parse_message,
    references_in,
    sanitize_html,
    strip_quoted_history,
)


def headers(**values: str) -> bytes:
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in values.items()]
    return (
        "\r\n".join(["From: Carla <carla@orga.example.test>", *lines]) + "\r\n\r\nHi\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "automation"),
    [
        ({"Auto_Submitted": "auto-replied"}, Automation.AUTO_REPLY),
        ({"Auto_Submitted": "auto-generated"}, Automation.AUTO_REPLY),
        ({"Auto_Submitted": "no"}, None),
        ({"Precedence": "bulk"}, Automation.BULK),
        ({"Precedence": "list"}, Automation.BULK),
        ({"Precedence": "junk"}, Automation.BULK),
        ({"List_Id": "<news.lists.example.test>"}, Automation.BULK),
        ({"List_Unsubscribe": "<mailto:leave@example.test>"}, Automation.BULK),
        ({"X_Autoreply": "yes"}, Automation.AUTO_REPLY),
        ({"Return_Path": "<>"}, Automation.AUTO_REPLY),
        ({"X_Supportdesk_Loop": "1"}, Automation.OWN_MAIL),
        ({}, None),
    ],
)
def test_machine_written_mail_is_recognised_by_its_headers(
    extra: dict[str, str], automation: Automation | None
) -> None:
    parsed = parse_message(headers(**extra))
    assert parsed.automation == automation
    assert parsed.may_auto_reply == (automation is None)


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.test", "postmaster@example.test", "no-reply@x.test",
               "noreply@x.test", "do-not-reply@x.test"],
)  # fmt: skip
def test_robot_senders_are_never_answered(sender: str) -> None:
    raw = f"From: {sender}\r\nSubject: x\r\n\r\nbody\r\n".encode()
    assert not parse_message(raw).may_auto_reply


def test_a_request_not_to_answer_automatically_marks_another_system() -> None:
    # People's mail clients do not send it; ticket systems and Exchange robots do (#11).
    parsed = parse_message(headers(X_Auto_Response_Suppress="OOF, AutoReply"))
    assert parsed.automation == Automation.TICKET_SYSTEM
    assert not parsed.may_auto_reply


def test_a_delivery_report_names_the_failed_recipient_and_our_message() -> None:
    parsed = parse_message(corpus("bounce_delivery_status.eml", our_message_id="ours@x.test"))
    assert parsed.automation == Automation.BOUNCE
    assert parsed.bounce is not None
    assert parsed.bounce.recipients == ("carla@orga.example.test",)
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.original_message_id == "ours@x.test"


def test_a_message_without_message_id_gets_a_stable_one_from_its_bytes() -> None:
    raw = corpus("missing_message_id.eml")
    first, again = parse_message(raw), parse_message(raw)
    assert first.message_id == again.message_id == parse_envelope(raw)[0]
    assert first.message_id_derived
    assert parse_message(raw + b"x").message_id != first.message_id


def test_odd_charsets_are_decoded() -> None:
    latin1 = parse_message(corpus("charset_latin1_8bit.eml"))
    assert latin1.subject == "Räksmörgås i lönefilen"
    assert "åäö" in latin1.text
    assert "Grüße" in parse_message(corpus("charset_unknown_label.eml")).text
    assert "€" in parse_message(corpus("charset_windows1252_qp.eml")).text


def test_html_only_mail_becomes_text_without_scripts_or_quoted_history() -> None:
    parsed = parse_message(corpus("html_with_scripts.eml"))
    assert "<script" not in parsed.html and "onerror" not in parsed.html
    assert "javascript:" not in parsed.html
    assert parsed.reply_text == (
        "The dashboard shows Error 500 when I open it.\n\nSteps:\n\n- Log in\n- Open Dashboard"
    )


def test_sanitizing_keeps_harmless_markup() -> None:
    assert sanitize_html('<p>Hi <b>there</b> <a href="https://x.test">x</a></p>') == (
        '<p>Hi <b>there</b> <a href="https://x.test" rel="noopener noreferrer">x</a></p>'
    )


@pytest.mark.parametrize(
    "reply",
    [
        "Thanks!\n\nOn Tue, 5 Mar 2024 at 13:02, Support <s@x.test> wrote:\n> old text",
        "Thanks!\n\nOn Tue, 5 Mar 2024 at 13:02, Support <s@x.test>\nwrote:\n> old text",
        "Thanks!\n\nDen tis 5 mars 2024 kl 13:02 skrev Support <s@x.test>:\n> gammal text",
        "Thanks!\n\nOp di 5 mrt 2024 om 13:02 schreef Support <s@x.test>:\n> oude tekst",
        "Thanks!\n\n-----Original Message-----\nFrom: Support\nold text",
        "Thanks!\n\nFrån: Support <s@x.test>\nSkickat: den 5 mars 2024 13:02\nÄmne: x\n\nold",
        "Thanks!\n\nVan: Support <s@x.test>\nVerzonden: dinsdag 5 maart 2024 13:02\n\nold",
        "Thanks!\n\n##- Please type your reply above this line -##\nold text",
        "Thanks!\n> old text\n> more old text\n",
    ],
)
def test_quoted_history_is_cut_off_replies(reply: str) -> None:
    assert strip_quoted_history(reply) == "Thanks!"


def test_an_answer_written_inline_below_the_quote_is_kept_whole() -> None:
    text = "> Which version do you run?\n4.1, on Windows."
    assert strip_quoted_history(text) == text


def test_subjects_lose_reply_prefixes_and_yield_references() -> None:
    assert clean_subject("SV: Re: AW: Fwd: Export") == "Export"
    assert references_in("Re: [SO-1042] Export (so-7)", "SO") == ["SO-1042", "SO-7"]
    assert references_in("ALSO-1042 and SO-10423x", "SO") == []


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
def test_every_corpus_message_parses_with_a_sender_and_an_id(name: str) -> None:
    parsed = parse_message((CORPUS / name).read_bytes())
    assert "@" in parsed.from_address
    assert parsed.message_id


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_parsing_never_fails_on_arbitrary_bytes(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.message_id
    parse_envelope(raw)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(p.name for p in CORPUS.glob("*.eml"))),
    st.integers(min_value=0, max_value=3000),
    st.binary(min_size=1, max_size=40),
)
def test_parsing_never_fails_on_damaged_corpus_mail(name: str, at: int, junk: bytes) -> None:
    raw = (CORPUS / name).read_bytes()
    at = min(at, len(raw))
    parse_message(raw[:at] + junk + raw[at:])
