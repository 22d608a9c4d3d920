"""Error pages: translated HTML that shows no internals, JSON under /api/.

Django calls these for errors no view answered itself (an unknown /api/ URL, a host or
body it refuses, an exception anywhere in the middleware or view). A lost or busy
database is a 503 with ``Retry-After``: the request may simply be repeated.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _database_unavailable() -> bool:
    """Whether the exception being handled is a lost connection (or a locked SQLite file)."""
    exc = sys.exc_info()[1]
    return isinstance(exc, OperationalError | InterfaceError)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": _("You do not have permission to perform this action.")}, status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 with Retry-After when the database went away; never touches the database."""
    if _database_unavailable():
        status, template = 503, "503.html"
        message = _("The service is briefly unavailable. Please try again in a moment.")
    else:
        status, template = 500, "500.html"
        message = _("Something went wrong on our side. It has been logged.")
    if _is_api(request):
        response: HttpResponse = JsonResponse({"detail": message}, status=status)
    else:
        # No request context: context processors would query the database.
        response = HttpResponse(loader.get_template(template).render(), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
