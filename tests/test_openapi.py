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
