"""The real URLconf and its error handlers, plus views that fail on purpose."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse
from django.urls import path

from contracts.models import Organisation
from supportdesk import urls as real

SECRET = "internal-detail-Xy9"
"""In every exception raised here: it must never reach a response."""


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"view failed with {SECRET}")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied(SECRET)


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(SECRET)


def create_then_fail(request: HttpRequest) -> HttpResponse:
    """An effect, then a failure: what a 500 after the write looks like."""
    Organisation.objects.create(tenant=request.tenant, name=SECRET)  # type: ignore[attr-defined]
    raise RuntimeError(SECRET)


def database_lost(request: HttpRequest) -> HttpResponse:
    """Query, have another connection terminate this one's backend, query again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT '{SECRET}'")
    return HttpResponse("unreachable")


failing = [
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    path("database-lost/", database_lost),
    path("create-then-fail/", create_then_fail),
]
urlpatterns = [
    *[path(f"test{p.pattern}", p.callback) for p in failing],
    *[path(f"api/v1/test{p.pattern}", p.callback) for p in failing],
    *real.urlpatterns,
]
handler400 = real.handler400
handler403 = real.handler403
handler404 = real.handler404
handler500 = real.handler500
