"""ITSL's major incident (issue #15 item 4): a P1 affecting several organisations is declared
a major incident, the affected tickets are linked to it as caused by it, and one public
status update reaches every linked ticket at once, each requester on their own ticket."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_scopes import scope

from contracts.models import Contact, Organisation
from notifications.channels.email import notify_by_mail
from sla.models import Priority
from supportdesk.demo import demo_file
from supportdesk.models import Tenant
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel, Status
from tickets.links.services import ticket_link
from tickets.mail.models import OutboundEmail
from tickets.major.services import (
    major_incident_children,
    major_incident_link,
    major_incident_update,
    ticket_declare_major_incident,
    ticket_end_major_incident,
)
from tickets.models import EventKind, LinkKind, Message, Ticket, TicketEvent, TicketLink
from tickets.services import ticket_change_status, ticket_create

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _ticket(
    cast: Cast, subject: str, *, requester: Contact | None = None, priority: Priority | None = None
) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a, requester=requester or cast.customer_contact, subject=subject,
            description=f"{subject}: the description.", channel=Channel.EMAIL,
            enforce_entitlement=False, priority=priority,
        )  # fmt: skip


def _other_org_contact(cast: Cast) -> Contact:
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        return Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email="olle@other.test"
        )


def _major(cast: Cast, desk: Desk) -> Ticket:
    ticket = _ticket(cast, "Hubs down for everyone", priority=desk.p1)
    with scope(tenant=cast.tenant_a):
        return ticket_declare_major_incident(ticket=ticket, actor=cast.agent)


def _with_children(cast: Cast, desk: Desk) -> tuple[Ticket, Ticket, Ticket, Contact]:
    """A major incident, a child of org A and a child of another organisation."""
    major = _major(cast, desk)
    olle = _other_org_contact(cast)
    mine = _ticket(cast, "Carla cannot log in")
    theirs = _ticket(cast, "Olle's secret project is stuck", requester=olle)
    with scope(tenant=cast.tenant_a):
        major_incident_link(ticket=major, child=mine, actor=cast.agent)
        ticket_link(ticket=theirs, other=major, kind=LinkKind.CAUSED_BY, actor=cast.agent)
    return major, mine, theirs, olle


def _refused(call: Any, match: str) -> None:
    with pytest.raises(ValidationError) as refused:
        call()
    assert match in " ".join(refused.value.messages)


# --- declaring ----------------------------------------------------------------------------


def test_an_agent_declares_a_p1_ticket_a_major_incident_with_an_internal_event(
    cast: Cast, desk: Desk
) -> None:
    major = _major(cast, desk)
    with scope(tenant=cast.tenant_a):
        major.refresh_from_db()
        event = TicketEvent.objects.get(ticket=major, kind=EventKind.MAJOR_DECLARED)
    assert major.is_major_incident and major.major_incident_by == cast.agent
    assert event.is_public is False and event.actor == cast.agent


def test_it_refuses_a_ticket_that_is_not_of_the_most_urgent_priority(
    cast: Cast, desk: Desk
) -> None:
    for priority in (desk.p2, None):
        ticket = _ticket(cast, "Slow", priority=priority)
        with scope(tenant=cast.tenant_a):
            _refused(
                lambda t=ticket: ticket_declare_major_incident(ticket=t, actor=cast.agent),
                "most urgent priority (P1)",
            )
            assert Ticket.objects.get(pk=ticket.pk).major_incident_at is None


def test_the_most_urgent_priority_is_the_tenants_rank_1_whatever_its_key(
    cast: Cast, desk: Desk
) -> None:
    with scope(tenant=cast.tenant_a):
        Priority.objects.filter(pk=desk.p1.pk).update(rank=9)
        Priority.objects.filter(pk=desk.p2.pk).update(rank=1)
    p1_ticket = _ticket(cast, "Old P1", priority=desk.p1)
    p2_ticket = _ticket(cast, "Now the most urgent", priority=desk.p2)
    with scope(tenant=cast.tenant_a):
        _refused(lambda: ticket_declare_major_incident(ticket=p1_ticket, actor=cast.agent), "(P2)")
        assert ticket_declare_major_incident(ticket=p2_ticket, actor=cast.agent).major_incident_at


def test_it_refuses_a_solved_ticket_a_second_declaration_and_non_agents(
    cast: Cast, desk: Desk
) -> None:
    solved = _ticket(cast, "Fixed", priority=desk.p1)
    major = _major(cast, desk)
    with scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=solved, status=Status.SOLVED, actor=cast.agent, channel=Channel.PORTAL
        )
        _refused(lambda: ticket_declare_major_incident(ticket=solved, actor=cast.agent), "active")
        _refused(lambda: ticket_declare_major_incident(ticket=major, actor=cast.agent), "already")
        other = _ticket(cast, "Another P1", priority=desk.p1)
        for actor in (cast.manager, cast.customer, cast.agent_b):
            _refused(lambda a=actor: ticket_declare_major_incident(ticket=other, actor=a), "agents")
        assert not TicketEvent.objects.filter(ticket=other, kind=EventKind.MAJOR_DECLARED)


# --- children -----------------------------------------------------------------------------


def test_caused_by_links_from_any_organisation_are_the_children(cast: Cast, desk: Desk) -> None:
    major, mine, theirs, _olle = _with_children(cast, desk)
    related = _ticket(cast, "Only related")
    with scope(tenant=cast.tenant_a):
        ticket_link(ticket=related, other=major, kind=LinkKind.RELATED, actor=cast.agent)
        children = major_incident_children(ticket=major)
    assert [c.pk for c in children] == [mine.pk, theirs.pk]
    assert mine.organisation_id != theirs.organisation_id


def test_a_ticket_of_another_tenant_cannot_be_linked(cast: Cast, desk: Desk) -> None:
    major = _major(cast, desk)
    with scope(tenant=cast.tenant_b):
        foreign = ticket_create(
            tenant=cast.tenant_b, requester=cast.contact_b, subject="B", description="B",
            channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
    with scope(tenant=cast.tenant_a):
        _refused(
            lambda: major_incident_link(ticket=major, child=foreign, actor=cast.agent),
            "Unknown ticket",
        )
        _refused(
            lambda: ticket_link(
                ticket=foreign, other=major, kind=LinkKind.CAUSED_BY, actor=cast.agent
            ),
            "Unknown ticket",
        )
        assert not TicketLink.objects.filter(target=major).exists()


def test_linking_needs_a_major_incident_and_a_child_that_is_not_one(cast: Cast, desk: Desk) -> None:
    plain = _ticket(cast, "Plain", priority=desk.p1)
    child = _ticket(cast, "Child")
    major = _major(cast, desk)
    other_major = _major(cast, desk)
    with scope(tenant=cast.tenant_a):
        _refused(
            lambda: major_incident_link(ticket=plain, child=child, actor=cast.agent),
            "not a major incident",
        )
        _refused(
            lambda: major_incident_link(ticket=major, child=other_major, actor=cast.agent),
            "cannot be the child",
        )
        _refused(
            lambda: major_incident_link(ticket=major, child=major, actor=cast.agent),
            "cannot be the child",
        )


# --- the update ---------------------------------------------------------------------------


def test_one_update_is_a_public_reply_on_the_major_incident_and_every_open_child(
    cast: Cast, desk: Desk
) -> None:
    major, mine, theirs, _olle = _with_children(cast, desk)
    closed = _ticket(cast, "Closed child")
    solved = _ticket(cast, "Solved child")
    with scope(tenant=cast.tenant_a):
        for child, status in ((closed, Status.CLOSED), (solved, Status.SOLVED)):
            major_incident_link(ticket=major, child=child, actor=cast.agent)
            ticket_change_status(
                ticket=child, status=status, actor=cast.agent, channel=Channel.PORTAL
            )
        posted = major_incident_update(
            ticket=major, actor=cast.agent, body="We are restoring the database."
        )
        rows = list(
            Message.objects.filter(body__contains="restoring").values_list("ticket_id", "is_public")
        )
        child_events = TicketEvent.objects.filter(kind=EventKind.MAJOR_UPDATE, ticket=theirs)
        replied = TicketEvent.objects.filter(kind=EventKind.REPLIED, ticket=theirs).get()
    assert [m.ticket_id for m in posted] == [major.pk, mine.pk, theirs.pk]
    assert sorted(rows) == sorted([(major.pk, True), (mine.pk, True), (theirs.pk, True)])
    assert [e.is_public for e in child_events] == [False]
    assert replied.is_public and replied.actor == cast.agent


def test_each_requester_is_mailed_the_update_and_nothing_of_the_other_tickets(
    cast: Cast, desk: Desk
) -> None:
    major, _mine, theirs, olle = _with_children(cast, desk)
    with scope(tenant=cast.tenant_a):
        OutboundEmail.objects.all().delete()
        major_incident_update(ticket=major, actor=cast.agent, body="Restored at 14:05.")
        for event in TicketEvent.objects.filter(
            kind__in=[EventKind.REPLIED, EventKind.MAJOR_UPDATE]
        ):
            notify_by_mail(event)
        to_olle = list(OutboundEmail.objects.filter(to_address=olle.email))
    assert to_olle and all(m.ticket_id == theirs.pk for m in to_olle)
    text = " ".join(m.body + m.subject + m.html_body for m in to_olle)
    assert "Restored at 14:05." in text
    for secret in (major.reference, "Hubs down for everyone", "Carla", "Org A"):
        assert secret not in text


def test_the_other_organisations_requester_sees_only_the_update_in_the_portal(
    cast: Cast, desk: Desk
) -> None:
    major, mine, _theirs, _olle = _with_children(cast, desk)
    with scope(tenant=cast.tenant_a):
        major_incident_update(ticket=major, actor=cast.agent, body="Status: investigating.")
    page = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{mine.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "Status: investigating." in text
    assert major.reference not in text and "Olle" not in text


def test_an_update_is_refused_on_a_plain_ticket_and_for_bad_input(cast: Cast, desk: Desk) -> None:
    major, _mine, _theirs, _olle = _with_children(cast, desk)
    plain = _ticket(cast, "Plain", priority=desk.p1)
    with scope(tenant=cast.tenant_a):
        before = Message.objects.count()
        _refused(
            lambda: major_incident_update(ticket=plain, actor=cast.agent, body="x"),
            "not a major incident",
        )
        _refused(lambda: major_incident_update(ticket=major, actor=cast.agent, body="  "), "Write")
        _refused(
            lambda: major_incident_update(ticket=major, actor=cast.agent, body="x" * 10_001),
            "under",
        )
        _refused(
            lambda: major_incident_update(ticket=major, actor=cast.manager, body="x"), "agents"
        )
        _refused(
            lambda: major_incident_update(
                ticket=major, actor=cast.agent, body="x", channel="pigeon"
            ),
            "Unknown value",
        )
        assert Message.objects.count() == before


# --- ending it ----------------------------------------------------------------------------


def test_ending_a_major_incident_keeps_its_links_and_allows_a_new_declaration(
    cast: Cast, desk: Desk
) -> None:
    major, mine, theirs, _olle = _with_children(cast, desk)
    with scope(tenant=cast.tenant_a):
        ended = ticket_end_major_incident(ticket=major, actor=cast.agent)
        ended.refresh_from_db()
        event = TicketEvent.objects.get(ticket=major, kind=EventKind.MAJOR_ENDED)
        assert ended.major_incident_at is None and ended.major_incident_by is None
        assert event.is_public is False and event.actor == cast.agent
        assert {link.source_id for link in TicketLink.objects.filter(target=major)} == {
            mine.pk,
            theirs.pk,
        }
        _refused(
            lambda: major_incident_update(ticket=major, actor=cast.agent, body="x"),
            "not a major incident",
        )
        again = ticket_declare_major_incident(ticket=major, actor=cast.agent)
        assert again.major_incident_at is not None
        assert [c.pk for c in major_incident_children(ticket=again)] == [mine.pk, theirs.pk]


def test_ending_is_refused_on_a_plain_ticket_and_for_non_agents(cast: Cast, desk: Desk) -> None:
    major = _major(cast, desk)
    plain = _ticket(cast, "Plain", priority=desk.p1)
    with scope(tenant=cast.tenant_a):
        _refused(
            lambda: ticket_end_major_incident(ticket=plain, actor=cast.agent),
            "not a major incident",
        )
        for actor in (cast.manager, cast.customer, cast.agent_b):
            _refused(lambda a=actor: ticket_end_major_incident(ticket=major, actor=a), "agents")
        assert Ticket.objects.get(pk=major.pk).major_incident_at is not None
        assert not TicketEvent.objects.filter(kind=EventKind.MAJOR_ENDED).exists()


def test_the_queue_marks_a_major_incident_row_with_a_badge(cast: Cast, desk: Desk) -> None:
    major = _major(cast, desk)
    plain = _ticket(cast, "Plain ticket")
    page = client_for(cast.agent, cast.tenant_a).get("/agent/queue/").content.decode()
    rows = {
        ref: row
        for ref, row in (
            (t.reference, re.search(rf'<tr data-ticket="{t.pk}">.*?</tr>', page, re.S))
            for t in (major, plain)
        )
    }
    assert rows[major.reference] and "badge major" in rows[major.reference][0]
    assert rows[plain.reference] and "badge major" not in rows[plain.reference][0]


# --- the agent page -----------------------------------------------------------------------


def test_the_page_offers_the_declaration_for_p1_only_and_then_the_update_form(
    cast: Cast, desk: Desk
) -> None:
    p1 = _ticket(cast, "P1", priority=desk.p1)
    p2 = _ticket(cast, "P2", priority=desk.p2)
    client = client_for(cast.agent, cast.tenant_a)
    assert "Declare major incident" in client.get(f"/agent/tickets/{p1.pk}/").content.decode()
    assert "Declare major incident" not in client.get(f"/agent/tickets/{p2.pk}/").content.decode()
    client.post(f"/agent/tickets/{p1.pk}/major/")
    child = _ticket(cast, "Child")
    client.post(f"/agent/tickets/{p1.pk}/major/link/", {"other": child.reference})
    page = client.get(f"/agent/tickets/{p1.pk}/").content.decode()
    assert "Post a status update to the 1 linked ticket" in page and child.reference in page
    response = client.post(f"/agent/tickets/{p1.pk}/major/update/", {"body": "**Fixed** soon"})
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert Message.objects.filter(ticket=child, body__contains="<strong>Fixed</strong>")
    assert "End major incident" in page
    ended = client.post(f"/agent/tickets/{p1.pk}/major/end/", follow=True).content.decode()
    assert "is no longer a major incident" in ended and "Post update" not in ended
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=p1.pk).major_incident_at is None


def test_the_page_refuses_a_p2_declaration_with_a_message(cast: Cast, desk: Desk) -> None:
    p2 = _ticket(cast, "P2", priority=desk.p2)
    client = client_for(cast.agent, cast.tenant_a)
    page = client.post(f"/agent/tickets/{p2.pk}/major/", follow=True).content.decode()
    assert "most urgent priority" in page
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get(pk=p2.pk).major_incident_at is None


# --- the API ------------------------------------------------------------------------------


def _post(client: Any, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_the_api_declares_and_posts_an_update(cast: Cast, desk: Desk) -> None:
    p1 = _ticket(cast, "P1", priority=desk.p1)
    child = _ticket(cast, "Child", requester=_other_org_contact(cast))
    client = api_client_for(cast.agent, cast.tenant_a)
    declared = _post(client, f"/api/v1/tickets/{p1.pk}/major-incident/")
    assert declared.status_code == 200 and declared.json()["major_incident_at"]
    _post(client, f"/api/v1/tickets/{child.pk}/links/", {"other": p1.pk, "kind": "caused_by"})
    update = _post(client, f"/api/v1/tickets/{p1.pk}/major-incident/updates/", {"body": "ETA 1h"})
    assert update.status_code == 201, update.content
    assert len(update.json()) == 2
    ended = _post(client, f"/api/v1/tickets/{p1.pk}/major-incident/end/")
    assert ended.status_code == 200 and ended.json()["major_incident_at"] is None
    again = _post(client, f"/api/v1/tickets/{p1.pk}/major-incident/end/")
    assert again.status_code == 400 and "not a major incident" in again.content.decode()


def test_the_api_refuses_with_400_and_hides_another_tenants_ticket(cast: Cast, desk: Desk) -> None:
    p2 = _ticket(cast, "P2", priority=desk.p2)
    client = api_client_for(cast.agent, cast.tenant_a)
    refused = _post(client, f"/api/v1/tickets/{p2.pk}/major-incident/")
    assert refused.status_code == 400 and "most urgent" in refused.content.decode()
    no_body = _post(client, f"/api/v1/tickets/{p2.pk}/major-incident/updates/", {})
    assert no_body.status_code == 400
    with scope(tenant=cast.tenant_b):
        foreign = ticket_create(
            tenant=cast.tenant_b, requester=cast.contact_b, subject="B", description="B",
            channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
    assert _post(client, f"/api/v1/tickets/{foreign.pk}/major-incident/").status_code == 404
    manager = api_client_for(cast.manager, cast.tenant_a)
    assert _post(manager, f"/api/v1/tickets/{p2.pk}/major-incident/").status_code == 404


# --- the demo -----------------------------------------------------------------------------


def test_the_itsl_demo_has_a_major_incident_with_children_of_two_organisations(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load(demo_file("itsl").read_text(encoding="utf-8"))
    (tmp_path / "itsl.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("seed_demo", demo_dir=tmp_path, stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="itsl")
    with scope(tenant=tenant):
        (major,) = Ticket.objects.filter(major_incident_at__isnull=False)
        children = major_incident_children(ticket=major)
        updates = Message.objects.filter(body__contains="Nästa uppdatering").count()
        assert major.priority == Priority.objects.order_by("rank").first()
    assert len(children) == 2 and len({c.organisation_id for c in children}) == 2
    assert updates == 3
