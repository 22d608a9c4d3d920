"""Playwright driving Debian's Chromium against pytest-django's live server.

Tenant A answers on ``http://tenant-a.localhost:<port>/``; Chromium resolves ``*.localhost``
to loopback by itself. Celery runs eagerly, so event handlers run on commit in the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from supportdesk.celery import app as celery_app
from tests.conftest import PASSWORD, Cast
from tests.portal.conftest import Desk, build_desk

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API keeps an event loop in the test thread; the test's own ORM calls are
# plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def launch(playwright: Any) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def desk(cast: Cast, transactional_db: None) -> Desk:
    return build_desk(cast)


@pytest.fixture
def site(live_server: Any) -> str:
    """Tenant A's address on the live server."""
    port = live_server.url.rsplit(":", 1)[1]
    return f"http://tenant-a.localhost:{port}"


class Session:
    """One person's browser tab, logged in through the login page like a person would."""

    def __init__(self, browser: Browser, site: str, *, phone: bool = False) -> None:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        self.context = browser.new_context(viewport=viewport, locale="en-GB")  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.site = site

    def login(self, username: str, password: str = PASSWORD) -> Session:
        page = self.page
        page.goto(f"{self.site}/accounts/login/")
        page.get_by_label("E-mail or username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return self

    def go(self, path: str) -> Page:
        self.page.goto(f"{self.site}{path}")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_session(browser: Browser, site: str) -> Iterator[Any]:
    sessions: list[Session] = []

    def make(username: str, *, phone: bool = False) -> Session:
        session = Session(browser, site, phone=phone).login(username)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
