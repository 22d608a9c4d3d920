"""The cross-tenant leak test, generated from the URL resolver.

Every URL pattern x every HTTP method x every role of tenant A (and anonymous) is aimed at
tenant B's objects. A URL that names an object must answer 404 or 405 (anonymous: a login
redirect or 401); any other URL must not fail and must not show tenant B's marker. After
all requests, tenant B's rows are exactly as before.

Each app lists its tenant-B objects in ``tests/<app>/leak_targets.py``::

    def make_b_objects(cast) -> dict[str, object]:  # {url kwarg: value for tenant B}

A URL kwarg that no app provides fails the test, so every new URL is covered.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import scopes_disabled
from pypdf import PdfReader

import tests

from .conftest import B_MARKER, Cast, api_client_for, client_for

METHODS = ("get", "post", "put", "patch", "delete")

# Kwargs that do not name a tenant object: any value will do.
NEUTRAL_KWARGS: dict[str, object] = {"format": "json", "uidb64": "MQ", "token": "set-password"}


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str | None, list[str]]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            child_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            outer = list(entry.pattern.regex.groupindex)
            for name, kwargs in _walk(entry.url_patterns, child_ns):
                yield name, outer + kwargs
        elif isinstance(entry, URLPattern):
            name = entry.name
            full = f"{namespace}:{name}" if namespace and name else name
            yield full, list(entry.pattern.regex.groupindex)


def all_routes() -> list[Route]:
    routes: dict[tuple[str, tuple[str, ...]], Route] = {}
    unnamed = []
    for name, kwargs in _walk(get_resolver(settings.ROOT_URLCONF).url_patterns):
        if name is None:
            unnamed.append(kwargs)
            continue
        key = (name, tuple(sorted(kwargs)))
        routes[key] = Route(name, tuple(sorted(kwargs)))
    assert not unnamed, (
        f"every URL pattern must have a name so the leak test can reach it: {unnamed}"
    )
    return sorted(routes.values(), key=lambda r: (r.name, r.kwargs))


def merged_targets(cast: Cast, maker: str) -> dict[str, object]:
    """Merge what every app's ``leak_targets.<maker>(cast)`` returns; the same kwarg from two
    apps is an error. ``make_b_objects``: tenant B's; ``make_a_objects``: tenant A's own,
    for the role table (``tests/test_roles.py``)."""
    targets: dict[str, object] = {}
    for module_info in pkgutil.iter_modules(tests.__path__):
        try:
            module = importlib.import_module(f"tests.{module_info.name}.leak_targets")
        except ModuleNotFoundError:
            continue
        for key, value in getattr(module, maker)(cast).items():
            assert key not in targets, f"two leak_targets modules provide {key!r} ({maker})"
            targets[key] = value
    return targets


def b_targets(cast: Cast) -> dict[str, object]:
    return merged_targets(cast, "make_b_objects")


def tenant_b_snapshot(cast: Cast) -> str:
    """A digest of every row of tenant B in every tenant-owned table."""
    digest = hashlib.sha256()
    with scopes_disabled():
        for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
            field_names = {f.name for f in model._meta.get_fields()}
            if "tenant" not in field_names:
                continue
            rows = model._base_manager.filter(tenant=cast.tenant_b).order_by("pk")
            digest.update(model._meta.label.encode())
            digest.update(serializers.serialize("json", rows).encode())
    return digest.hexdigest()


def _url(route: Route, values: dict[str, object]) -> str:
    return reverse(route.name, kwargs={k: values[k] for k in route.kwargs})


def _role_users(cast: Cast) -> dict[str, Any]:
    return {"anonymous": None, **cast.users_a()}


_LOGIN_REDIRECT = re.compile(r"/accounts/login/")


def _readable(response: Any) -> bytes:
    """The answer's bytes, and a PDF's text too: its words are compressed, so a marker in
    a report document would not show in the raw bytes."""
    content = b"".join(response) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        pages = PdfReader(io.BytesIO(content)).pages
        content += " ".join(page.extract_text() for page in pages).encode()
    return content


def find_leaks(
    cast: Cast,
    role: str,
    extra_targets: dict[str, object] | None = None,
    *,
    token: bool = False,
) -> list[str]:
    """Every problem found when ``role`` of tenant A walks all URLs; empty when sealed.

    With ``token``, the role is a script on 127.0.0.1 holding an API token of tenant A and
    walks the API routes only (the tenant then comes from the token, not the host).
    """
    targets = {**b_targets(cast), **(extra_targets or {})}
    values = {**NEUTRAL_KWARGS, **targets}
    routes = all_routes()
    unknown = sorted({k for r in routes for k in r.kwargs if k not in values})
    assert not unknown, (
        f"URL kwargs {unknown} have no tenant-B object: add them to a tests/<app>/leak_targets.py"
    )
    before = tenant_b_snapshot(cast)
    user = _role_users(cast)[role]
    client = api_client_for(user, cast.tenant_a) if token else client_for(user, cast.tenant_a)
    problems: list[str] = []
    for route in routes:
        url = _url(route, values)
        if token and not url.startswith("/api/"):
            continue
        names_object = any(k in targets for k in route.kwargs)
        for method in METHODS:
            body = json.dumps({"name": "x", "subject": "x", "body": "x"})
            if method == "get":
                response = client.get(url)
            else:
                response = getattr(client, method)(url, data=body, content_type="application/json")
            if user is not None and not token and route.name == "logout":
                client.force_login(user)  # the logout route ends the session; keep the role
            status = response.status_code
            content = _readable(response)
            where = f"{method.upper()} {url} ({route.name}) as {role}: {status}"
            if B_MARKER.encode() in content:
                problems.append(f"{where} shows tenant B's marker")
            if status >= 500:
                problems.append(f"{where} failed")
            if not names_object:
                continue
            if role == "anonymous":
                redirected = status == 302 and _LOGIN_REDIRECT.search(response.get("Location", ""))
                if not (redirected or status in (401, 404, 405)):
                    problems.append(f"{where}, expected a login redirect, 401, 404 or 405")
            elif status not in (404, 405):
                problems.append(f"{where}, expected 404 or 405")
    if tenant_b_snapshot(cast) != before:
        problems.append(f"tenant B's rows changed while {role} walked the URLs")
    return problems


@pytest.mark.parametrize("role", ["anonymous", "admin", "agent", "manager", "customer", "named"])
def test_no_url_lets_tenant_a_reach_tenant_b(cast: Cast, role: str) -> None:
    problems = find_leaks(cast, role)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["admin", "agent", "manager", "customer"])
def test_no_api_token_of_tenant_a_reaches_tenant_b(cast: Cast, role: str) -> None:
    problems = find_leaks(cast, role, token=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("outsider", ["agent_b", "contact_b_user"])
def test_a_session_of_another_tenant_gets_404_on_every_api_url(cast: Cast, outsider: str) -> None:
    """Someone signed in to tenant B, on tenant A's host: every API answer is a 404 (never a
    403, which would confirm that the URL exists and matters), except for the public schema
    and docs, which answer them as they answer anybody."""
    values = {**NEUTRAL_KWARGS, **b_targets(cast)}
    client = client_for(getattr(cast, outsider), cast.tenant_a)
    anonymous = client_for(None, cast.tenant_a)
    problems = []
    api = [r for r in all_routes() if _url(r, values).startswith("/api/")]
    assert len(api) > 20
    for route in api:
        url = _url(route, values)
        for method in METHODS:
            status = getattr(client, method)(url, content_type="application/json").status_code
            public = getattr(anonymous, method)(url, content_type="application/json")
            same_as_for_anybody = status == public.status_code and status not in (401, 403)
            if status != 404 and not same_as_for_anybody:
                problems.append(f"{method.upper()} {url} as {outsider} of tenant B: {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.urls("tests.leaky_urls")
def test_the_leak_test_catches_a_view_that_ignores_the_tenant(cast: Cast) -> None:
    problems = find_leaks(cast, "agent", {"leaky_organisation_id": cast.org_b.pk})
    assert any("leaky-organisation" in p and "marker" in p for p in problems), problems
    assert any("leaky-organisation" in p and "rows changed" not in p for p in problems)
    assert any("rows changed" in p for p in problems), problems


def test_the_leak_test_knows_some_urls_that_name_objects(cast: Cast) -> None:
    """Guard against a walker that silently finds nothing."""
    routes = all_routes()
    assert len(routes) >= 10
    assert any(r.name == "login" for r in routes)
