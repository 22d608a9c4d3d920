"""A URLconf with a page full of dead links: proves the link crawl
(``tests/test_link_crawl.py``) reports each kind of them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path

from supportdesk.urls import urlpatterns as real_urlpatterns

_PAGE = """<!doctype html><title>Dead links</title>
<a href="/nowhere/">missing</a>
<a href="redirect/">redirects to a missing page</a>
<a href="/agent/queue/">a staff page</a>
<a href="https://elsewhere.example/">another site</a>
<a href="/dead-links/download/">a failing download</a>
<form method="post" action="/nowhere/either/"><button>Send</button></form>
<form method="get" action="/kb/"><input name="q" value="printer"></form>
"""


def dead_links(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_PAGE)


def redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/nowhere/at-all/")


def download(request: HttpRequest) -> HttpResponse:
    return HttpResponse("a,b\n", content_type="text/csv", status=500)


urlpatterns = [
    *real_urlpatterns,
    path("dead-links/", dead_links, name="dead-links"),
    path("dead-links/redirect/", redirect, name="dead-links-redirect"),
    path("dead-links/download/", download, name="dead-links-download"),
]
