"""Routing rules (#15 item 6) apply to tickets filed by e-mail too: the mail intake files
through the same path as the portal, so a rule on the e-mail channel assigns the ticket and
the history says which rule did. Both ways a mail reaches us: piped and polled from Dovecot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_scopes import scope

from tests.conftest import Cast
from tests.mail.conftest import SUPPORT_ADDRESS
from tests.portal.conftest import Desk
from tickets.choices import Channel, SupportLine
from tickets.mail.models import InboundEmail, InboundOutcome
from tickets.models import EventKind, RoutingRule, Ticket, TicketEvent
from tickets.routing.services import routing_rule_save

pytestmark = pytest.mark.mail


def _mail(message_id: str) -> bytes:
    return (
        f"From: Carla Customer <carla@orga.example.test>\nTo: {SUPPORT_ADDRESS}\n"
        f"Subject: Invoices do not print\nMessage-ID: <{message_id}>\n"
        "Date: Tue, 05 Mar 2024 09:12:44 +0100\nMIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n\nSince Monday nothing prints.\n'
    ).encode()


def test_a_mailed_ticket_is_routed_by_the_e_mail_rule(
    cast: Cast, desk: Desk, transport: Callable[[bytes], InboundEmail]
) -> None:
    with scope(tenant=cast.tenant_a):
        routing_rule_save(
            rule=RoutingRule(
                tenant=cast.tenant_a,
                name="Mail to second line",
                channel=Channel.EMAIL,
                assignee=cast.agent,
                support_line=SupportLine.SECOND,
            ),
            actor=cast.admin,
        )
    inbound = transport(_mail("routed-1@mail.orga.example.test"))
    assert inbound.outcome == InboundOutcome.TICKET_CREATED
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get(pk=inbound.ticket_id)
        assert (ticket.channel, ticket.assignee_id, ticket.support_line) == (
            Channel.EMAIL,
            cast.agent.pk,
            SupportLine.SECOND,
        )
        routed = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ROUTED)
        assert "Mail to second line" in str(routed.data)
