"""A URL id that is a digit to ``str.isdigit()`` but not to ``int()`` ("³", "①", "٣") is a
404 or 400 on every page and API route, for staff and customers, never a 500.

Generated from the resolver like the leak test: every route with a kwarg its converter lets
such a value through (an ``int`` converter refuses it before any view runs)."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from tests.conftest import Cast, api_client_for, client_for
from tests.test_leaks import all_routes

pytestmark = pytest.mark.django_db

VALUES = ["³", "①", "٣"]  # superscript three, circled one, Arabic-Indic three


def _urls() -> list[str]:
    urls = []
    for route in all_routes():
        if not route.kwargs:
            continue
        try:
            urls.append(reverse(route.name, kwargs=dict.fromkeys(route.kwargs, VALUES[0])))
        except NoReverseMatch:
            continue  # the converter refuses it
    return sorted(set(urls))


def test_some_routes_take_such_ids() -> None:
    assert any(url.startswith("/api/") for url in _urls())


@pytest.mark.parametrize("url", _urls())
@pytest.mark.parametrize("who", ["admin", "customer"])
def test_a_unicode_digit_in_a_url_id_is_never_a_server_error(
    cast: Cast, url: str, who: str
) -> None:
    user = getattr(cast, who)
    client = (
        api_client_for(user, cast.tenant_a)
        if url.startswith("/api/")
        else client_for(user, cast.tenant_a)
    )
    for value in VALUES:
        target = url.replace("%C2%B3", value)
        for method in (client.get, client.post):
            response = method(target)
            assert response.status_code < 500, (method.__name__, target, response.status_code)
