"""Chromium follows every link of every page each role reaches, without a console error or a
refusal (issue #16 item 2 and its "Done when").

The crawl of ``tests/test_link_crawl.py`` in a real browser: for every role of tenant A (and
anonymous) Chromium starts from every page the role table lets the role GET, aimed at tenant
A's own objects (a ticket, an article, a problem, a review, ...), loads it, and follows every
``<a href>`` and GET form on it that stays on the tenant's host. A page is loaded once per
shape of URL (numbers and query values aside: one ticket page per role, not every ticket);
more than ``PAGES_PER_ROLE`` of them is a failure. It fails on any page that answers 0, 403,
404 or 5xx (the status of the navigation, after redirects) and on any console error or
uncaught exception, which is how a Content-Security-Policy violation and a script, style or
icon that failed to load show. Logout, downloads and the JSON API are
not pages to load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Browser, Error, Page

from tests.access_table import ROLES
from tests.browser.conftest import Session
from tests.browser.test_console import DOWNLOAD, SKIPPED, _watch
from tests.conftest import Cast
from tests.test_link_crawl import _shape, start_pages

pytestmark = pytest.mark.browser

PAGES_PER_ROLE = 120

_TARGETS = """() => [
    ...Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
    ...Array.from(document.querySelectorAll("form"))
        .filter((form) => form.method === "get")
        .map((form) => form.action),
]"""


def _is_page(path: str) -> bool:
    """Whether Chromium should load ``path``: a page of the site, not a file or the API."""
    if path.startswith("/static/") or DOWNLOAD.search(path):
        return False
    try:
        name = resolve(path).url_name
    except Resolver404:
        return True  # a dead link is a page that answers 404: load it and report it
    return name not in SKIPPED and (not path.startswith("/api/") or name == "api-docs")


@dataclass
class BrowserCrawl:
    """One role's tab: every shape of page loaded once, its links queued."""

    page: Page
    site: str
    role: str
    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _watch(self.page, self.errors)

    def crawl(self, start: list[str]) -> None:
        seen: set[str] = set()
        queue = [url for url in start if _is_page(urlsplit(url).path)]
        while queue:
            url = queue.pop(0)
            if _shape(url) in seen:
                continue
            if len(self.visited) == PAGES_PER_ROLE:
                # More shapes of page than expected: a link that makes new URLs, not a crawl.
                self.problems.append(f"{self.role}: more than {PAGES_PER_ROLE} pages, at {url}")
                return
            seen.add(_shape(url))
            for link in self.load(url):
                if _shape(link) not in seen:
                    queue.append(link)

    def load(self, url: str) -> list[str]:
        """Load ``url``; the site's links on it (none when it is not a page to read)."""
        self.errors.clear()
        try:
            response = self.page.goto(f"{self.site}{url}")
            self.page.wait_for_load_state("networkidle")
        except Error as exc:
            if "Download is starting" in str(exc):
                return []
            self.problems.append(f"{self.role}: {url}: {exc}")
            return []
        status = response.status if response else 0
        if status in (0, 403, 404) or status >= 500:
            self.problems.append(f"{self.role}: {url}: {status}")
        # The page's own status is checked above: a 400 (an expired signed link) is an answer.
        # A resource of the page that failed (a script, a style, the icon) carries its own
        # address after the message (see ``_watch``) and is a problem.
        itself = re.compile(
            re.escape(f"{self.page.url}: Failed to load resource: ") + r"[^()]*\([^()]*\)"
        )
        self.problems.extend(f"{self.role}: {e}" for e in self.errors if not itself.fullmatch(e))
        if not (response and response.header_value("content-type") or "").startswith("text/"):
            return []
        self.visited.append(url)
        links = []
        for target in self.page.evaluate(_TARGETS):
            parts = urlsplit(target)
            if f"{parts.scheme}://{parts.netloc}" == self.site and _is_page(parts.path):
                links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return links


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_loads_without_an_error(
    cast: Cast, transactional_db: None, browser: Browser, site: str, role: str
) -> None:
    session = Session(browser, site)
    if role != "anonymous":
        user = cast.users_a()[role]
        session.login(user.username)
        user.refresh_from_db()  # logging in uses up older login links: make them after it
    start = start_pages(cast, role)
    try:
        crawl = BrowserCrawl(session.page, site, role)
        crawl.crawl(start)
    finally:
        session.close()
    print(f"{role}: {len(crawl.visited)} pages")
    assert len(crawl.visited) > 3, crawl.visited
    assert not crawl.problems, "\n".join(crawl.problems)


@pytest.mark.urls("tests.browser.crawl_urls")
def test_the_browser_crawl_reports_every_kind_of_failure(
    cast: Cast, transactional_db: None, browser: Browser, site: str
) -> None:
    """A dead link, a staff page offered to a customer, an inline script the policy blocks and
    a missing script are reported; a page that answers 400 and another site are not."""
    session = Session(browser, site).login(cast.customer.username)
    try:
        crawl = BrowserCrawl(session.page, site, "customer")
        crawl.crawl(["/crawl-check/"])
    finally:
        session.close()
    found = "\n".join(crawl.problems)
    assert "customer: /nowhere/: 404" in found, found
    assert "customer: /agent/queue/: 404" in found, found
    assert re.search(r"/crawl-check/inline/: .*Content Security Policy", found), found
    assert re.search(r"/crawl-check/missing-script/: .*404.*missing\.js", found), found
    assert "/crawl-check/refused/" not in found, found
    # The missing script shows twice: its 404, and the refusal to run the HTML sent instead.
    assert len(crawl.problems) == 5, found
