"""The customer API: the same entitlement check as the portal, on the API channel."""

from __future__ import annotations

import datetime as dt

import pytest
from django_scopes import scope

from contracts.models import SupportPlan
from tests.conftest import B_MARKER, Cast, api_client_for, client_for
from tests.tickets.conftest import Desk, build_desk
from tickets.choices import Category, Channel
from tickets.models import Ticket
from tickets.services import ticket_create


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _file(client, **data):  # type: ignore[no-untyped-def]
    body = {"subject": "Export fails", "description": "Since the update.", **data}
    return client.post("/api/v1/portal/tickets/", body, content_type="application/json")


def test_a_contact_files_a_ticket_by_api_and_sees_the_promise(cast: Cast, desk: Desk) -> None:
    response = _file(
        api_client_for(cast.customer, cast.tenant_a), category="incident", priority="P2"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["reference"] == "TA-1001" and data["channel"] == Channel.API
    assert data["priority"] == "P2" and data["first_response_due"] is not None


def test_a_plan_without_the_api_channel_refuses_with_the_reason(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        SupportPlan.objects.filter(pk=desk.plan.pk).update(allowed_channels=["email", "portal"])
    response = _file(api_client_for(cast.customer, cast.tenant_a))
    assert response.status_code == 403
    assert response.json()["reasons"] and "API" in " ".join(response.json()["reasons"])
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()


def test_a_billable_request_needs_the_customers_acceptance(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.customer, cast.tenant_a)
    refused = _file(client, category=Category.OUT_OF_SCOPE)
    assert refused.status_code == 400 and "accepted_billable" in refused.json()["detail"]
    accepted = _file(client, category=Category.OUT_OF_SCOPE, accepted_billable=True)
    assert accepted.status_code == 201


def test_bad_input_gets_field_errors(cast: Cast, desk: Desk) -> None:
    response = _file(
        api_client_for(cast.customer, cast.tenant_a), category="nonsense", priority="P9"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"category", "priority"}


def test_a_contact_lists_only_tickets_they_may_see_in_constant_queries(
    cast: Cast,
    desk: Desk,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with scope(tenant=cast.tenant_a):
        for n in range(3):
            ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject=f"Mine {n}",
                description="x",
                channel=Channel.PORTAL,
            )
        ticket_create(
            tenant=cast.tenant_a,
            requester=cast.named_contact,
            subject="Colleague's",
            description="x",
            channel=Channel.PORTAL,
        )
    client = api_client_for(cast.customer, cast.tenant_a)
    with django_assert_max_num_queries(8):
        data = client.get("/api/v1/portal/tickets/").json()
    assert sorted(t["subject"] for t in data["results"]) == ["Mine 0", "Mine 1", "Mine 2"]
    assert B_MARKER not in str(data)


def test_a_contact_replies_and_staff_cannot_use_the_customer_api(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="S",
            description="x",
            channel=Channel.PORTAL,
            received_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
        )
    reply = api_client_for(cast.customer, cast.tenant_a).post(
        f"/api/v1/portal/tickets/{ticket.pk}/replies/",
        {"body": "More detail"},
        content_type="application/json",
    )
    assert reply.status_code == 201 and reply.json()["body"] == "More detail"
    detail = (
        client_for(cast.customer, cast.tenant_a).get(f"/api/v1/portal/tickets/{ticket.pk}/").json()
    )
    assert [m["body"] for m in detail["messages"]][-1] == "More detail"
    assert (
        api_client_for(cast.agent, cast.tenant_a).get("/api/v1/portal/tickets/").status_code == 404
    )
