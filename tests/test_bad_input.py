"""Bad input is a 4xx with a message, never a 500: generated over the whole surface.

* every URL pattern (pages and API) with every object kwarg set to a number beyond 64 bits,
  for every role of tenant A, with a session and (API) with a token;
* every query parameter the OpenAPI schema declares, on every API GET endpoint, and every
  query parameter a page reads, on every page, with huge, negative, garbage and NUL values;
* JSON nested deeper than the parser allows, on every API URL that takes a body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import Cast, api_client_for, client_for
from tests.test_leaks import METHODS, NEUTRAL_KWARGS, Route, all_routes

HUGE = 2**70
GARBAGE_VALUES = (
    str(HUGE),
    str(-HUGE),
    str(2**64 - 1),  # beyond a signed 64-bit integer, inside an unsigned one
    "9" * 40,
    "9" * 11,
    "1e400",
    "abc",
    "-1",
    "0",
    "\x00",
    "2026-13-45",
    "99999-01",
)

# Query parameters the pages read (``request.GET``); the API's come from its schema.
PAGE_PARAMETERS = (
    "page",
    "q",
    "organisation",
    "status",
    "month",
    "show",
    "type",
    "subject",
    "contact",
    "channel",
    "category",
    "at",
    "view",
    "line",
    "due_within",
    "breached",
    "priority",
    "cursor",
)


def _url(route: Route, value: object) -> str:
    kwargs = {k: NEUTRAL_KWARGS.get(k, value) for k in route.kwargs}
    return reverse(route.name, kwargs=kwargs)


def _assert_a_clear_answer(response: Any, where: str, problems: list[str]) -> None:
    status = response.status_code
    if status >= 500:
        problems.append(f"{where}: {status}")
        return
    if status == 400 and response.get("Content-Type", "").startswith("application/json"):
        if not json.loads(response.content):
            problems.append(f"{where}: 400 without a message")


def _quiet(client: Any) -> Any:
    """Report a server error as a 500 response, so one run lists every failing URL."""
    client.raise_request_exception = False
    return client


def _clients(cast: Cast) -> dict[str, Any]:
    clients: dict[str, Any] = {"anonymous": _quiet(client_for(None, cast.tenant_a))}
    for role, user in cast.users_a().items():
        clients[role] = _quiet(client_for(user, cast.tenant_a))
        clients[f"{role} token"] = _quiet(api_client_for(user, cast.tenant_a))
    return clients


def test_no_url_fails_on_an_object_id_beyond_64_bits(cast: Cast) -> None:
    problems: list[str] = []
    routes = [r for r in all_routes() if set(r.kwargs) - set(NEUTRAL_KWARGS)]
    assert len(routes) > 20
    for who, client in _clients(cast).items():
        for route in routes:
            url = _url(route, HUGE)
            if "token" in who and not url.startswith("/api/"):
                continue
            for method in METHODS:
                if route.name == "logout":
                    continue
                body = json.dumps({"name": "x", "value": HUGE})
                response = getattr(client, method)(
                    url,
                    **({} if method == "get" else {"data": body}),
                    content_type="application/json",
                )
                _assert_a_clear_answer(response, f"{method.upper()} {url} as {who}", problems)
    assert not problems, "\n".join(problems)


def _api_get_parameters(client: Any) -> dict[str, list[str]]:
    """Every API path without path parameters that has GET, with its declared query names."""
    schema = json.loads(client.get("/api/v1/schema/", {"format": "json"}).content)
    found: dict[str, list[str]] = {}
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        found[path] = [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]
    return found


@pytest.mark.parametrize("value", GARBAGE_VALUES)
def test_no_api_filter_fails_on_huge_or_garbage_values(cast: Cast, value: str) -> None:
    admin = _quiet(api_client_for(cast.admin, cast.tenant_a))
    customer = _quiet(api_client_for(cast.customer, cast.tenant_a))
    endpoints = _api_get_parameters(admin)
    assert "/api/v1/contacts/" in endpoints and "organisation" in endpoints["/api/v1/contacts/"]
    problems: list[str] = []
    for path, names in endpoints.items():
        for name in names:
            for who, client in (("admin", admin), ("customer", customer)):
                response = client.get(path, {name: value})
                _assert_a_clear_answer(response, f"GET {path}?{name}={value!r} as {who}", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("value", GARBAGE_VALUES)
def test_no_page_fails_on_huge_or_garbage_query_values(cast: Cast, value: str) -> None:
    problems: list[str] = []
    routes = [r for r in all_routes() if not set(r.kwargs) - set(NEUTRAL_KWARGS)]
    pages = [_url(r, 1) for r in routes if r.name != "logout"]
    pages = [p for p in pages if not p.startswith("/api/")]
    for role in ("admin", "named"):
        client = _quiet(client_for(cast.users_a()[role], cast.tenant_a))
        for url in pages:
            for name in PAGE_PARAMETERS:
                response = client.get(url, {name: value})
                _assert_a_clear_answer(response, f"GET {url}?{name}={value!r} as {role}", problems)
    assert not problems, "\n".join(problems)


def _deep(depth: int) -> str:
    return '{"subject": ' + "[" * depth + "]" * depth + "}"


def test_json_nested_thousands_deep_is_refused_with_a_message_on_every_api_url(
    cast: Cast,
) -> None:
    problems: list[str] = []
    body = _deep(5000)
    api = [r for r in all_routes() if _url(r, 1).startswith("/api/")]
    for role in ("admin", "customer"):
        client = _quiet(api_client_for(cast.users_a()[role], cast.tenant_a))
        for route in api:
            url = _url(route, 1)
            for method in ("post", "put", "patch"):
                response = getattr(client, method)(url, data=body, content_type="application/json")
                where = f"{method.upper()} {url} as {role}"
                _assert_a_clear_answer(response, where, problems)
    assert not problems, "\n".join(problems)


def test_deep_json_on_the_portal_gets_400_saying_why(cast: Cast) -> None:
    client = api_client_for(cast.customer, cast.tenant_a)
    response = client.post(
        "/api/v1/portal/tickets/", data=_deep(5000), content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
