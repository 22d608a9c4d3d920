"""Health, logs and metrics for operators.

- ``/healthz``: liveness. The process answers; nothing else is asked, so a database outage
  never gets a healthy web server restarted.
- ``/readyz``: readiness. The database answers, the broker accepts a connection and every
  migration is applied; 503 with the failing checks otherwise.
- Every log record carries the request's id (``X-Request-ID`` from the proxy, or a new one,
  echoed in the response) and the tenant's slug; ``LOG_FORMAT=json`` writes one JSON object
  per line.
- ``/metrics``: Prometheus text format with the pending rows and the oldest pending age of
  every outbox, behind ``METRICS_TOKEN`` (404 while it is unset).

The three URLs are answered by :class:`HealthMiddleware`, first in the chain: no host
check, no session, no tenant lookup, no HTTPS redirect for the load balancer's plain probe.

The readiness checks are our own, not django-health-check's: its 4.x releases (4.8.0 is the
newest the package index offers for this Python) check the database and the cache, but have no
migrations check and no broker-connection check (their Celery check pings workers, their
RabbitMQ check needs aio-pika), run every check through asyncio, and pull in dnspython. Three
small functions below say exactly what "ready" means here.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.utils import timezone
from django_scopes import scopes_disabled
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .celery import app as celery_app

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
tenant_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="-")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Every outbox: (name, model, pending rows, the field whose minimum is the oldest pending).
# Models by label, as Django's lazy references: the wiring does not import the apps above it.
OUTBOXES: list[tuple[str, str, Q, str]] = [
    ("mail_outbound", "mail.OutboundEmail", Q(status__in=["queued", "sending"]), "created_at"),
    ("mail_inbound", "mail.InboundEmail", Q(status="received"), "received_at"),
    # Staff notices not yet batched into a mail (a batched one is a mail_outbound row).
    ("sla_notices", "notifications.Notice", Q(mail__isnull=True), "created_at"),
    # Ticket events' deliveries to their handlers (notifications.services): due or retrying.
    ("ticket_events", "notifications.EventDelivery", Q(status="pending"), "created_at"),
]
# Outboxes whose rows are given up after their last attempt: (name, model, given-up rows).
OUTBOXES_FAILED: list[tuple[str, str, Q]] = [
    ("ticket_events", "notifications.EventDelivery", Q(status="failed")),
]


class RequestContextFilter(logging.Filter):
    """Put the request id and tenant slug on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, tenant."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "tenant": getattr(record, "tenant", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _check_migrations() -> None:
    # Every migration of the graph, not only the plan to the leaves: Django's plan skips a
    # leaf that is recorded even when one before it is not (a partly restored database).
    loader = MigrationExecutor(connection).loader
    if set(loader.graph.nodes) - set(loader.applied_migrations):
        raise RuntimeError("migrations are not all applied")


READINESS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "broker": _check_broker,
    "migrations": _check_migrations,
}


def readiness() -> dict[str, str]:
    """Each check's verdict: "ok" or the error's class name (never its message)."""
    verdicts = {}
    for name, check in READINESS.items():
        try:
            check()
            verdicts[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the log has the detail
            logging.getLogger(__name__).warning("readiness check %s failed: %r", name, exc)
            verdicts[name] = type(exc).__name__
    return verdicts


class HealthMiddleware:
    """Answer /healthz and /readyz before anything else runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz":
            verdicts = readiness()
            ready = all(v == "ok" for v in verdicts.values())
            return JsonResponse(verdicts, status=200 if ready else 503)
        if request.path == "/metrics":
            return metrics(request)
        return self.get_response(request)


class RequestIdMiddleware:
    """Give the request an id for the logs and the response; first in the chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        id_token, tenant_token = request_id_var.set(request_id), tenant_var.set("-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            tenant_var.reset(tenant_token)
        response["X-Request-ID"] = request_id
        return response


class TenantLogMiddleware:
    """Name the tenant in the logs; right after the tenant middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            tenant_var.set(tenant.slug)
        return self.get_response(request)


def outbox_figures() -> dict[str, tuple[int, float]]:
    """Per outbox: pending rows and the oldest pending row's age in seconds (0 when none)."""
    now = timezone.now()
    figures = {}
    with scopes_disabled():
        for name, label, pending, since in OUTBOXES:
            row = (
                apps.get_model(label).objects.filter(pending).aggregate(n=Count("pk"), t=Min(since))
            )
            age = (now - row["t"]).total_seconds() if row["t"] else 0.0
            figures[name] = (row["n"], max(age, 0.0))
    return figures


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; ``Authorization: Bearer <METRICS_TOKEN>``, else a 404."""
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not secrets.compare_digest(offered.encode(), token.encode()):
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    registry = CollectorRegistry()
    pending = Gauge(
        "supportdesk_outbox_pending", "Rows waiting in an outbox", ["outbox"], registry=registry
    )
    oldest = Gauge(
        "supportdesk_outbox_oldest_pending_seconds",
        "Age of the oldest row waiting in an outbox",
        ["outbox"],
        registry=registry,
    )
    failed = Gauge(
        "supportdesk_outbox_failed",
        "Rows an outbox gave up on after the last attempt",
        ["outbox"],
        registry=registry,
    )
    for name, (count, age) in outbox_figures().items():
        pending.labels(outbox=name).set(count)
        oldest.labels(outbox=name).set(age)
    with scopes_disabled():
        for name, label, given_up in OUTBOXES_FAILED:
            failed.labels(outbox=name).set(apps.get_model(label).objects.filter(given_up).count())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
