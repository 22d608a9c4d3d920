"""The agent's ticket page and phone intake: every tool is one form posting to one service."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.urls import reverse
from django_scopes import scope

from sla.models import Clock, Metric
from tests.conftest import Cast, client_for
from tickets.choices import Category, Channel, Status, SupportLine
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import TRANSITIONS, ticket_create, ticket_reply

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _ticket(cast: Cast) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export fails",
            description="Every export ends with an error.",
            channel=Channel.EMAIL,
        )


@time_machine.travel(at(2026, 3, 6, 15, 0), tick=False)  # Friday afternoon
def test_the_ticket_page_explains_each_due_time_in_words(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[ticket.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "within 4 business hours" in text
    assert "“Office” calendar" in text
    assert "Mon–Fri 08:00–17:00" in text
    assert "Weekends are not counted." in text
    assert "Due Monday 9 March 2026 10:00" in text  # 2 h on Friday, 2 h from 08:00 Monday
    assert "Every export ends with an error." in text


def test_an_agent_replies_changes_status_priority_line_vendor_and_logs_time(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)

    def post(name: str, data: dict[str, object]) -> None:
        response = client.post(reverse(f"tickets:{name}", args=[ticket.pk]), data)
        assert response.status_code == 302, name

    post(
        "ticket-reply",
        {
            "body": "Could you send the log?",
            "public": "1",
            "attachments": [SimpleUploadedFile("a.png", b"png")],
        },
    )
    post("ticket-status", {"status": Status.PENDING})
    post("ticket-priority", {"priority": desk.p2.pk})
    post("ticket-line", {"support_line": SupportLine.THIRD})
    post("ticket-vendor", {"vendor_reference": "https://vendor.example/requests/4711"})
    post("ticket-time", {"minutes": 25, "billable": "on", "note": "Reproduced"})
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert ticket.status == Status.PENDING
        assert ticket.priority == desk.p2
        assert ticket.support_line == SupportLine.THIRD
        assert ticket.vendor_reference.endswith("4711")
        assert ticket.time_entries.get().minutes == 25
        assert ticket.messages.last().attachments.count() == 1  # type: ignore[union-attr]
    assert kinds == [
        EventKind.CREATED,
        EventKind.REPLIED,
        EventKind.STATUS_CHANGED,  # new -> open by the first reply
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
        EventKind.LINE_CHANGED,
        EventKind.VENDOR_REFERENCE,
        EventKind.VENDOR_STATE,  # a reference alone escalates (issue 15 item 5)
        EventKind.TIME_LOGGED,
    ]
    page = client.get(reverse("tickets:ticket", args=[ticket.pk]))
    assert b"Could you send the log?" in page.content


def test_a_refused_change_shows_the_reason_and_changes_nothing(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    client.post(
        reverse("tickets:ticket-status", args=[ticket.pk]),
        {"status": Status.CLOSED, "confirm_close": "1"},
    )
    response = client.post(
        reverse("tickets:ticket-status", args=[ticket.pk]), {"status": Status.OPEN}, follow=True
    )
    assert "cannot become open" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_conversion_keeps_the_history_and_follows_the_plans_scope(cast: Cast, desk: Desk) -> None:
    desk.plan.included_categories = [Category.QUESTION, Category.CHANGE_REQUEST]
    desk.plan.save()
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    client.post(reverse("tickets:ticket-convert", args=[ticket.pk]), {"category": Category.BUG})
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        assert ticket.category == Category.BUG and ticket.billable
        converted = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CONVERTED)
        assert (converted.old_value, converted.new_value) == ("Question", "Bug / issue")
        assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CREATED).exists()


def test_the_history_export_leaves_internal_notes_out(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    client.post(
        reverse("tickets:ticket-reply", args=[ticket.pk]), {"body": "Secret note", "public": "0"}
    )
    client.post(
        reverse("tickets:ticket-reply", args=[ticket.pk]), {"body": "Fixed it", "public": "1"}
    )
    export = client.get(reverse("tickets:ticket-history", args=[ticket.pk]))
    body = export.content.decode()
    assert export["Content-Type"].startswith("text/plain")
    assert "Fixed it" in body and "Every export ends" in body
    assert "Secret note" not in body


def test_a_manager_sees_the_ticket_but_cannot_change_it(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.manager, cast.tenant_a)
    assert client.get(reverse("tickets:ticket", args=[ticket.pk])).status_code == 200
    response = client.post(
        reverse("tickets:ticket-status", args=[ticket.pk]), {"status": Status.SOLVED}
    )
    assert response.status_code == 404


def test_phone_intake_logs_a_call_as_an_answered_phone_ticket(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("tickets:call-log"),
        {
            "contact": cast.customer_contact.email,
            "subject": "Called about invoices",
            "description": "Wants a copy",
            "category": Category.QUESTION,
        },
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
        assert ticket.channel == Channel.PHONE
        assert Clock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE).met is True


def test_phone_intake_is_refused_with_the_reason_when_the_plan_has_no_phone(
    cast: Cast, desk: Desk
) -> None:
    desk.plan.allowed_channels = [Channel.EMAIL, Channel.PORTAL]
    desk.plan.save()
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:call-log"),
        {
            "contact": cast.customer_contact.email,
            "subject": "Urgent",
            "category": Category.INCIDENT,
        },
    )
    assert response.status_code == 200
    assert "does not include support by phone" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()


def test_phone_intake_names_an_unknown_caller(cast: Cast, desk: Desk) -> None:
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:call-log"),
        {"contact": "nobody@example.test", "subject": "x", "category": Category.QUESTION},
    )
    assert "No contact has this e-mail address." in response.content.decode()


def test_the_timeline_names_statuses_in_the_readers_language(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    client = client_for(cast.agent, cast.tenant_a)
    client.post(reverse("tickets:ticket-status", args=[ticket.pk]), {"status": Status.PENDING})
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    export = client.get(reverse("tickets:ticket-history", args=[ticket.pk])).content.decode()
    for text in (page, export):
        assert "Nytt → Väntar på kund" in text or "Nytt -> Väntar på kund" in text
        assert ": new" not in text and "pending" not in text


def _status_select(page: HttpResponse) -> list[tuple[str, bool, str]]:
    """(value, selected, label) of each option of the status select, in order."""
    html = page.content.decode()
    select = re.search(r'<select id="id_status" name="status">(.*?)</select>', html, re.S)
    assert select is not None, "no status select on the page"
    # The Closed option also carries its confirmation question (data-confirm, docs/keyboard.md).
    options = re.findall(r'<option value="([^"]*)"( selected)?[^>]*>([^<]*)</option>', select[1])
    return [(value, bool(selected), label) for value, selected, label in options]


@pytest.mark.parametrize("status", [s for s in Status if s != Status.CLOSED])
def test_the_status_select_starts_on_the_current_status_and_offers_the_allowed_moves(
    cast: Cast, desk: Desk, status: Status
) -> None:
    ticket = _ticket(cast)
    with scope(tenant=cast.tenant_a):
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[ticket.pk]))
    options = _status_select(page)
    assert options[0] == ("", True, status.label)
    assert [label for _value, selected, label in options if selected] == [status.label]
    assert [value for value, _s, _l in options[1:]] == [
        s for s in Status if s in TRANSITIONS[status]
    ]


def test_pressing_change_on_the_select_as_shown_changes_nothing(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    page = client.get(reverse("tickets:ticket", args=[ticket.pk]))
    shown = next(value for value, selected, _label in _status_select(page) if selected)
    client.post(reverse("tickets:ticket-status", args=[ticket.pk]), {"status": shown})
    client.post(reverse("tickets:ticket-status", args=[ticket.pk]), {"status": Status.NEW})
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        assert ticket.status == Status.NEW
        assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS_CHANGED)


def test_closing_asks_for_confirmation_and_closes_only_when_confirmed(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-status", args=[ticket.pk])
    refused = client.post(url, {"status": Status.CLOSED}, follow=True)
    assert "Tick the box to confirm" in refused.content.decode()
    assert 'name="confirm_close"' in refused.content.decode()
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    client.post(url, {"status": Status.CLOSED, "confirm_close": "1"})
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_a_closed_ticket_says_it_is_final_instead_of_an_empty_select(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    client.post(
        reverse("tickets:ticket-status", args=[ticket.pk]),
        {"status": Status.CLOSED, "confirm_close": "1"},
    )
    html = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert 'id="id_status"' not in html
    assert "A closed ticket is final" in html


def test_a_solved_ticket_is_reopened_by_the_agent_or_by_the_customers_reply(
    cast: Cast, desk: Desk
) -> None:
    ticket = _ticket(cast)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-status", args=[ticket.pk])
    client.post(url, {"status": Status.SOLVED})
    client.post(url, {"status": Status.OPEN})
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
    client.post(url, {"status": Status.SOLVED})
    with scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket,
            body="It broke again.",
            public=True,
            channel=Channel.PORTAL,
            author_contact=cast.customer_contact,
        )
        ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
