"""``Idempotency-Key`` on every API POST, generated from the OpenAPI schema.

For each POST operation the schema lists: it documents the header; a body built from the
operation's required fields is sent twice with one key and the second answer is the first
(status and body) with the database unchanged; the same key with another body is a 422.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core import serializers
from django.db import connection
from django.test import Client
from django_scopes import scope, scopes_disabled

from contracts.models import Organisation
from supportdesk.models import ApiToken, IdempotencyKey
from supportdesk.schema import TenantSchemaGenerator
from tests.tickets.conftest import Desk, build_desk
from tickets.choices import Channel, Status
from tickets.links.services import ticket_link
from tickets.major.services import major_incident_priority, ticket_declare_major_incident
from tickets.models import LinkKind, Problem, Ticket
from tickets.problems.services import problem_link, problem_save
from tickets.quotes.services import quote_propose
from tickets.reviews.services import review_open, review_save
from tickets.services import ticket_change_priority, ticket_change_status, ticket_create

from ..conftest import Cast, api_client_for
from .error_urls import SECRET

SCHEMA: dict[str, Any] = TenantSchemaGenerator().get_schema(request=None, public=True)
POST_PATHS = sorted(path for path, operations in SCHEMA["paths"].items() if "post" in operations)


REFUSED = {
    "/api/v1/contracts/": "the organisation already has a current contract",
    "/api/v1/contracts/{contract_id}/resume/": "the contract is not suspended",
}


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


@pytest.fixture
def ticket(cast: Cast, desk: Desk) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Printer",
            description="It jams.",
            channel=Channel.PORTAL,
        )


def _values(cast: Cast, desk: Desk, ticket: Ticket) -> dict[str, Any]:
    """A valid value for each required field name the API's request bodies use."""
    with scope(tenant=cast.tenant_a):
        other, linked = (
            ticket_create(
                tenant=cast.tenant_a, requester=cast.customer_contact, subject=subject,
                description="x", channel=Channel.PORTAL,
            )
            for subject in ("Other", "Linked")
        )  # fmt: skip
        link = ticket_link(ticket=ticket, other=linked, kind=LinkKind.RELATED, actor=cast.agent)
    return {
        "other": other.pk,  # link to it
        "kind": LinkKind.DUPLICATE,
        "into": other.pk,  # merge into it
        "link": link.pk,  # remove it
        "email": "idem@orga.example.test",
        "organisation": cast.org_a.pk,
        "plan": desk.plan.pk,
        "contract": desk.contract.pk,
        "contact": cast.customer_contact.pk,
        "requester": cast.customer_contact.pk,
        "assignee": cast.agent.pk,
        "agent": cast.agent.pk,  # follows the ticket
        "tickets": [ticket.pk],
        "starts_on": "2026-01-01",
        "category": "incident",
        "channel": Channel.API,
        "status": Status.PENDING,
        "minutes": 15,
        "key": "idem-feature",
        "support_line": 2,
        "hours": "2",  # quote them
        "decision": "accept",  # the quote waiting on the ticket
        "ticket": ticket.pk,  # link it to the problem, or unlink it
        "description": "Add an index check to the release list",  # a review's action
    }


def _quote_waiting(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, text="Report layout", hours="3")


def _most_urgent(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_a):
        top = major_incident_priority(tenant_id=cast.tenant_a.pk)
        ticket_change_priority(ticket=ticket, priority=top, actor=cast.agent)


def _major_incident(cast: Cast, ticket: Ticket) -> None:
    _most_urgent(cast, ticket)
    with scope(tenant=cast.tenant_a):
        ticket_declare_major_incident(ticket=ticket, actor=cast.agent)


def _problem(cast: Cast, ticket: Ticket) -> dict[str, int]:
    with scope(tenant=cast.tenant_a):
        problem = problem_save(
            problem=Problem(tenant=cast.tenant_a, title="Logins fail"), actor=cast.agent
        )
    return {"problem_id": problem.pk}


def _problem_linked(cast: Cast, ticket: Ticket) -> dict[str, int]:
    ids = _problem(cast, ticket)
    with scope(tenant=cast.tenant_a):
        problem = Problem.objects.get(pk=ids["problem_id"])
        problem_link(problem=problem, ticket=ticket, actor=cast.agent)
    return ids


def _closed(cast: Cast, ticket: Ticket) -> None:
    with scope(tenant=cast.tenant_a):
        ticket_change_status(
            ticket=ticket, status=Status.CLOSED, actor=cast.agent, channel=Channel.API
        )


def _review_written(cast: Cast, ticket: Ticket) -> None:
    _closed(cast, ticket)
    with scope(tenant=cast.tenant_a):
        review = review_open(ticket=ticket, actor=cast.agent)
        review_save(
            review=review, actor=cast.agent, impact="Nobody could log in for an hour.",
            timeline=review.timeline, root_cause="An expired certificate.",
            shared_with_customer=False, assignee=cast.agent,
        )  # fmt: skip


# State a path's request acts on that the fixed cast lacks: a quote for the customer to
# answer, a P1 ticket to declare a major incident, a major incident to update or end, a
# problem to link to (with the ticket linked, to unlink or resolve), a closed ticket to
# review, a written review to finish. A hook may return the ids of the URL it made.
PREPARE: dict[str, Callable[[Cast, Ticket], dict[str, int] | None]] = {
    "/api/v1/portal/tickets/{ticket_id}/quotes/": _quote_waiting,
    "/api/v1/tickets/{ticket_id}/major-incident/": _most_urgent,
    "/api/v1/tickets/{ticket_id}/major-incident/updates/": _major_incident,
    "/api/v1/tickets/{ticket_id}/major-incident/end/": _major_incident,
    "/api/v1/problems/{problem_id}/link/": _problem,
    "/api/v1/problems/{problem_id}/unlink/": _problem_linked,
    "/api/v1/problems/{problem_id}/resolve/": _problem_linked,
    "/api/v1/tickets/{ticket_id}/review/": _closed,
    "/api/v1/tickets/{ticket_id}/review/actions/": _review_written,
    "/api/v1/tickets/{ticket_id}/review/done/": _review_written,
}


# Optional fields a path's generated body needs besides the required ones: a routing rule
# must do something, and every action is optional on its own.
OPTIONAL = {
    "/api/v1/routing-rules/": ["support_line"],
    "/api/v1/tickets/{ticket_id}/quotes/": ["hours"],  # hours, a price, or both
}


def _request_body(path: str, values: dict[str, Any]) -> dict[str, Any]:
    operation = SCHEMA["paths"][path]["post"]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    component = SCHEMA["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    names = [*component.get("required", []), *OPTIONAL.get(path, [])]
    for name in OPTIONAL.get(path, []):
        assert name in component.get("properties", {}), (path, name)
    return {name: values.get(name, "Idempotent test") for name in names}


def _url(path: str, cast: Cast, desk: Desk, ticket: Ticket, **made: int) -> str:
    ids = {"contract_id": desk.contract.pk, "ticket_id": ticket.pk, **made}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def _client(path: str, cast: Cast) -> Client:
    user = cast.customer if path.startswith("/api/v1/portal/") else cast.admin
    return api_client_for(user, cast.tenant_a)


def _database() -> str:
    """Every row but the keys themselves and the tokens' last-used times."""
    skip = {IdempotencyKey, ApiToken}
    with scopes_disabled():
        rows = [
            serializers.serialize("json", model._default_manager.order_by("pk"))
            for model in apps.get_models()
            if model not in skip and model._meta.managed
        ]
    return "\n".join(rows)


def _post(client: Client, url: str, body: dict[str, Any], key: str) -> Any:
    return client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_every_api_post_documents_the_idempotency_key_header() -> None:
    assert len(POST_PATHS) >= 15
    for path in POST_PATHS:
        parameters = SCHEMA["paths"][path]["post"].get("parameters", [])
        assert {"in": "header", "name": "Idempotency-Key"}.items() <= next(
            (p for p in parameters if p["name"] == "Idempotency-Key"), {}
        ).items(), path
    for path, operations in SCHEMA["paths"].items():
        for method in set(operations) - {"post"}:
            names = [p["name"] for p in operations[method].get("parameters", [])]
            assert "Idempotency-Key" not in names, (path, method)


@pytest.mark.parametrize("path", POST_PATHS)
def test_a_repeated_post_returns_the_first_response_without_a_second_effect(
    cast: Cast, desk: Desk, ticket: Ticket, path: str
) -> None:
    body = _request_body(path, _values(cast, desk, ticket))
    made = (PREPARE[path](cast, ticket) if path in PREPARE else None) or {}
    client, url = _client(path, cast), _url(path, cast, desk, ticket, **made)
    before = _database()
    first = _post(client, url, body, key="retry-1")
    # The generated body is accepted, so the replay is of a real effect, except where the
    # fixed cast makes the request a refusal (the replay of a refusal is tested too).
    assert (first.status_code < 300) == (path not in REFUSED), first.content
    after_first = _database()
    if first.status_code >= 400:
        assert after_first == before, "a refused request changed nothing"
    again = _post(client, url, body, key="retry-1")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers.get("Content-Type") == first.headers.get("Content-Type")
    assert again["Idempotent-Replayed"] == "true"
    assert _database() == after_first

    other = _post(client, url, {**body, "extra": "different"}, key="retry-1")
    assert other.status_code == 422 and set(other.json()) == {"detail"}
    assert _database() == after_first


def _file(client: Client, **headers: str) -> Any:
    body = {"subject": "Export fails", "description": "Since the update.", "category": "incident"}
    return client.post(
        "/api/v1/portal/tickets/", body, content_type="application/json", headers=headers
    )


def test_a_filing_retried_with_its_key_files_one_ticket(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.customer, cast.tenant_a)
    first = _file(client, **{"Idempotency-Key": "file-1"})
    again = _file(client, **{"Idempotency-Key": "file-1"})
    assert first.status_code == 201 and again.json()["reference"] == first.json()["reference"]
    _file(client)
    _file(client)
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 3  # without a key, each POST files one


def test_keys_are_per_token_and_per_tenant(cast: Cast, desk: Desk) -> None:
    one = api_client_for(cast.customer, cast.tenant_a)
    other = api_client_for(cast.customer, cast.tenant_a)  # a second token, same user
    assert _file(one, **{"Idempotency-Key": "k"}).status_code == 201
    assert _file(other, **{"Idempotency-Key": "k"}).status_code == 201
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 2


def test_a_key_is_kept_24_hours(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.customer, cast.tenant_a)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False) as clock:
        first = _file(client, **{"Idempotency-Key": "day"})
        clock.shift(dt.timedelta(hours=23))
        assert _file(client, **{"Idempotency-Key": "day"}).content == first.content
        clock.shift(dt.timedelta(hours=2))
        later = _file(client, **{"Idempotency-Key": "day"})
    assert later.status_code == 201 and later.content != first.content
    with scope(tenant=cast.tenant_a):
        assert IdempotencyKey.objects.count() == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256])
def test_a_malformed_key_is_refused_with_a_message(cast: Cast, desk: Desk, key: str) -> None:
    response = _file(api_client_for(cast.customer, cast.tenant_a), **{"Idempotency-Key": key})
    assert response.status_code == 400 and "Idempotency-Key" in json.dumps(response.json())
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()


@pytest.mark.urls("tests.supportdesk.error_urls")
def test_a_post_that_fails_after_its_write_leaves_nothing_for_the_retry(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    client.raise_request_exception = False
    url = "/api/v1/testcreate-then-fail/"
    for _attempt in range(2):
        response = client.post(url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="f")
        assert response.status_code == 500 and "Idempotent-Replayed" not in response
    with scope(tenant=cast.tenant_a):
        assert not Organisation.objects.filter(name=SECRET).exists()
        assert not IdempotencyKey.objects.exists()
    client.post(url, {}, content_type="application/json")
    with scope(tenant=cast.tenant_a):  # without a key the write stays: the test can fail
        assert Organisation.objects.filter(name=SECRET).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_key_file_one_ticket(cast: Cast, desk: Desk) -> None:
    """The second waits on the key's unique index until the first commits, then replays it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections to one database")
    barrier = threading.Barrier(2)
    responses: list[Any] = []
    _token, key = ApiToken.issue(tenant=cast.tenant_a, user=cast.customer, name="both")

    def post() -> None:
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")
        barrier.wait()
        try:
            responses.append(_file(client, **{"Idempotency-Key": "together"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].content == responses[1].content
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 1
