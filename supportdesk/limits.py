"""Request bodies are capped on their declared size, before anything reads them.

Django reads a form or upload body whole when a middleware or view first touches
``request.POST`` (the CSRF check does), and only then applies its own limits. This middleware
runs first and answers 413 from the ``Content-Length`` header alone. Behind a proxy, set the
same limit there (nginx ``client_max_body_size``) so the bytes never reach gunicorn; see
docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


class RequestSizeMiddleware:
    """413 for a body over ``REQUEST_MAX_BYTES``; 400 for an unreadable Content-Length."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(declared)
        except ValueError:
            return self._refuse(request, _("The Content-Length header is not a number."), 400)
        limit: int = settings.REQUEST_MAX_BYTES
        if size > limit:
            message = _("The request is %(size)s; at most %(max)s is accepted.") % {
                "size": filesizeformat(size),
                "max": filesizeformat(limit),
            }
            return self._refuse(request, message, 413)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, message: str, status: int) -> HttpResponse:
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message}, status=status)
        else:
            response = HttpResponse(message, status=status, content_type="text/plain")
        response["Connection"] = "close"  # the unread body must not be taken as a next request
        return response
