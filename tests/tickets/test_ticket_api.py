"""The ticket API: filing with entitlement reasons, explained clocks, optimistic versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django_scopes import scope

from tests.conftest import Cast, api_client_for
from tickets.choices import Category, Status
from tickets.models import Ticket

from .conftest import Desk, at

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def _patch(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.patch(url, json.dumps(data), content_type="application/json")


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_filing_through_the_api_returns_the_ticket_with_explained_clocks(
    cast: Cast, desk: Desk
) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    response = _post(
        client,
        "/api/v1/tickets/",
        {"requester": cast.customer_contact.pk, "subject": "API ticket", "priority": desk.p2.pk},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "TA-1001" and body["channel"] == "api"
    first = next(c for c in body["clocks"] if c["metric"] == "first_response")
    assert first["due_at"] == "2026-03-02T12:00:00Z"
    assert any("within 4 business hours" in line for line in first["explanation"])
    detail = client.get(f"/api/v1/tickets/{body['id']}/").json()
    assert detail["clocks"] == body["clocks"]


def test_a_refused_request_answers_400_with_the_reasons(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    response = _post(
        client,
        "/api/v1/tickets/",
        {"requester": cast.customer_contact.pk, "subject": "x", "category": Category.OUT_OF_SCOPE},
    )
    assert response.status_code == 400
    assert response.json()["requires_acceptance"] is True
    assert response.json()["reasons"]
    unknown = _post(client, "/api/v1/tickets/", {"requester": cast.contact_b.pk, "subject": "x"})
    assert unknown.status_code == 400 and "requester" in unknown.json()


def test_patch_with_a_stale_version_answers_409_and_changes_nothing(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    created = _post(
        client, "/api/v1/tickets/", {"requester": cast.customer_contact.pk, "subject": "x"}
    ).json()
    url = f"/api/v1/tickets/{created['id']}/"
    ok = _patch(
        client, url, {"version": created["version"], "priority": desk.p1.pk, "status": Status.OPEN}
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["version"] == created["version"] + 1
    stale = _patch(client, url, {"version": created["version"], "status": Status.SOLVED})
    assert stale.status_code == 409
    assert stale.json()["version"] == created["version"] + 1
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.get().status == Status.OPEN


def test_patch_refuses_a_bad_transition_with_a_message(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    created = _post(
        client, "/api/v1/tickets/", {"requester": cast.customer_contact.pk, "subject": "x"}
    ).json()
    url = f"/api/v1/tickets/{created['id']}/"
    _patch(client, url, {"version": created["version"], "status": Status.CLOSED})
    bad = _patch(client, url, {"version": created["version"] + 1, "status": Status.OPEN})
    assert bad.status_code == 400
    assert "cannot become open" in json.dumps(bad.json())


def test_replies_events_time_and_status_through_the_api(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    ticket = _post(
        client, "/api/v1/tickets/", {"requester": cast.customer_contact.pk, "subject": "x"}
    ).json()
    base = f"/api/v1/tickets/{ticket['id']}"
    assert _post(client, f"{base}/messages/", {"body": "Hello", "public": True}).status_code == 201
    assert (
        _post(client, f"{base}/time-entries/", {"minutes": 15, "billable": True}).status_code == 201
    )
    assert client.get(f"{base}/time-entries/").json()[0]["minutes"] == 15
    solved = _post(client, f"{base}/status/", {"status": Status.SOLVED})
    assert solved.json()["status"] == Status.SOLVED
    kinds = [e["kind"] for e in client.get(f"{base}/events/").json()]
    assert kinds == ["created", "replied", "status", "time", "status"]
    assert _post(client, f"{base}/messages/", {"body": ""}).status_code == 400


def test_another_tenants_ticket_is_not_found(cast: Cast, desk: Desk) -> None:
    from tests.tickets.leak_targets import make_b_objects

    b_ticket = make_b_objects(cast)["ticket_id"]
    client = api_client_for(cast.agent, cast.tenant_a)
    assert client.get(f"/api/v1/tickets/{b_ticket}/").status_code == 404
    assert (
        _patch(
            client, f"/api/v1/tickets/{b_ticket}/", {"version": 1, "status": "solved"}
        ).status_code
        == 404
    )


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_a_tickets_entitlement_reasons_read_in_each_readers_language(
    cast: Cast, desk: Desk
) -> None:
    """Filed while Swedish was active; a Dutch and an English reader each read their own
    language on the agent page and in the API, with the codes beside the text."""
    from django.utils import translation

    from tests.conftest import client_for
    from tickets.services import ticket_create

    with scope(tenant=cast.tenant_a), translation.override("sv"):
        ticket = ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="Skrivaren",
            description="x", channel="portal",
        )  # fmt: skip
    assert "ingår i" in ticket.entitlement_reasons  # the text as it read at filing

    def read(language: str) -> dict[str, Any]:
        cast.agent.language = language
        cast.agent.save(update_fields=["language"])
        client = api_client_for(cast.agent, cast.tenant_a)
        return client.get(f"/api/v1/tickets/{ticket.pk}/").json()  # type: ignore[no-any-return]

    dutch, english = read("nl"), read("en")
    assert "is inbegrepen" in dutch["entitlement_reasons"], dutch["entitlement_reasons"]
    assert "is included in" in english["entitlement_reasons"]
    assert {c["code"] for c in dutch["entitlement_reason_codes"]} >= {"contract_valid", "in_scope"}
    cast.agent.language = "nl"
    cast.agent.save(update_fields=["language"])
    page = client_for(cast.agent, cast.tenant_a).get(f"/agent/tickets/{ticket.pk}/")
    assert "is inbegrepen" in page.content.decode()
