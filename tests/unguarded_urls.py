"""A URLconf with a page that checks only the sign-in, not the role: proves the role table
test (``tests/test_roles.py``) fails when a view forgets its ``@admin_required``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from supportdesk.urls import urlpatterns as real_urlpatterns


@login_required
def unguarded(request: HttpRequest) -> HttpResponse:
    return HttpResponse("admin things")


urlpatterns = [*real_urlpatterns, path("unguarded/", unguarded, name="unguarded")]
