"""The portal's ticket list: your own tickets; a named contact sees the organisation's."""

from __future__ import annotations

from typing import Any

import pytest
from django_scopes import scope

from contracts.models import Contact, Organisation
from tests.conftest import Cast, client_for
from tests.portal.conftest import Desk
from tickets.choices import Channel, Status
from tickets.models import Ticket
from tickets.services import ticket_change_status, ticket_create


def file(cast: Cast, requester: Contact, subject: str) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=requester,
            subject=subject,
            description="Details.",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )


@pytest.fixture
def tickets(cast: Cast, desk: Desk) -> dict[str, Ticket]:
    with scope(tenant=cast.tenant_a):
        other_org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        stranger = Contact.objects.create(
            tenant=cast.tenant_a, organisation=other_org, name="Otto", email="otto@other.test"
        )
    return {
        "carla": file(cast, cast.customer_contact, "Carla's export problem"),
        "nils": file(cast, cast.named_contact, "Nils's login problem"),
        "otto": file(cast, stranger, "Otto's private matter"),
    }


def test_a_contact_sees_their_own_tickets_only(cast: Cast, tickets: dict[str, Ticket]) -> None:
    content = client_for(cast.customer, cast.tenant_a).get("/portal/").content.decode()
    assert "Carla&#x27;s export problem" in content
    assert "Nils&#x27;s login problem" not in content
    assert "Otto" not in content


def test_a_named_contact_sees_every_ticket_of_the_organisation(
    cast: Cast, tickets: dict[str, Ticket]
) -> None:
    content = client_for(cast.named, cast.tenant_a).get("/portal/").content.decode()
    assert "Tickets of Org A" in content
    assert "Carla&#x27;s export problem" in content
    assert "Nils&#x27;s login problem" in content
    assert "Otto" not in content


def test_solved_tickets_move_to_their_own_tab(cast: Cast, tickets: dict[str, Ticket]) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=tickets["carla"],
            status=Status.SOLVED,
            actor=cast.customer,
            channel=Channel.PORTAL,
            contact=cast.customer_contact,
        )
    client = client_for(cast.customer, cast.tenant_a)
    assert "export problem" not in client.get("/portal/").content.decode()
    assert "export problem" in client.get("/portal/?show=solved").content.decode()
    assert "export problem" in client.get("/portal/?show=all").content.decode()


def test_the_list_takes_the_same_number_of_queries_for_many_tickets(
    cast: Cast, desk: Desk, django_assert_max_num_queries: Any
) -> None:
    file(cast, cast.customer_contact, "First")
    client = client_for(cast.named, cast.tenant_a)
    client.get("/portal/")
    with django_assert_max_num_queries(12) as few:
        client.get("/portal/")
    for n in range(10):
        file(cast, cast.customer_contact if n % 2 else cast.named_contact, f"Ticket {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/portal/")
    assert response.content.decode().count("/portal/tickets/") >= 22


def test_another_tenants_contact_is_not_a_contact_here(cast: Cast, desk: Desk) -> None:
    assert client_for(cast.contact_b_user, cast.tenant_a).get("/portal/").status_code == 404
