"""No page offers a link or form its reader cannot use (issue #16 item 2).

For every role of tenant A (and anonymous), a crawl starts from every page the role table
(``tests/access_table.py``) lets the role GET, aimed at tenant A's own objects, reads the
HTML and follows everything on it that leads into the tenant's host: ``<a href>``, htmx's
``hx-get``/``hx-post``, ``<form action>`` and ``<button formaction>``. Pages reached that
way are read too, once per shape of URL (numbers and query values aside), so a link behind
a link is followed as well. No target may answer 403, 404 or 5xx:

- a GET link or GET form is requested with the values the form would send unchanged, and
  redirects are followed to the end (a redirect to a missing page is a dead link);
- a POST form's action must resolve, and a POST with an empty body (rolled back, as in the
  role table) must not be refused: a page must not offer a button its reader may not press;
- a download (anything that is not HTML) must answer below 400 and is not read.

Each distinct target is requested once per role; one run lists every broken link as
(role, page, link, status).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.http import HttpResponse
from django.urls import Resolver404, resolve

from .access_table import OK, ROLES, TABLE
from .conftest import Cast
from .test_leaks import NEUTRAL_KWARGS, _url, all_routes
from .test_roles import Walker, a_targets

_HTMX_ATTRIBUTES = {"hx-get": "get", "hx-post": "post", "hx-put": "post", "hx-delete": "post"}
_TEXT_INPUTS = {"", "text", "hidden", "search", "number", "date", "email", "tel", "url"}


@dataclass(frozen=True, order=True)
class Link:
    method: str
    """``get`` or ``post``."""
    url: str
    """path?query on the tenant's host."""


@dataclass(frozen=True)
class Broken:
    role: str
    page: str
    link: Link
    status: int | str

    def __str__(self) -> str:
        return (
            f"{self.role}: {self.page} -> {self.link.method.upper()} {self.link.url}: {self.status}"
        )


class _Form:
    def __init__(self, method: str, action: str) -> None:
        self.method, self.action = method, action
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_value: str | None = None
        self.select_chosen = False


class _Links(HTMLParser):
    """Every (method, href) on a page; a GET form's href carries the values it would send."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self.form: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        for attribute, method in _HTMX_ATTRIBUTES.items():
            if attributes.get(attribute):
                self.found.append((method, attributes[attribute]))
        if tag == "a" and attributes.get("href"):
            self.found.append(("get", attributes["href"]))
        elif tag == "form":
            method = attributes.get("method", "get").lower() or "get"
            self.form = _Form(method, attributes.get("action", ""))
        elif tag in ("button", "input") and attributes.get("formaction"):
            method = attributes.get("formmethod") or (self.form and self.form.method) or "get"
            self.found.append(
                ("post" if method.lower() == "post" else "get", attributes["formaction"])
            )
        if self.form is not None:
            self._field(tag, attributes)

    def _field(self, tag: str, attributes: dict[str, str]) -> None:
        form = self.form
        assert form is not None
        name = attributes.get("name", "")
        if tag == "input" and name and "disabled" not in attributes:
            kind = attributes.get("type", "").lower()
            ticked = kind in ("checkbox", "radio") and "checked" in attributes
            if kind in _TEXT_INPUTS or ticked:
                form.fields.append((name, attributes.get("value", "on" if ticked else "")))
        elif tag == "select" and name and "disabled" not in attributes:
            form.select, form.select_value, form.select_chosen = name, None, False
        elif tag == "option" and form.select is not None:
            if form.select_value is None or ("selected" in attributes and not form.select_chosen):
                form.select_value = attributes.get("value", "")
                form.select_chosen = "selected" in attributes

    def handle_endtag(self, tag: str) -> None:
        form = self.form
        if form is None:
            return
        if tag == "select" and form.select is not None:
            if form.select_value is not None:
                form.fields.append((form.select, form.select_value))
            form.select = None
        elif tag == "form":
            if form.method == "get":
                action = urlsplit(form.action)._replace(query=urlencode(form.fields)).geturl()
                self.found.append(("get", action or "?"))
            else:
                self.found.append(("post", form.action))
            self.form = None


def links_on(page_url: str, html: str, host: str) -> set[Link]:
    """Every link and form target on the page that stays on ``host``."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    links = set()
    for method, href in parser.found:
        target = urlsplit(urljoin(f"http://{host}{page_url}", href))
        if target.scheme not in ("http", "https") or target.netloc != host:
            continue
        if target.path.startswith("/static/"):
            continue
        links.add(Link(method, target.path + (f"?{target.query}" if target.query else "")))
    return links


def _shape(url: str) -> str:
    """The page a URL shows, numbers and query values aside: one of each is read."""
    parts = urlsplit(url)
    keys = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


@dataclass
class _Answer:
    status: int | str
    html: str | None
    """The page's HTML when it is one to read further."""
    final_url: str


class Crawler(Walker):
    """One role's crawl: every target once, every page shape read once."""

    def __init__(self, cast: Cast, role: str) -> None:
        super().__init__(cast, role)
        self.role = role
        self.answers: dict[Link, _Answer] = {}

    def answer(self, link: Link) -> _Answer:
        if link not in self.answers:
            try:
                self.answers[link] = self._ask(link)
            except Exception as exc:  # noqa: BLE001 - one run lists every failure
                self.answers[link] = _Answer(f"500 ({exc!r})", None, link.url)
        return self.answers[link]

    def _ask(self, link: Link) -> _Answer:
        if link.method == "post":
            try:
                resolve(urlsplit(link.url).path)
            except Resolver404:
                return _Answer("does not resolve", None, link.url)
            return _Answer(self.request("post", link.url).status_code, None, link.url)
        response: Any = self.request("get", link.url, follow=True)
        final_url = link.url
        if response.redirect_chain:
            final = urlsplit(
                urljoin(f"http://{self.host}{link.url}", response.redirect_chain[-1][0])
            )
            final_url = final.path + (f"?{final.query}" if final.query else "")
            if final.netloc != self.host:
                return _Answer(response.status_code, None, final_url)
        status: int = response.status_code
        if not _is_html(response):
            # A download: nothing to read, and anything but a success is broken.
            return _Answer(f"{status} (a download)" if status >= 400 else status, None, final_url)
        return _Answer(status, response.content.decode(), final_url)

    def crawl(self, start_pages: list[str]) -> list[Broken]:
        broken: list[Broken] = []
        read: set[str] = set()
        pages: deque[str] = deque(start_pages)
        while pages:
            page_url = pages.popleft()
            answer = self.answer(Link("get", page_url))
            if answer.html is None or _shape(answer.final_url) in read:
                continue
            read.add(_shape(answer.final_url))
            for link in sorted(links_on(answer.final_url, answer.html, self.host)):
                target = self.answer(link)
                if _is_broken(target.status):
                    broken.append(Broken(self.role, answer.final_url, link, target.status))
                elif target.html is not None and _shape(target.final_url) not in read:
                    pages.append(target.final_url)
        assert len(self.answers) > len(start_pages), f"{self.role} found no links at all"
        return broken


def _is_html(response: HttpResponse) -> bool:
    if response.streaming:
        return False
    return str(response.get("Content-Type", "")).startswith("text/html")


def _is_broken(status: int | str) -> bool:
    return isinstance(status, str) or status in (403, 404) or status >= 500


def start_pages(cast: Cast, role: str) -> list[str]:
    """Every page the role table lets ``role`` GET, aimed at tenant A's own objects."""
    values = {**NEUTRAL_KWARGS, **a_targets(cast)}
    return [_url(route, values) for route in all_routes() if TABLE[route.name].get[role] == OK]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_offers_a_link_or_form_its_reader_cannot_use(cast: Cast, role: str) -> None:
    broken = Crawler(cast, role).crawl(start_pages(cast, role))
    assert not broken, "\n".join(map(str, broken))


@pytest.mark.urls("tests.dead_link_urls")
def test_the_crawl_reports_every_dead_link_on_a_page(cast: Cast) -> None:
    """A page with a link to nowhere, a link that redirects to nowhere, a staff page offered
    to a customer, a POST form to nowhere and a failing download: all five are reported."""
    broken = Crawler(cast, "customer").crawl(["/dead-links/"])
    found = {(b.link.method, b.link.url): b.status for b in broken}
    assert found == {
        ("get", "/nowhere/"): 404,
        ("get", "/dead-links/redirect/"): 404,
        ("get", "/agent/queue/"): 404,
        ("post", "/nowhere/either/"): "does not resolve",
        ("get", "/dead-links/download/"): "500 (a download)",
    }, broken
    assert {b.page for b in broken} == {"/dead-links/"}
