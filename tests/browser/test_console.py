"""Every page runs in Chromium without a console error: a Content-Security-Policy violation (an
inline script or handler, a script from elsewhere) and any JavaScript error show up there."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope
from playwright.sync_api import ConsoleMessage, Error, expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tests.test_leaks import NEUTRAL_KWARGS, all_routes
from tickets.choices import Channel
from tickets.services import ticket_create

pytestmark = pytest.mark.browser

SKIPPED = {"logout", "api-schema"}
# A file to download (reports/export.csv and the like) is no page: Chromium runs no script there.
DOWNLOAD = re.compile(r"\.(csv|pdf|ics|json|zip)$")


def _pages() -> list[str]:
    """Every page without an object in its URL, the API's docs included."""
    urls = []
    for route in all_routes():
        if set(route.kwargs) - set(NEUTRAL_KWARGS) or route.name in SKIPPED:
            continue
        url = reverse(route.name, kwargs={k: NEUTRAL_KWARGS[k] for k in route.kwargs})
        if DOWNLOAD.search(url):
            continue
        if not url.startswith("/api/") or route.name == "api-docs":
            urls.append(url)
    return urls


def _watch(page: Any, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not page.url.startswith("chrome-error:"):
            # A resource that failed to load names itself there, the page when it failed.
            where = message.location.get("url", "")
            errors.append(f"{page.url}: {message.text}" + (f" ({where})" * (where != page.url)))

    def on_error(error: Error) -> None:
        errors.append(f"{page.url}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)


@pytest.mark.parametrize("username", ["a-admin", "a-customer"])
def test_no_page_logs_a_console_error(
    cast: Cast, desk: Desk, open_session: Any, username: str
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Console check",
            description="",
            channel=Channel.PORTAL,
        )
    session = open_session(username)
    errors: list[str] = []
    _watch(session.page, errors)
    extra = [f"/agent/tickets/{ticket.pk}/", f"/portal/tickets/{ticket.pk}/"]
    client = Client(HTTP_HOST=urlsplit(session.site).hostname)
    client.force_login(getattr(cast, username.removeprefix("a-")))
    visited, problems = [], []
    for url in [*_pages(), *extra]:
        # Ask first, with the session's cookies: another role's page (404) or a POST-only URL
        # (405) is not a page to load, and Chromium's error page for an empty answer leaves the
        # tab mid-navigation, so the next goto could fail and a real page be skipped.
        if client.get(url).status_code != 200:
            continue
        errors.clear()
        response = session.page.goto(f"{session.site}{url}")
        session.page.wait_for_load_state("networkidle")
        assert response is not None and response.status == 200, (url, response)
        visited.append(url)
        problems.extend(errors)
    assert len(visited) >= (15 if username == "a-admin" else 5), visited
    assert not problems, "\n".join(problems)


def test_the_language_picker_works_under_the_policy(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    session = open_session("a-customer")
    errors: list[str] = []
    _watch(session.page, errors)
    page = session.go("/portal/")
    page.locator("#lang-select").select_option("sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    assert not errors, "\n".join(errors)
