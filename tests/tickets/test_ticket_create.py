"""Filing a ticket: reference numbers, entitlement, first message, clocks started."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from sla.models import Clock, ClockState, Metric
from tests.conftest import Cast
from tickets.choices import Category, Channel, Status
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import AcceptanceRequired, TicketRefused, ticket_create

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _file(cast: Cast, **kwargs: object) -> Ticket:
    values: dict[str, object] = {
        "tenant": cast.tenant_a,
        "requester": cast.customer_contact,
        "subject": "Printer on fire",
        "description": "It is <b>really</b> on fire<script>alert(1)</script>",
        "channel": Channel.PORTAL,
    }
    values.update(kwargs)
    return ticket_create(**values)  # type: ignore[arg-type]


def test_it_numbers_tickets_with_the_tenant_prefix_without_gaps(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    first = _file(cast)
    with pytest.raises(ValidationError):
        _file(cast, subject="   ")
    second = _file(cast)
    assert first.reference == "TA-1001"
    assert second.reference == "TA-1002"


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_it_starts_both_clocks_from_the_policy_of_the_contract(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _file(cast)
    clocks = {c.metric: c for c in Clock.objects.filter(ticket=ticket)}
    assert clocks[Metric.FIRST_RESPONSE].due_at == at(2026, 3, 2, 13, 0)
    # Two working days: the close of Wednesday.
    assert clocks[Metric.RESOLUTION].due_at == at(2026, 3, 4, 17, 0)
    assert all(c.state == ClockState.RUNNING for c in clocks.values())
    ticket.refresh_from_db()
    assert ticket.next_due_at == at(2026, 3, 2, 13, 0)
    assert ticket.first_response_due() == at(2026, 3, 2, 13, 0)
    assert ticket.sla_policy == desk.policy
    assert ticket.priority == desk.p3


def test_it_stores_the_description_sanitised_as_the_first_message(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    upload = SimpleUploadedFile("log.txt", b"boom", content_type="text/plain")
    ticket = _file(cast, attachments=[upload], email_message_id="<abc@example.test>")
    message = ticket.messages.get()
    assert "<script>" not in message.body and "<b>really</b>" in message.body
    assert message.author_contact == cast.customer_contact
    assert message.email_message_id == "<abc@example.test>"
    assert message.attachments.get().filename == "log.txt"
    created = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED)
    assert created.message == message and created.new_value == Status.NEW


def test_it_refuses_an_attachment_of_a_forbidden_type_and_saves_nothing(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    upload = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    with pytest.raises(ValidationError) as info:
        _file(cast, attachments=[upload])
    assert "attachments" in info.value.message_dict
    assert not Ticket.objects.exists()


def test_it_refuses_a_contact_without_a_contract_with_the_reasons(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    desk.contract.delete()
    with pytest.raises(TicketRefused) as info:
        _file(cast)
    assert "no support contract" in str(info.value)
    assert not Ticket.objects.exists()


def test_it_asks_for_acceptance_of_billable_work(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with pytest.raises(AcceptanceRequired):
        _file(cast, category=Category.OUT_OF_SCOPE)
    ticket = _file(cast, category=Category.OUT_OF_SCOPE, accepted_billable=True)
    assert ticket.billable and ticket.billing_accepted


def test_it_counts_a_logged_phone_call_as_the_first_response(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _file(cast, channel=Channel.PHONE, actor=cast.agent)
    clock = Clock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert clock.state == ClockState.STOPPED and clock.met is True
    assert ticket.messages.get().author == cast.agent
