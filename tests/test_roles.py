"""Access inside one tenant, generated from the URL resolver and ``tests/access_table.py``.

Every URL name x every role of tenant A (and anonymous) x GET and POST, aimed at tenant A's
own objects, must answer what the table says. Each POST runs in a savepoint that is rolled
back, so every request meets the same rows (a deleted article does not turn the next URL
into a 404).

The crawl that follows every link and form on the pages a role may GET is
``tests/test_link_crawl.py``; it uses :class:`Walker` and :func:`a_targets` from here.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django_scopes import scope

from contracts.models import Contact
from supportdesk.models import Membership

from .access_table import LOGIN, OK, ROLES, TABLE, Access, Answer, allow
from .conftest import Cast, client_for, host_of
from .test_leaks import _LOGIN_REDIRECT, NEUTRAL_KWARGS, _url, all_routes, merged_targets


def a_targets(cast: Cast) -> dict[str, object]:
    """Merge every app's tenant-A objects (``make_a_objects`` in its leak_targets module),
    made once per cast."""
    if "a_targets" not in cast.extra:
        cast.extra["a_targets"] = merged_targets(cast, "make_a_objects")
    return cast.extra["a_targets"]  # type: ignore[no-any-return]


def answer_of(response: HttpResponse) -> Answer | int:
    status = response.status_code
    if status == 302 and _LOGIN_REDIRECT.search(response.get("Location", "")):
        return LOGIN
    if status < 400 or status == 400:
        return OK
    return status


class Walker:
    """One role's browser on tenant A's host. POSTs are rolled back, and when a request
    changes who is signed in (logout, a login link) the role is signed in again."""

    def __init__(self, cast: Cast, role: str) -> None:
        self.cast = cast
        self.user = {"anonymous": None, **cast.users_a()}[role]
        self.client: Client = client_for(self.user, cast.tenant_a)
        self.host = host_of(cast.tenant_a)

    def request(self, method: str, url: str, **extra: Any) -> HttpResponse:
        """``extra`` goes to the test client (``follow=True``)."""
        if method == "get":
            return self._send(method, url, **extra)
        with transaction.atomic():  # signing in again is rolled back too: links stay valid
            response = self._send(method, url, **extra)
            transaction.set_rollback(True)
        return response

    def _send(self, method: str, url: str, **extra: Any) -> HttpResponse:
        response: Any = getattr(self.client, method)(url, **extra)
        if response.streaming:
            # Read it, but do not close() it: that sends request_finished, which closes a
            # PostgreSQL connection inside the test's transaction (the leak test does the same).
            b"".join(response.streaming_content)
        signed_in = self.client.session.get("_auth_user_id")
        if signed_in != (None if self.user is None else str(self.user.pk)):
            self.client = client_for(self.user, self.cast.tenant_a)
        return response  # type: ignore[no-any-return]


def role_problems(cast: Cast, role: str, table: dict[str, Access]) -> list[str]:
    """Every answer that differs from the table when ``role`` walks all URLs of tenant A."""
    walker = Walker(cast, role)  # signed in before the login link is made: it stays valid
    values = {**NEUTRAL_KWARGS, **a_targets(cast)}
    routes = all_routes()
    names = {r.name for r in routes}
    problems = [f"{name}: not in tests/access_table.py" for name in sorted(names - set(table))]
    problems += [f"{name}: in the table, unknown to the resolver" for name in set(table) - names]
    for route in routes:
        if route.name not in table:
            continue
        url = _url(route, values)
        for method in ("get", "post"):
            expected = getattr(table[route.name], method)[role]
            got = answer_of(walker.request(method, url))
            if got != expected:
                problems.append(f"{method.upper()} {url} ({route.name}) as {role}: {got}")
                problems[-1] += f", the table says {expected}"
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_of_the_tenant_as_the_table_says(cast: Cast, role: str) -> None:
    problems = role_problems(cast, role, TABLE)
    assert not problems, "\n".join(problems)


@pytest.mark.urls("tests.unguarded_urls")
def test_the_role_table_catches_a_page_missing_its_role_check(cast: Cast) -> None:
    assert "unguarded: not in tests/access_table.py" in role_problems(cast, "agent", TABLE)
    table = {**TABLE, "unguarded": Access(get=allow("admin"), post=allow("admin"))}
    problems = role_problems(cast, "agent", table)
    assert any("(unguarded) as agent: ok, the table says 404" in p for p in problems), problems


def _admin_fetchers() -> list[Any]:
    """Every ``get_<noun>_for_admin`` in the project's ``access.py`` modules."""
    fetchers = []
    for path in sorted(Path(settings.BASE_DIR).glob("*/**/access.py")):
        if ".venv" in path.parts:
            continue
        module_name = ".".join(path.relative_to(settings.BASE_DIR).with_suffix("").parts)
        module = importlib.import_module(module_name)
        fetchers += [
            getattr(module, name)
            for name in sorted(vars(module))
            if name.startswith("get_") and name.endswith("_for_admin")
        ]
    return fetchers


@pytest.mark.parametrize("fetch", _admin_fetchers(), ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_an_admin_fetcher_gives_a_tenant_row_to_admins_only(cast: Cast, fetch: Any) -> None:
    """The view decorator is not the only check: the fetcher itself refuses other roles."""
    pk_name = list(inspect.signature(fetch).parameters)[1]
    pk = a_targets(cast)[pk_name]
    with scope(tenant=cast.tenant_a):
        for role, user in cast.users_a().items():
            request: Any = RequestFactory().get("/", HTTP_HOST=host_of(cast.tenant_a))
            request.user, request.tenant = user, cast.tenant_a
            request.membership = Membership.objects.filter(user=user).first()
            request.contact = Contact.objects.filter(user=user).first()
            if role == "admin":
                assert fetch(request, pk).pk == pk
            else:
                with pytest.raises(Http404):
                    fetch(request, pk)
