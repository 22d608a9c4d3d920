"""A URLconf with a page of broken things: proves the browser crawl
(``tests/browser/test_crawl.py``) reports each kind of them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import path

from supportdesk.urls import urlpatterns as real_urlpatterns

_PAGE = """<!doctype html><title>Broken</title>
<a href="/nowhere/">missing</a>
<a href="/agent/queue/">a staff page</a>
<a href="/crawl-check/inline/">a page with an inline script</a>
<a href="/crawl-check/missing-script/">a page with a missing script</a>
<a href="/crawl-check/refused/">a page that answers 400</a>
<a href="https://elsewhere.example/">another site</a>
"""


def broken(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_PAGE)


def inline(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<!doctype html><title>Inline</title><script>void 0</script>")


def missing_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        '<!doctype html><title>Missing</title><script src="/crawl-check/missing.js"></script>'
    )


def refused(request: HttpRequest) -> HttpResponse:
    return HttpResponseBadRequest("<!doctype html><title>Expired</title>")


urlpatterns = [
    *real_urlpatterns,
    path("crawl-check/", broken, name="crawl-check"),
    path("crawl-check/inline/", inline, name="crawl-check-inline"),
    path("crawl-check/missing-script/", missing_script, name="crawl-check-missing-script"),
    path("crawl-check/refused/", refused, name="crawl-check-refused"),
]
