"""Request limits that hold for every page and endpoint, and a read run again when its
database connection was lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class RejectNulMiddleware:
    """A NUL character in the query string is a 400: PostgreSQL cannot store or compare text
    with NUL in it, so a search for ``%00`` would otherwise fail as a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in value for values in request.GET.lists() for value in values[1]):
            message = _("NUL characters are not allowed in the query.")
            if request.path.startswith("/api/"):  # the API answers JSON, as its schema says
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)


READ_ONLY_SQL = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "SET ")
"""Statements that change no data: a request that ran only these may be run again."""


class _Statements:
    """An execute wrapper that notes whether a request wrote and whether it lost its
    connection."""

    def __init__(self) -> None:
        self.wrote = False
        self.failed = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if not sql.lstrip().upper().startswith(READ_ONLY_SQL):
            self.wrote = True
        try:
            return execute(sql, params, many, context)
        except (OperationalError, InterfaceError):
            self.failed = True
            raise


def _connection_lost() -> bool:
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:  # a connection too broken to ask is lost
        return True


class RetryReadOnLostConnectionMiddleware:
    """Run a GET or HEAD once more when the database connection dropped under it before it
    wrote anything (PostgreSQL restarted, a connection terminated, a failover): the reader
    gets the page instead of a 503. Anything that wrote, and every other method, is answered
    as it failed (a 503 from ``supportdesk.errors``): running a write again is the client's
    call, with an ``Idempotency-Key`` on the API. A locked SQLite file is not a lost
    connection and is not retried. Before the session middleware, so the second run loads
    session, user and tenant on the new connection."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        statements = _Statements()
        with connection.execute_wrapper(statements):
            response = self.get_response(request)
        if not statements.failed or statements.wrote or not _connection_lost():
            return response
        logger.warning(
            "database connection lost under %s %s; running it again", request.method, request.path
        )
        try:
            connection.close()
        except (OperationalError, InterfaceError):
            pass  # closed as far as Django is concerned; the next query connects anew
        return self.get_response(request)
