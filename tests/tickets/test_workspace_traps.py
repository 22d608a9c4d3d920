"""Small traps of the agent's and customer's pages (issue #16, item 5): a refusal said once,
a bulk action that says what is missing, checkboxes only where there is a bulk action."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from tests.conftest import Cast, client_for
from tickets.choices import Category, Channel
from tickets.models import Ticket
from tickets.services import ticket_create

from .conftest import Desk

pytestmark = pytest.mark.django_db


def test_phone_intake_gives_a_refusals_reason_once(cast: Cast, desk: Desk) -> None:
    desk.plan.allowed_channels = [Channel.EMAIL, Channel.PORTAL]
    desk.plan.save()
    response = client_for(cast.agent, cast.tenant_a).post(
        reverse("tickets:call-log"),
        {"contact": cast.customer_contact.email, "subject": "Urgent", "category": "incident"},
    )
    assert response.status_code == 200
    assert response.content.decode().count("does not include support by phone") == 1


def test_the_portal_gives_a_refusals_reasons_once(cast: Cast, desk: Desk) -> None:
    desk.plan.named_contacts_only = True
    desk.plan.save()
    response = client_for(cast.customer, cast.tenant_a).post(
        reverse("portal:ticket-new"),
        {"subject": "Please help", "description": "Broken.", "category": Category.QUESTION},
    )
    assert response.status_code in (200, 400, 403)
    assert response.content.decode().count("Only named contacts may contact support") == 1
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()


def test_bulk_assign_with_nothing_selected_asks_to_select_a_ticket(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(reverse("tickets:queue-assign"), {"assignee": ""}, follow=True)
    text = response.content.decode()
    assert "Select at least one ticket." in text
    assert "This field is required." not in text


@pytest.mark.parametrize(
    ("role", "checkboxes"), [("agent", True), ("admin", True), ("manager", False)]
)
def test_queue_checkboxes_only_for_roles_with_the_bulk_action(
    cast: Cast, desk: Desk, role: str, checkboxes: bool
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export fails",
            description="x",
            channel=Channel.EMAIL,
        )
    page = client_for(getattr(cast, role), cast.tenant_a).get(reverse("tickets:queue"))
    html = page.content.decode()
    assert page.status_code == 200 and "Export fails" in html
    assert ('type="checkbox" name="tickets"' in html) is checkboxes
    assert ("Assign the selected tickets to" in html) is checkboxes
