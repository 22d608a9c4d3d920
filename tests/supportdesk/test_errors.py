"""Errors nobody answered: translated pages without internals, JSON under /api/, 503 when
the database connection is lost (terminated on PostgreSQL) and healed on the next request."""

from __future__ import annotations

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from supportdesk.models import ApiToken

from ..conftest import Cast, client_for
from .error_urls import SECRET

pytestmark = pytest.mark.urls("tests.supportdesk.error_urls")

HEADINGS = {
    500: {
        "en": "Something went wrong on our side",
        "sv": "Något gick fel hos oss",
        "nl": "Er ging bij ons iets mis",
    },
    503: {
        "en": "Briefly unavailable",
        "sv": "Tillfälligt otillgänglig",
        "nl": "Even niet beschikbaar",
    },
}


def _page_client(cast: Cast, language: str) -> Client:
    client = client_for(cast.agent, cast.tenant_a)
    client.raise_request_exception = False
    cast.agent.language = language  # type: ignore[attr-defined]
    cast.agent.save()
    return client


def _api_client(cast: Cast) -> Client:
    _token, key = ApiToken.issue(tenant=cast.tenant_a, user=cast.agent, name="errors")
    return Client(
        HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}", raise_request_exception=False
    )


@pytest.mark.parametrize("language", ["en", "sv", "nl"])
def test_a_failing_page_shows_a_translated_500_page_without_internals(
    cast: Cast, language: str
) -> None:
    response = _page_client(cast, language).get("/testboom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert HEADINGS[500][language] in html
    assert SECRET not in html and "RuntimeError" not in html and "Traceback" not in html


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/testboom/", 500),
        ("/api/v1/testforbidden/", 403),
        ("/api/v1/testsuspicious/", 400),
        ("/api/v1/no-such-endpoint/", 404),
    ],
)
def test_an_api_error_nobody_answered_is_a_json_body(cast: Cast, path: str, status: int) -> None:
    response = _api_client(cast).post(path, {}, content_type="application/json")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert SECRET not in response.content.decode()


def test_an_api_request_on_a_host_we_do_not_serve_is_a_json_400(db: None) -> None:
    response = Client(raise_request_exception=False).get(
        "/api/v1/tickets/", HTTP_HOST="evil.example.com"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_terminated_database_connection_is_a_503_page_then_heals(
    cast: Cast, language: str
) -> None:
    _require_postgresql()
    client = _page_client(cast, language)
    response = client.get("/testdatabase-lost/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    html = response.content.decode()
    assert HEADINGS[503][language] in html and SECRET not in html
    close_old_connections()  # what the server does at the end of every request
    assert client.get("/agent/queue/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_terminated_database_connection_is_a_json_503_on_the_api(cast: Cast) -> None:
    _require_postgresql()
    client = _api_client(cast)
    response = client.post("/api/v1/testdatabase-lost/", {}, content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert set(response.json()) == {"detail"} and SECRET not in response.content.decode()
    close_old_connections()
    assert client.get("/api/v1/me/").status_code == 200
