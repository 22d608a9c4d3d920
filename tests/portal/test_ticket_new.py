"""Filing a ticket in the portal: the entitlement check decides, the promise is shown."""

from __future__ import annotations

from typing import Any

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.portal.conftest import Desk, stockholm
from tickets.models import Attachment, Ticket

# Tuesday 5 March 2024, 09:00 in Stockholm: open 08-12 and 13-16.
TUESDAY_MORNING = stockholm(2024, 3, 5, 9, 0)


def _post(cast: Cast, user: object, client: Client | None = None, **data: object) -> Any:
    payload = {"subject": "Export stops", "category": "question", "description": "It stops."}
    payload.update(data)  # type: ignore[arg-type]
    client = client or client_for(user, cast.tenant_a)  # type: ignore[arg-type]
    return client.post("/portal/new/", payload)


def _tickets(cast: Cast) -> list[Ticket]:
    with scope(tenant=cast.tenant_a):
        return list(Ticket.objects.all())


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_the_form_shows_the_priorities_with_definitions_and_the_promise(
    cast: Cast, desk: Desk
) -> None:
    response = client_for(cast.customer, cast.tenant_a).get("/portal/new/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "The whole system is down for everyone." in content
    assert "Nobody can log in; payroll cannot be run." in content
    # Default priority P3: 12 business hours from Tue 09:00: 6 on Tuesday, 6 on Wednesday.
    preview = content[content.index('id="preview"') :]
    assert "tomorrow 15:00" in preview, preview[:1500]


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_the_preview_follows_the_chosen_priority(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    response = client.get("/portal/new/preview/", {"category": "incident", "priority": desk.p1.pk})
    assert response.status_code == 200
    # P1: 2 business hours from 09:00.
    assert "today 11:00" in response.content.decode()


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_a_customer_files_a_ticket_and_is_told_when_support_answers(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    upload = SimpleUploadedFile("error.log", b"ERROR 42", "text/plain")
    response = _post(cast, cast.customer, client, priority=desk.p2.pk, attachments=[upload])
    (ticket,) = _tickets(cast)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.pk}/"
    page = client.get(response["Location"]).content.decode()
    # P2: 4 business hours from Tue 09:00 = 09-12 and 13-14.
    assert "You will get a first response by today 14:00." in page
    assert ticket.channel == "portal"
    assert ticket.priority_id == desk.p2.pk
    with scope(tenant=cast.tenant_a):
        assert Attachment.objects.get(ticket=ticket).filename == "error.log"


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_a_refused_filing_shows_the_reason_and_saves_nothing(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        desk.plan.named_contacts_only = True
        desk.plan.save()
    response = _post(cast, cast.customer)
    assert response.status_code == 200
    assert "Only named contacts may contact support" in response.content.decode()
    assert _tickets(cast) == []


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_a_suspended_contract_refuses_with_its_reason(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        desk.contract.status = "suspended"
        desk.contract.suspended_reason = "Invoices are overdue"
        desk.contract.save()
    response = _post(cast, cast.named)
    assert "The contract is suspended: Invoices are overdue." in response.content.decode()
    assert _tickets(cast) == []


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_billable_work_needs_the_customer_to_accept_the_charge(cast: Cast, desk: Desk) -> None:
    response = _post(cast, cast.customer, category="out_of_scope")
    content = response.content.decode()
    assert response.status_code == 200
    assert "This request is billed" in content
    assert 'name="accept_billable"' in content
    assert _tickets(cast) == []

    response = _post(cast, cast.customer, category="out_of_scope", accept_billable="on")
    (ticket,) = _tickets(cast)
    assert response.status_code == 302
    assert ticket.billable and ticket.billing_accepted


def test_bad_input_is_answered_with_field_errors_not_a_ticket(cast: Cast, desk: Desk) -> None:
    response = _post(cast, cast.customer, subject="   ", category="nonsense", priority="999999")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Give the request a subject." in content or "This field is required." in content
    assert "Select a valid choice." in content
    assert _tickets(cast) == []


def test_a_file_type_that_is_not_accepted_is_refused_clearly(cast: Cast, desk: Desk) -> None:
    upload = SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream")
    response = _post(cast, cast.customer, attachments=[upload])
    assert "run.exe: files of this type are not accepted." in response.content.decode()
    assert _tickets(cast) == []


def test_staff_without_a_contact_cannot_use_the_portal(cast: Cast, desk: Desk) -> None:
    assert client_for(cast.agent, cast.tenant_a).get("/portal/new/").status_code == 404
    assert client_for(None, cast.tenant_a).get("/portal/new/").status_code == 302
