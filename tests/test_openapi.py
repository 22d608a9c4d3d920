"""The OpenAPI schema tells the truth about the answers it documents (schemathesis checks the
whole API against a running server in ``.ci/schemathesis``; these pin the cases it found)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Cast, api_client_for
from tests.portal.conftest import Desk, build_desk


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _schema(cast: Cast) -> Any:
    client = api_client_for(cast.admin, cast.tenant_a)
    return json.loads(client.get("/api/v1/schema/", {"format": "json"}).content)


def _ref(schema: Any, node: Any) -> Any:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize("action", ["time-entries", "events"])
def test_a_tickets_bare_lists_are_documented_as_lists(cast: Cast, desk: Desk, action: str) -> None:
    schema = _schema(cast)
    get = schema["paths"][f"/api/v1/tickets/{{ticket_id}}/{action}/"]["get"]
    body = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    assert not {p["name"] for p in get.get("parameters", [])} & {"cursor", "page_size"}


@pytest.mark.parametrize(
    "body",
    [{}, {"subject": "x" * 1000, "category": "nope"}, {"subject": 5, "description": []}],
)
def test_a_portal_filing_400_has_the_documented_detail_and_reasons(
    cast: Cast, desk: Desk, body: dict[str, Any]
) -> None:
    documented = _ref(
        _schema(cast),
        _schema(cast)["paths"]["/api/v1/portal/tickets/"]["post"]["responses"]["400"]["content"][
            "application/json"
        ]["schema"],
    )
    client = api_client_for(cast.customer, cast.tenant_a)
    response = client.post("/api/v1/portal/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) <= set(documented["properties"])
    assert set(documented.get("required", [])) <= set(answer)
    assert answer["detail"] and answer["reasons"]


def test_every_post_documents_the_idempotency_conflict(cast: Cast) -> None:
    """A repeated Idempotency-Key with another body answers 422 (supportdesk/idempotency.py)."""
    schema = _schema(cast)
    posts = [path for path, ops in schema["paths"].items() if "post" in ops]
    assert posts
    assert [path for path in posts if "422" not in schema["paths"][path]["post"]["responses"]] == []


def test_a_nul_in_the_query_of_any_api_url_is_a_json_400(cast: Cast) -> None:
    schema = _schema(cast)
    client = api_client_for(cast.admin, cast.tenant_a)
    paths = [path for path, ops in schema["paths"].items() if "get" in ops and "{" not in path]
    assert "/api/v1/contacts/" in paths
    wrong = []
    for path in paths:
        response = client.get(path, {"q": "a\x00b"})
        if response.status_code != 400 or response["Content-Type"] != "application/json":
            wrong.append(f"{path}: {response.status_code} {response['Content-Type']}")
    assert wrong == []


def test_every_operation_documents_the_servers_uri_too_long_page(cast: Cast) -> None:
    schema = _schema(cast)
    missing = [
        f"{method.upper()} {path}"
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op and "414" not in op["responses"]
    ]
    assert missing == []
