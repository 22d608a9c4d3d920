"""Request bodies over the cap are refused from their Content-Length, never read.

Generated over methods with a body x a page, an API endpoint and a host naming no tenant;
the body stream explodes when read, so a pass proves nothing read it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from ..conftest import Cast, api_client_for, client_for


class ExplodingStream:
    def read(self, *args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = read


TARGETS = [
    ("page", "/manage/contacts/import/"),
    ("api", "/api/v1/portal/tickets/"),
    ("public", "/"),
]


def _client(cast: Cast, kind: str) -> Client:
    if kind == "api":
        return api_client_for(cast.customer, cast.tenant_a)
    if kind == "public":
        return Client(HTTP_HOST="localhost")
    return client_for(cast.admin, cast.tenant_a)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(("kind", "path"), TARGETS)
def test_a_body_over_the_cap_is_refused_unread(
    cast: Cast, method: str, kind: str, path: str
) -> None:
    size = settings.REQUEST_MAX_BYTES + 1
    response = _client(cast, kind).generic(
        method,
        path,
        b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": ExplodingStream()},
    )
    assert response.status_code == 413
    text = response.content.decode()
    assert "at most 40.0" in text
    if kind == "api":
        assert set(response.json()) == {"detail"}


@override_settings(REQUEST_MAX_BYTES=1000)
def test_a_body_at_the_cap_goes_through_and_one_byte_more_does_not(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    path = "/manage/contacts/import/"
    at_cap = client.generic("POST", path, b"a=" + b"x" * 998, "application/x-www-form-urlencoded")
    assert at_cap.status_code == 200
    over = client.generic("POST", path, b"a=" + b"x" * 999, "application/x-www-form-urlencoded")
    assert over.status_code == 413


def test_an_unreadable_content_length_is_a_400(cast: Cast) -> None:
    response = client_for(cast.admin, cast.tenant_a).post("/", {}, CONTENT_LENGTH="lots")
    assert response.status_code == 400
