"""Escalation rules and warnings: acted on exactly once per ticket, metric and threshold,
batched per person into one mail with a stable Message-ID."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django_scopes import scopes_disabled

from contracts.models import Organisation
from notifications.models import Notice, NoticeMail
from sla.models import Alert, Clock, EscalationRule, Metric
from sla.services import sla_sweep
from tests.conftest import Cast
from tickets.choices import Category, Channel, SupportLine
from tickets.mail.models import OutboundEmail, OutboundKind, OutboundStatus
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _new(cast: Cast, **kwargs: object) -> Ticket:
    values: dict[str, object] = {
        "tenant": cast.tenant_a,
        "requester": cast.customer_contact,
        "subject": "Everything is down",
        "description": "",
        "channel": Channel.EMAIL,
    }
    values.update(kwargs)
    return ticket_create(**values)  # type: ignore[arg-type]


def notice_mails() -> list[mail.EmailMessage]:
    """Our staff notices, sent through the mail outbox (the e-mail channel sends its own mails
    too)."""
    with scopes_disabled():
        notices = OutboundEmail.objects.filter(kind=OutboundKind.STAFF_NOTICE)
        ids = {f"<{message_id}>" for message_id in notices.values_list("message_id", flat=True)}
    return [m for m in mail.outbox if m.extra_headers.get("Message-ID") in ids]


def _org_staff(cast: Cast, **people: object) -> None:
    Organisation.objects.filter(pk=cast.org_a.pk).update(**people)
    cast.customer_contact.organisation.refresh_from_db()  # type: ignore[union-attr]


def test_a_p1_is_escalated_at_once_to_second_line_and_the_service_owner(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    _org_staff(cast, service_owner=cast.manager)
    rule = EscalationRule.objects.create(
        tenant=cast.tenant_a,
        name="P1 at once",
        priority=desk.p1,
        metric=Metric.RESOLUTION,
        threshold_percent=0,
        move_to_line=SupportLine.SECOND,
        notify_service_owner=True,
    )
    rule.notify_users.add(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ticket = _new(cast, priority=desk.p1)
    ticket.refresh_from_db()
    assert ticket.support_line == SupportLine.SECOND
    escalated = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED)
    assert escalated.new_value == str(SupportLine.SECOND.label)
    assert sorted(m.to[0] for m in notice_mails()) == sorted([cast.manager.email, cast.admin.email])
    sent = notice_mails()[0]
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    mail_row = NoticeMail.objects.select_related("outbound").get(to_email=sent.to[0])
    assert mail_row.outbound is not None
    assert sent.extra_headers["Message-ID"] == f"<{mail_row.outbound.message_id}>"
    assert mail_row.outbound.status == OutboundStatus.SENT
    assert ticket.reference in sent.body


def test_a_warning_is_sent_once_however_often_the_sweep_runs(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    EscalationRule.objects.create(
        tenant=cast.tenant_a,
        name="Warn at 75",
        metric=Metric.FIRST_RESPONSE,
        threshold_percent=75,
        notify_assignee=True,
    )
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        tickets = [_new(cast, subject=f"Ticket {i}") for i in range(3)]
        for ticket in tickets:
            ticket_assign(ticket=ticket, assignee=cast.agent, actor=cast.admin)
        clock = Clock.objects.get(ticket=tickets[0], metric=Metric.FIRST_RESPONSE)
        assert clock.next_alert_at == at(2026, 3, 2, 12, 0)
        # The sweep finds tickets by their earliest pending threshold, kept on the ticket row.
        tickets[0].refresh_from_db()
        assert tickets[0].next_alert_at == at(2026, 3, 2, 12, 0)
        traveller.move_to(at(2026, 3, 2, 11, 59))
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            assert sla_sweep() == 0
        traveller.move_to(at(2026, 3, 2, 12, 1))
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            assert sla_sweep() == 3
            assert sla_sweep() == 0
    # A busy morning is one mail listing the three tickets, not three mails.
    assert len(notice_mails()) == 1
    assert all(t.reference in notice_mails()[0].body for t in tickets)
    assert Alert.objects.filter(threshold_percent=75).count() == 3
    assert Notice.objects.count() == 3
    clock.refresh_from_db()
    assert clock.next_alert_at == at(2026, 3, 2, 13, 0)  # the breach is next
    tickets[0].refresh_from_db()
    assert tickets[0].next_alert_at == at(2026, 3, 2, 13, 0)


def test_a_breach_is_recorded_on_the_ticket_even_without_rules(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.move_to(at(2026, 3, 2, 13, 0, 30))
        sla_sweep()
        sla_sweep()
    breach = TicketEvent.objects.get(ticket=ticket, kind=EventKind.SLA_BREACHED)
    assert breach.data["metric"] == Metric.FIRST_RESPONSE
    clock = Clock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert clock.breached_at == at(2026, 3, 2, 13, 0)
    assert clock.next_alert_at is None


def test_out_of_scope_work_notifies_the_account_manager(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    _org_staff(cast, account_manager=cast.manager)
    desk.plan.notify_account_manager_out_of_scope = True
    desk.plan.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ticket = _new(cast, category=Category.OUT_OF_SCOPE, accepted_billable=True)
    assert [m.to for m in notice_mails()] == [[cast.manager.email]]
    assert ticket.reference in notice_mails()[0].body


def test_a_ticket_paused_before_a_threshold_is_not_warned(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    from tickets.choices import Status
    from tickets.services import ticket_change_status

    EscalationRule.objects.create(
        tenant=cast.tenant_a, name="Warn", metric=Metric.FIRST_RESPONSE, threshold_percent=50
    )
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        traveller.shift(dt.timedelta(minutes=30))
        ticket_change_status(
            ticket=ticket, status=Status.PENDING, actor=cast.agent, channel=Channel.PORTAL
        )
        traveller.move_to(at(2026, 3, 3, 9, 0))
        sla_sweep()
    assert not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_that_commits_ticket_by_ticket_still_sends_each_person_one_mail() -> None:
    from django_scopes import scope

    from tests.conftest import build_cast

    from .conftest import build_desk

    cast = build_cast()
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        rule = EscalationRule.objects.create(
            tenant=cast.tenant_a, name="Warn at 50", metric=Metric.FIRST_RESPONSE,
            threshold_percent=50,
        )  # fmt: skip
        rule.notify_users.add(cast.manager)
        with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
            for i in range(3):
                _new(cast, subject=f"Morning {i}")
            traveller.move_to(at(2026, 3, 2, 11, 5))
            assert sla_sweep() == 3
    assert len(notice_mails()) == 1
    assert notice_mails()[0].body.count("Morning") == 3


def test_a_warning_reached_only_when_the_breach_is_due_too_is_not_sent(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    """The sweep was away from 11:59 to 13:01: the 75 % warning and the breach are both due.
    Only the breach is announced; the warning's line move still applies, and neither comes
    again."""
    warn = EscalationRule.objects.create(
        tenant=cast.tenant_a, name="Warn at 75", metric=Metric.FIRST_RESPONSE,
        threshold_percent=75, notify_assignee=True, move_to_line=SupportLine.SECOND,
    )  # fmt: skip
    breach = EscalationRule.objects.create(
        tenant=cast.tenant_a, name="Breach", metric=Metric.FIRST_RESPONSE,
        threshold_percent=100, notify_assignee=True,
    )  # fmt: skip
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        ticket_assign(ticket=ticket, assignee=cast.agent, actor=cast.admin)
        traveller.move_to(at(2026, 3, 2, 13, 1))
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            assert sla_sweep() == 1
            sla_sweep()
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert EventKind.SLA_WARNING not in kinds
    assert kinds.count(EventKind.SLA_BREACHED) == 1 and kinds.count(EventKind.ESCALATED) == 1
    ticket.refresh_from_db()
    assert ticket.support_line == SupportLine.SECOND
    assert set(Alert.objects.values_list("threshold_percent", flat=True)) == {75, 100}
    assert [n.kind for n in Notice.objects.all()] == ["breach"]
    assert "breached" in notice_mails()[0].body and "75" not in notice_mails()[0].body
    assert warn.pk and breach.pk


def test_a_warning_crossed_before_the_breach_is_still_sent(
    cast: Cast, desk: Desk, in_tenant_a: object, django_capture_on_commit_callbacks: object
) -> None:
    EscalationRule.objects.create(
        tenant=cast.tenant_a, name="Warn at 75", metric=Metric.FIRST_RESPONSE,
        threshold_percent=75, notify_assignee=True,
    )  # fmt: skip
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False) as traveller:
        ticket = _new(cast)
        ticket_assign(ticket=ticket, assignee=cast.agent, actor=cast.admin)
        traveller.move_to(at(2026, 3, 2, 12, 59))
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            assert sla_sweep() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA_WARNING).count() == 1
    assert [n.kind for n in Notice.objects.all()] == ["warning"]
