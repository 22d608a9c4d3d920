"""A read survives a database connection terminated under it (it runs once more on a new
connection); a write, or a read that already wrote, is answered 503 and not run again.
PostgreSQL only: the connection is terminated with ``pg_terminate_backend``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import close_old_connections, connection
from django_scopes import scope

from contracts.models import Organisation
from supportdesk.models import ApiToken

from ..conftest import Cast, client_for
from . import error_urls

pytestmark = [
    pytest.mark.urls("tests.supportdesk.error_urls"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgresql() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    error_urls.RUNS.clear()
    yield
    close_old_connections()  # what the server does after every request


def test_a_page_read_survives_a_terminated_connection(cast: Cast) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    client.raise_request_exception = False  # the first run's error is logged, as in production
    response = client.get("/testdatabase-lost-once/")
    assert response.status_code == 200
    assert response.content.decode().startswith("survived with")
    assert error_urls.RUNS == ["GET", "GET"]


def test_an_api_read_survives_a_terminated_connection(cast: Cast) -> None:
    from django.test import Client

    _token, key = ApiToken.issue(tenant=cast.tenant_a, user=cast.agent, name="retry")
    client = Client(
        HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}", raise_request_exception=False
    )
    assert client.get("/api/v1/testdatabase-lost-once/").status_code == 200
    assert error_urls.RUNS == ["GET", "GET"]


@pytest.mark.parametrize("prefix", ["/", "/api/v1/"])
def test_a_post_is_not_run_again_and_gets_the_503(cast: Cast, prefix: str) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    client.raise_request_exception = False
    response = client.post(f"{prefix}testdatabase-lost-once/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    if prefix == "/api/v1/":
        assert set(response.json()) == {"detail"}
    else:
        assert "text/html" in response["Content-Type"]
    assert error_urls.RUNS == ["POST"]


def test_a_read_that_wrote_before_the_connection_was_lost_is_not_run_again(cast: Cast) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    client.raise_request_exception = False
    response = client.get("/testwrite-then-database-lost/")
    assert response.status_code == 503
    assert error_urls.RUNS == ["GET"]
    close_old_connections()  # the next request's new connection
    with scope(tenant=cast.tenant_a):
        assert Organisation.objects.filter(name__startswith="written").count() == 1
