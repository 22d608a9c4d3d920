"""Routing rules (#15 item 6): where a new ticket goes and who hears about it, applied once
at filing for every channel, recorded in the history, mailed through the outbox."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from contracts.models import Contact, Organisation, SupportPlan
from notifications.services import deliveries_relay
from sla.models import Priority
from supportdesk.demo import demo_file
from supportdesk.models import Membership, Tenant
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Category, Channel, SupportLine
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.models import EventKind, NotifyRole, RoutingRule, Ticket, TicketEvent
from tickets.routing.services import routing_rule_move, routing_rule_save
from tickets.services import ticket_create
from tickets.templatetags.ticket_tags import event_value

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _rule(cast: Cast, name: str, **values: Any) -> RoutingRule:
    with scope(tenant=cast.tenant_a):
        return routing_rule_save(
            rule=RoutingRule(tenant=cast.tenant_a, name=name, **values), actor=cast.admin
        )


def _file(cast: Cast, **values: Any) -> Ticket:
    values = {
        "tenant": cast.tenant_a,
        "requester": cast.customer_contact,
        "subject": "Export fails",
        "description": "Since the update.",
        "channel": Channel.EMAIL,
        **values,
    }
    with scope(tenant=cast.tenant_a):
        return ticket_create(**values)


def _routed(cast: Cast, ticket: Ticket) -> TicketEvent | None:
    with scope(tenant=cast.tenant_a):
        return TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ROUTED).first()


def _account(cast: Cast, **people: Any) -> None:
    for name, person in people.items():
        setattr(cast.org_a, name, person)
    with scope(tenant=cast.tenant_a):
        cast.org_a.save()


def test_without_rules_a_ticket_waits_unassigned_on_the_first_line(cast: Cast, desk: Desk) -> None:
    ticket = _file(cast)
    assert (ticket.assignee_id, ticket.support_line) == (None, SupportLine.FIRST)
    assert _routed(cast, ticket) is None


def test_the_first_matching_rule_that_assigns_decides_the_assignment(
    cast: Cast, desk: Desk
) -> None:
    _rule(cast, "Bugs to the 2nd line", category=Category.BUG, support_line=SupportLine.SECOND)
    _rule(cast, "Everything to the agent", assignee=cast.agent)
    _rule(cast, "Never reached", assignee=cast.admin, support_line=SupportLine.THIRD)
    bug = _file(cast, category=Category.BUG)
    assert (bug.assignee_id, bug.support_line) == (None, SupportLine.SECOND)
    question = _file(cast, category=Category.QUESTION)
    assert (question.assignee_id, question.support_line) == (cast.agent.pk, SupportLine.FIRST)
    with scope(tenant=cast.tenant_a):
        question.refresh_from_db()
        assert question.assignee_id == cast.agent.pk, "stored, not only returned"


def test_every_condition_a_rule_gives_must_match(cast: Cast, desk: Desk) -> None:
    _rule(
        cast,
        "P1 incidents of Org A on Gold by e-mail",
        organisation=cast.org_a,
        plan=desk.plan,
        category=Category.INCIDENT,
        channel=Channel.EMAIL,
        priority=desk.p1,
        assignee=cast.agent,
    )
    given = {"category": Category.INCIDENT, "channel": Channel.EMAIL, "priority": desk.p1}
    assert _file(cast, **given).assignee_id == cast.agent.pk
    for change in (
        {"category": Category.QUESTION},
        {"channel": Channel.PORTAL},
        {"priority": desk.p2},
        {"requester": cast.named_contact, "enforce_entitlement": False},
    ):
        if "requester" in change:  # another organisation: move Nils out of Org A
            with scope(tenant=cast.tenant_a):
                other = Organisation.objects.create(tenant=cast.tenant_a, name="Org C")
                cast.named_contact.organisation = other
                cast.named_contact.save()
        assert _file(cast, **{**given, **change}).assignee_id is None, change


def test_the_plan_condition_reads_the_plan_in_force_at_filing(cast: Cast, desk: Desk) -> None:
    _rule(cast, "Gold customers", plan=desk.plan, support_line=SupportLine.SECOND)
    assert _file(cast).support_line == SupportLine.SECOND
    with scope(tenant=cast.tenant_a):
        desk.contract.status = "expired"
        desk.contract.save()
    assert _file(cast, enforce_entitlement=False).support_line == SupportLine.FIRST


def test_inactive_rules_and_other_tenants_rules_never_apply(cast: Cast, desk: Desk) -> None:
    _rule(cast, "Switched off", assignee=cast.agent, is_active=False)
    with scope(tenant=cast.tenant_b):
        RoutingRule.objects.create(
            tenant=cast.tenant_b, name="B's", support_line=SupportLine.THIRD, position=0
        )
    ticket = _file(cast)
    assert (ticket.assignee_id, ticket.support_line) == (None, SupportLine.FIRST)


def test_the_notifications_of_every_matching_rule_apply_once_per_person(
    cast: Cast, desk: Desk
) -> None:
    _account(cast, account_manager=cast.manager, customer_success_manager=cast.admin)
    _rule(
        cast,
        "Enterprise to the CSM",
        plan=desk.plan,
        notify_roles=[NotifyRole.CUSTOMER_SUCCESS_MANAGER],
    )
    _rule(
        cast,
        "Tell the account",
        notify_roles=[NotifyRole.ACCOUNT_MANAGER, NotifyRole.CUSTOMER_SUCCESS_MANAGER],
        assignee=cast.agent,
    )
    routed = _routed(cast, _file(cast))
    assert routed is not None
    people = {p["user_id"]: p for p in routed.data["notify"]}
    assert set(people) == {cast.admin.pk, cast.manager.pk}
    assert people[cast.admin.pk]["roles"] == [NotifyRole.CUSTOMER_SUCCESS_MANAGER]
    assert people[cast.admin.pk]["rules"] == ["Enterprise to the CSM", "Tell the account"]
    assert people[cast.manager.pk]["roles"] == [NotifyRole.ACCOUNT_MANAGER]
    assert [r["name"] for r in routed.data["rules"]] == [
        "Enterprise to the CSM",
        "Tell the account",
    ]


@pytest.mark.parametrize(
    ("ends", "notified"), [(None, True), (0, True), (-1, False)], ids=["open", "today", "ended"]
)
def test_the_project_manager_is_notified_only_while_the_project_runs(
    cast: Cast, desk: Desk, ends: int | None, notified: bool
) -> None:
    # The tenant's day, as routing counts it: near midnight UTC it is already tomorrow there.
    today = timezone.localdate(timezone=ZoneInfo(cast.tenant_a.time_zone))
    ends_on = None if ends is None else today + dt.timedelta(days=ends)
    _account(cast, project_manager=cast.agent, project_ends_on=ends_on)
    _rule(cast, "During the project", notify_roles=[NotifyRole.PROJECT_MANAGER])
    routed = _routed(cast, _file(cast))
    assert routed is not None
    assert [p["user_id"] for p in routed.data["notify"]] == ([cast.agent.pk] if notified else [])
    assert routed.data["unfilled"] == ([] if notified else [NotifyRole.PROJECT_MANAGER])


def test_the_routing_is_recorded_as_an_internal_event_in_words(cast: Cast, desk: Desk) -> None:
    _account(cast, customer_success_manager=cast.admin)
    _rule(
        cast,
        "Gold",
        assignee=cast.agent,
        support_line=SupportLine.SECOND,
        notify_roles=[NotifyRole.CUSTOMER_SUCCESS_MANAGER, NotifyRole.SERVICE_OWNER],
    )
    ticket = _file(cast)
    routed = _routed(cast, ticket)
    assert routed is not None and not routed.is_public and routed.new_value == "Gold"
    assert routed.data["assignee_id"] == cast.agent.pk and routed.data["line"] == 2
    with translation.override("en"):
        words = event_value(routed, "new")
    assert words == (
        f"Gold: assigned to {cast.agent}; support line: 2nd line; notified: "
        f"{cast.admin} (Customer Success Manager); nobody to notify as: Service owner"
    )
    with translation.override("sv"):
        assert "tilldelad" in event_value(routed, "new").lower()
    with scope(tenant=cast.tenant_a):
        assert routed not in ticket.timeline(public_only=True)
        with pytest.raises(TypeError):
            TicketEvent.objects.filter(pk=routed.pk).delete()
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[ticket.pk]))
    assert "Routed by rule" in page.content.decode() or "Dirigerad" in page.content.decode()


def test_the_account_people_are_mailed_through_the_outbox_once(cast: Cast, desk: Desk) -> None:
    _account(cast, account_manager=cast.manager, customer_success_manager=cast.admin)
    _rule(
        cast,
        "Tell the account",
        notify_roles=[NotifyRole.ACCOUNT_MANAGER, NotifyRole.CUSTOMER_SUCCESS_MANAGER],
    )
    ticket = _file(cast)
    with scope(tenant=cast.tenant_a):
        assert not OutboundEmail.objects.filter(kind=OutboundKind.ROUTING_NOTICE).exists()
    deliveries_relay()
    deliveries_relay()  # the relay again: nothing twice
    with scope(tenant=cast.tenant_a):
        mails = OutboundEmail.objects.filter(kind=OutboundKind.ROUTING_NOTICE)
        mails = mails.order_by("to_address")
        assert [m.to_address for m in mails] == [cast.admin.email, cast.manager.email]
        assert all(ticket.reference in m.subject for m in mails)
        assert "Customer Success Manager" in mails[0].body
        assert "Tell the account" in mails[0].body


def test_someone_who_left_the_tenant_is_neither_assigned_nor_mailed(cast: Cast, desk: Desk) -> None:
    _account(cast, account_manager=cast.manager)
    _rule(
        cast,
        "To the agent",
        assignee=cast.agent,
        support_line=SupportLine.SECOND,
        notify_roles=[NotifyRole.ACCOUNT_MANAGER],
    )
    with scope(tenant=cast.tenant_a):
        Membership.objects.filter(user__in=[cast.agent, cast.manager]).delete()
    ticket = _file(cast)
    assert (ticket.assignee_id, ticket.support_line) == (None, SupportLine.SECOND)
    routed = _routed(cast, ticket)
    assert routed is not None and routed.data["assignee_refused"] == str(cast.agent)
    deliveries_relay()
    with scope(tenant=cast.tenant_a):
        assert not OutboundEmail.objects.filter(kind=OutboundKind.ROUTING_NOTICE).exists()


def test_rules_apply_to_a_ticket_filed_through_the_portal_api(cast: Cast, desk: Desk) -> None:
    _rule(cast, "Portal to the agent", channel=Channel.API, assignee=cast.agent)
    client = api_client_for(cast.customer, cast.tenant_a)
    body = {"subject": "Export fails", "description": "Since the update."}
    response = client.post("/api/v1/portal/tickets/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get(reference=response.json()["reference"])
        assert ticket.assignee_id == cast.agent.pk


def test_filing_costs_the_same_however_many_rules_the_tenant_has(cast: Cast, desk: Desk) -> None:
    _account(cast, customer_success_manager=cast.admin)
    _rule(cast, "Assign", assignee=cast.agent, notify_roles=[NotifyRole.CUSTOMER_SUCCESS_MANAGER])
    _file(cast, subject="warm up")

    def cost() -> int:
        with CaptureQueriesContext(connection) as ctx:
            _file(cast)
        return len(ctx.captured_queries)

    few = cost()
    for n in range(10):
        _rule(
            cast,
            f"Other {n}",
            category=Category.BUG,
            notify_roles=[NotifyRole.CUSTOMER_SUCCESS_MANAGER],
        )
    assert cost() == few


# --- Order ----------------------------------------------------------------------------


def test_moving_a_rule_numbers_the_rules_again(cast: Cast, desk: Desk) -> None:
    one, two, three = (_rule(cast, n, support_line=2) for n in ("one", "two", "three"))
    with scope(tenant=cast.tenant_a):
        routing_rule_move(rule=three, position=1, actor=cast.admin)
        assert list(RoutingRule.objects.values_list("name", "position")) == [
            ("three", 1),
            ("one", 2),
            ("two", 3),
        ]
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(f"/manage/routing/{one.pk}/move/", {"position": "3"})
    assert response.status_code == 302
    response = client.post(f"/manage/routing/{two.pk}/delete/")
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert list(RoutingRule.objects.values_list("name", "position")) == [
            ("three", 1),
            ("one", 2),
        ]


# --- The admin's form -------------------------------------------------------------------


def _form(**values: Any) -> dict[str, Any]:
    return {"name": "Rule", "is_active": "on", "support_line": "", **values}


def test_the_admin_creates_and_edits_a_rule_in_the_form(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    assert client.get("/manage/routing/").status_code == 200
    response = client.post(
        "/manage/routing/new/",
        _form(
            plan=desk.plan.pk,
            notify_roles=[NotifyRole.CUSTOMER_SUCCESS_MANAGER],
            assignee=cast.agent.pk,
        ),
    )
    assert response.status_code == 302, response.content.decode()
    with scope(tenant=cast.tenant_a):
        rule = RoutingRule.objects.get()
        assert (rule.plan_id, rule.assignee_id, rule.notify_roles) == (
            desk.plan.pk,
            cast.agent.pk,
            [NotifyRole.CUSTOMER_SUCCESS_MANAGER],
        )
    response = client.post(f"/manage/routing/{rule.pk}/", _form(name="Renamed", support_line=3))
    assert response.status_code == 302
    listing = client.get("/manage/routing/").content.decode()
    assert "Renamed" in listing


@pytest.mark.parametrize(
    "field", ["organisation", "plan", "assignee", "not_an_agent", "no_action", "priority"]
)
def test_the_form_refuses_what_is_not_this_tenants_with_a_message(
    cast: Cast, desk: Desk, field: str
) -> None:
    with scope(tenant=cast.tenant_b):
        plan_b = SupportPlan.objects.create(tenant=cast.tenant_b, name="B plan")
        priority_b = Priority.objects.create(tenant=cast.tenant_b, key="PB", name="B", rank=1)
    values = {
        "organisation": _form(organisation=cast.org_b.pk, support_line=2),
        "plan": _form(plan=plan_b.pk, support_line=2),
        "priority": _form(priority=priority_b.pk, support_line=2),
        "assignee": _form(assignee=cast.agent_b.pk),
        "not_an_agent": _form(assignee=cast.manager.pk),
        "no_action": _form(),
    }[field]
    client = client_for(cast.admin, cast.tenant_a)
    with translation.override("sv"):
        response = client.post("/manage/routing/new/", values, HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode() or "errorlist" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not RoutingRule.objects.exists()


# --- The API ------------------------------------------------------------------------------


def test_the_api_creates_moves_and_deletes_rules(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    url = "/api/v1/routing-rules/"
    first = client.post(url, {"name": "First", "support_line": 2}, content_type="application/json")
    assert first.status_code == 201, first.content
    second = client.post(
        url,
        {"name": "Second", "plan": desk.plan.pk, "notify_roles": ["account_manager"]},
        content_type="application/json",
    )
    assert second.status_code == 201 and second.json()["position"] == 2
    moved = client.patch(
        f"{url}{second.json()['id']}/", {"position": 1}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["position"] == 1
    assert [r["name"] for r in client.get(url).json()] == ["Second", "First"]
    assert client.delete(f"{url}{first.json()['id']}/").status_code == 204
    assert [r["name"] for r in client.get(url).json()] == ["Second"]


@pytest.mark.parametrize("field", ["organisation", "assignee", "no_action", "position"])
def test_the_api_refuses_what_is_not_this_tenants_with_400(
    cast: Cast, desk: Desk, field: str
) -> None:
    body = {
        "organisation": {"name": "x", "organisation": cast.org_b.pk, "support_line": 2},
        "assignee": {"name": "x", "assignee": cast.agent_b.pk},
        "no_action": {"name": "x"},
        "position": {"name": "x", "support_line": 2, "position": 0},
    }[field]
    client = api_client_for(cast.admin, cast.tenant_a)
    response = client.post("/api/v1/routing-rules/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    with scope(tenant=cast.tenant_a):
        assert not RoutingRule.objects.exists()


def test_only_admins_read_the_rules(cast: Cast, desk: Desk) -> None:
    _rule(cast, "Secret", support_line=2)
    for user in (cast.agent, cast.manager):
        assert api_client_for(user, cast.tenant_a).get("/api/v1/routing-rules/").status_code == 404


# --- The demo ---------------------------------------------------------------------------


def _seed_stratsys(tmp_path: Path, change: Any = None) -> None:
    data = yaml.safe_load(demo_file("stratsys").read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    (tmp_path / "stratsys.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("seed_demo", demo_dir=tmp_path, stdout=io.StringIO())


def test_the_stratsys_demo_routes_enterprise_tickets_to_their_csm(tmp_path: Path) -> None:
    _seed_stratsys(tmp_path)
    tenant = Tenant.objects.get(slug="stratsys")
    with scope(tenant=tenant):
        names = list(RoutingRule.objects.values_list("name", flat=True))
        assert names[0] == "Enterprise → Customer Success Manager" and len(names) == 6
        lena = Contact.objects.get(email="lena.nystrom@nordby.example.se")
        ticket = ticket_create(
            tenant=tenant,
            requester=lena,
            subject="Oväntat fel",
            description="Vid export.",
            channel=Channel.PORTAL,
            category=Category.BUG,
        )
        routed = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ROUTED)
        csm = lena.organisation.customer_success_manager  # type: ignore[union-attr]
        assert [p["user_id"] for p in routed.data["notify"]] == [csm.pk]
        assert ticket.assignee is not None and ticket.assignee.username == "stratsys-agent"


def test_a_broken_demo_rule_is_refused_naming_its_key(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["routing_rules"][0]["notify"] = ["chief_executive"]

    with pytest.raises(CommandError, match=r"routing_rules\[0\]\.notify: "):
        _seed_stratsys(tmp_path, change)
    assert not Tenant.objects.filter(slug="stratsys").exists()
