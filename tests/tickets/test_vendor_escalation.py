"""Vendor escalation is a state (issue 15 item 5, Synerity): escalated, waiting on the
vendor, fixed, with the vendor's reference and date; waiting on the vendor pauses the
resolution clock where the tenant chose that; the assignee is reminded, exactly once per
period, when a customer on a plan with proactive updates has had no update for N business
days."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from contracts.models import Feature, PlanFeature
from notifications.models import Notice
from sla.models import Clock, ClockState, Metric
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel, Status, VendorState
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import (
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    ticket_vendor_escalate,
)
from tickets.tasks import vendor_updates_remind_all
from tickets.vendor import PROACTIVE_FEATURE, update_period, vendor_updates_due

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _new(cast: Cast) -> Ticket:
    ticket = ticket_create(
        tenant=cast.tenant_a,
        requester=cast.customer_contact,
        subject="Triggers stopped firing",
        description="Since the Zendesk update.",
        channel=Channel.EMAIL,
    )
    return ticket_assign(ticket=ticket, assignee=cast.agent, actor=cast.agent)


def _escalate(ticket: Ticket, cast: Cast, state: str | None, reference: str | None) -> Ticket:
    return ticket_vendor_escalate(ticket=ticket, state=state, reference=reference, actor=cast.agent)


def _proactive(desk: Desk, cast: Cast) -> None:
    feature = Feature.objects.create(
        tenant=cast.tenant_a, key=PROACTIVE_FEATURE, name="Proactive vendor updates"
    )
    PlanFeature.objects.create(tenant=cast.tenant_a, plan=desk.plan, feature=feature)


# --- The state ---------------------------------------------------------------------------


def test_a_reference_alone_escalates_and_dates_the_escalation(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        ticket = _escalate(_new(cast), cast, None, "Zendesk #4711")
    assert ticket.vendor_state == VendorState.ESCALATED
    assert ticket.vendor_escalated_at == at(2026, 3, 2, 10, 0)
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.VENDOR_STATE)
    assert (event.old_value, event.new_value) == (VendorState.NONE, VendorState.ESCALATED)
    assert not event.is_public


def test_waiting_then_fixed_keeps_the_first_escalation_date_and_none_clears_it(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False) as traveller:
        ticket = _escalate(_new(cast), cast, VendorState.WAITING, "Zendesk #4711")
        traveller.move_to(at(2026, 3, 3, 10, 0))
        ticket = _escalate(ticket, cast, VendorState.FIXED, None)
        assert ticket.vendor_escalated_at == at(2026, 3, 2, 10, 0)
        ticket = _escalate(ticket, cast, VendorState.NONE, "")
    assert (ticket.vendor_state, ticket.vendor_escalated_at) == (VendorState.NONE, None)
    kinds = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.VENDOR_STATE)
    assert [e.new_value for e in kinds.order_by("id")] == ["waiting", "fixed", "none"]


def test_a_state_without_a_reference_is_refused_and_saves_nothing(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _new(cast)
    with pytest.raises(ValidationError) as refused:
        _escalate(ticket, cast, VendorState.WAITING, "")
    assert "vendor_reference" in refused.value.message_dict
    ticket.refresh_from_db()
    assert ticket.vendor_state == VendorState.NONE
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.VENDOR_STATE).exists()


def test_an_unknown_state_and_a_too_long_reference_are_refused(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    ticket = _new(cast)
    with pytest.raises(ValidationError) as unknown:
        _escalate(ticket, cast, "lost", "Zendesk #1")
    assert "vendor_state" in unknown.value.message_dict
    with pytest.raises(ValidationError) as long:
        _escalate(ticket, cast, VendorState.ESCALATED, "x" * 201)
    assert "vendor_reference" in long.value.message_dict
    ticket.refresh_from_db()
    assert (ticket.vendor_state, ticket.vendor_reference) == (VendorState.NONE, "")


def test_a_solved_ticket_cannot_be_escalated(cast: Cast, desk: Desk, in_tenant_a: object) -> None:
    ticket = ticket_change_status(
        ticket=_new(cast), status=Status.SOLVED, actor=cast.agent, channel=Channel.PORTAL
    )
    with pytest.raises(ValidationError) as refused:
        _escalate(ticket, cast, VendorState.WAITING, "Zendesk #4711")
    assert "vendor_state" in refused.value.message_dict


# --- The resolution clock ------------------------------------------------------------------


def _resolution(ticket: Ticket) -> Clock:
    return Clock.objects.get(ticket=ticket, metric=Metric.RESOLUTION)


def test_waiting_on_the_vendor_pauses_the_resolution_clock_when_the_tenant_says_so(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    cast.tenant_a.vendor_wait_pauses_resolution = True
    cast.tenant_a.save()
    engine = desk.office.engine
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:  # Monday
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 11, 0))
        ticket = _escalate(ticket, cast, VendorState.WAITING, "Zendesk #4711")
        paused = _resolution(ticket)
        assert paused.state == ClockState.PAUSED and paused.due_at is None
        first = Clock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
        assert first.state == ClockState.RUNNING  # only the resolution clock waits
        traveller.move_to(at(2026, 3, 4, 11, 0))  # Wednesday
        ticket = _escalate(ticket, cast, VendorState.FIXED, None)
    running = _resolution(ticket)
    budget = engine.between(at(2026, 3, 2, 9, 0), engine.add_days(at(2026, 3, 2, 9, 0), 2))
    assert running.state == ClockState.RUNNING
    assert running.due_at == engine.add(at(2026, 3, 4, 11, 0), budget - dt.timedelta(hours=2))


def test_waiting_on_the_vendor_does_not_pause_by_default(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 11, 0))
        ticket = _escalate(ticket, cast, VendorState.WAITING, "Zendesk #4711")
    assert _resolution(ticket).state == ClockState.RUNNING


def test_the_pause_explanation_names_the_vendor(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    cast.tenant_a.vendor_wait_pauses_resolution = True
    cast.tenant_a.save()
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 11, 0))
        _escalate(ticket, cast, VendorState.WAITING, "Zendesk #4711")
        page = client_for(cast.agent, cast.tenant_a).get(
            reverse("tickets:ticket", args=[ticket.pk])
        )
    assert "waiting on the vendor" in page.content.decode()


# --- Reminders -----------------------------------------------------------------------------


def test_update_periods_count_working_days(desk: Desk) -> None:
    engine = desk.office.engine
    friday = at(2026, 3, 6, 10, 0)
    assert update_period(engine=engine, since=friday, days=2, now=at(2026, 3, 9, 16, 0)) == 0
    assert update_period(engine=engine, since=friday, days=2, now=at(2026, 3, 10, 17, 0)) == 1
    assert update_period(engine=engine, since=friday, days=2, now=at(2026, 3, 12, 17, 0)) == 2


def _waiting_ticket(cast: Cast) -> Ticket:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        return _escalate(_new(cast), cast, VendorState.WAITING, "Zendesk #4711")


def test_the_assignee_is_reminded_once_per_period_on_a_proactive_plan(
    cast: Cast, desk: Desk
) -> None:
    cast.tenant_a.vendor_update_days = 2
    cast.tenant_a.save()
    with scope(tenant=cast.tenant_a):
        _proactive(desk, cast)
        ticket = _waiting_ticket(cast)
    with time_machine.travel(at(2026, 3, 3, 16, 0), tick=False):  # 1 working day later
        assert vendor_updates_remind_all() == 0
    with time_machine.travel(at(2026, 3, 4, 17, 30), tick=False):
        assert vendor_updates_remind_all() == 1
        assert vendor_updates_remind_all() == 1  # the next sweep: still one notice
    with scope(tenant=cast.tenant_a):
        notices = list(Notice.objects.filter(ticket=ticket))
    assert len(notices) == 1 and notices[0].recipient == cast.agent
    assert "Zendesk #4711" in notices[0].text
    with time_machine.travel(at(2026, 3, 6, 17, 30), tick=False):
        vendor_updates_remind_all()
    with scope(tenant=cast.tenant_a):
        assert Notice.objects.filter(ticket=ticket).count() == 2  # the second period


def test_a_public_reply_starts_the_period_again(cast: Cast, desk: Desk) -> None:
    cast.tenant_a.vendor_update_days = 2
    cast.tenant_a.save()
    with scope(tenant=cast.tenant_a):
        _proactive(desk, cast)
        ticket = _waiting_ticket(cast)
        with time_machine.travel(at(2026, 3, 4, 10, 0), tick=False):
            ticket_reply(
                ticket=ticket, body="Zendesk is on it.", public=True, channel=Channel.PORTAL,
                author=cast.agent,
            )  # fmt: skip
        with time_machine.travel(at(2026, 3, 5, 17, 30), tick=False):
            assert vendor_updates_due(tenant=cast.tenant_a, now=at(2026, 3, 5, 17, 30)) == []
            assert len(vendor_updates_due(tenant=cast.tenant_a, now=at(2026, 3, 6, 17, 30))) == 1


def test_a_plan_without_proactive_updates_gets_no_reminder(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        _waiting_ticket(cast)
    with time_machine.travel(at(2026, 3, 20, 17, 30), tick=False):
        assert vendor_updates_remind_all() == 0
    with scope(tenant=cast.tenant_a):
        assert not Notice.objects.exists()


def test_the_sweep_takes_the_same_number_of_queries_for_one_ticket_or_five(
    cast: Cast, desk: Desk
) -> None:
    with scope(tenant=cast.tenant_a):
        _proactive(desk, cast)
        _waiting_ticket(cast)
        now = at(2026, 3, 20, 17, 30)
        with CaptureQueriesContext(connection) as one:
            assert len(vendor_updates_due(tenant=cast.tenant_a, now=now)) == 1
        for _ in range(4):
            _waiting_ticket(cast)
        with CaptureQueriesContext(connection) as five:
            assert len(vendor_updates_due(tenant=cast.tenant_a, now=now)) == 5
    assert len(five) == len(one) <= 8


# --- Pages and API -------------------------------------------------------------------------


def test_the_agent_page_sets_the_state_and_shows_it(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _new(cast)
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("tickets:ticket-vendor", args=[ticket.pk]),
        {"vendor_state": VendorState.WAITING, "vendor_reference": "Zendesk #4711"},
    )
    assert response.status_code == 302
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "Waiting on the vendor" in page
    bad = client.post(
        reverse("tickets:ticket-vendor", args=[ticket.pk]),
        {"vendor_state": "lost", "vendor_reference": "Zendesk #4711"},
    )
    assert bad.status_code in (200, 302, 400)
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=ticket.pk).vendor_state == VendorState.WAITING


def test_the_customer_reads_the_state_in_plain_words(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _escalate(_new(cast), cast, VendorState.WAITING, "Zendesk #4711")
    page = client_for(cast.customer, cast.tenant_a).get(
        reverse("portal:ticket-detail", args=[ticket.pk])
    )
    assert "We are waiting on the vendor" in page.content.decode()


def test_the_api_shows_and_patches_the_state(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = _new(cast)
        version = ticket.version
    client = api_client_for(cast.agent, cast.tenant_a)
    url = f"/api/v1/tickets/{ticket.pk}/"
    bad = client.patch(
        url, json.dumps({"version": version, "vendor_state": "waiting"}),
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and "vendor_reference" in bad.json()
    ok = client.patch(
        url,
        json.dumps({"version": version, "vendor_state": "waiting", "vendor_reference": "ZD-1"}),
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    body = client.get(url).json()
    assert body["vendor_state"] == "waiting" and body["vendor_escalated_at"]


def test_the_admin_sets_the_rules_and_bad_input_is_refused(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("tickets:vendor-settings")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"vendor_update_days": "0"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    cast.tenant_a.refresh_from_db()
    assert cast.tenant_a.vendor_update_days == 3
    ok = client.post(url, {"vendor_update_days": "5", "vendor_wait_pauses_resolution": "on"})
    assert ok.status_code == 302
    cast.tenant_a.refresh_from_db()
    assert cast.tenant_a.vendor_update_days == 5 and cast.tenant_a.vendor_wait_pauses_resolution


def test_the_openapi_schema_names_the_state_and_its_values(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    schema = json.dumps(json.loads(client.get("/api/v1/schema/", {"format": "json"}).content))
    assert '"vendor_state"' in schema and '"vendor_escalated_at"' in schema
    assert all(f'"{value}"' in schema for value in VendorState.values)


def test_a_tenants_sweep_never_sees_another_tenants_waiting_tickets(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        _proactive(desk, cast)
    with scope(tenant=cast.tenant_b):
        other = ticket_create(
            tenant=cast.tenant_b, requester=cast.contact_b, subject="B", description="",
            channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
        other = ticket_assign(ticket=other, assignee=cast.agent_b, actor=cast.agent_b)
        ticket_vendor_escalate(
            ticket=other, state=VendorState.WAITING, reference="ZD-B", actor=cast.agent_b
        )
    with scope(tenant=cast.tenant_a):
        assert vendor_updates_due(tenant=cast.tenant_a, now=at(2027, 1, 1, 12, 0)) == []
