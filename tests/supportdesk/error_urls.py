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


def _terminate_own_backend() -> None:
    """Have another connection terminate this one's backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()


def database_lost(request: HttpRequest) -> HttpResponse:
    """Query, lose the connection, query again."""
    _terminate_own_backend()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT '{SECRET}'")
    return HttpResponse("unreachable")


RUNS: list[str] = []
"""The runs of the views below, by method: a test empties it first."""


def database_lost_once(request: HttpRequest) -> HttpResponse:
    """Lose the connection on the first run only, then read."""
    RUNS.append(request.method or "")
    if len(RUNS) == 1:
        _terminate_own_backend()
    count = Organisation.objects.filter(tenant=request.tenant).count()  # type: ignore[attr-defined]
    return HttpResponse(f"survived with {count} organisations")


def write_then_database_lost(request: HttpRequest) -> HttpResponse:
    """Write, then lose the connection on the first run."""
    RUNS.append(request.method or "")
    Organisation.objects.create(tenant=request.tenant, name=f"written {len(RUNS)}")  # type: ignore[attr-defined]
    if len(RUNS) == 1:
        _terminate_own_backend()
    Organisation.objects.count()
    return HttpResponse("written")


failing = [
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    path("database-lost/", database_lost),
    path("database-lost-once/", database_lost_once),
    path("write-then-database-lost/", write_then_database_lost),
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
