"""/healthz, /readyz, request ids and tenants in the logs, outbox metrics for Prometheus."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import socket
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django_scopes import scope

from supportdesk.celery import app as celery_app
from supportdesk.observability import JsonFormatter, RequestContextFilter
from tickets.mail.models import OutboundEmail

from ..conftest import Cast, client_for, host_of

HOSTS = ["127.0.0.1", "localhost", "tenant-a.localhost", "not-an-allowed-host.example"]


@pytest.mark.parametrize("host", HOSTS)
def test_liveness_answers_on_any_host_without_touching_the_database(
    cast: Cast, host: str, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = Client().get("/healthz", HTTP_HOST=host)
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.parametrize("host", HOSTS)
def test_readiness_checks_database_broker_and_migrations(cast: Cast, host: str) -> None:
    response = Client().get("/readyz", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "migrations": "ok"}


def test_readiness_fails_while_a_migration_is_not_applied(cast: Cast) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'tickets' AND name LIKE '0004%'")
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] != "ok" and response.json()["database"] == "ok"


@pytest.fixture
def broker_away() -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    old = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        yield
    finally:
        celery_app.conf.broker_url = old


def test_readiness_fails_while_the_broker_is_away(cast: Cast, broker_away: None) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] != "ok" and response.json()["database"] == "ok"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The configured console handler, writing JSON into a buffer for the test."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RequestContextFilter) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old_stream, old_formatter = handler.setStream(buffer), handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        yield buffer
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(old_formatter)


@pytest.mark.urls("tests.supportdesk.error_urls")
def test_a_logged_error_names_its_request_id_and_tenant(cast: Cast, log_lines: io.StringIO) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    client.raise_request_exception = False
    response = client.get("/testboom/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-42"
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    error = next(r for r in records if r["logger"] == "django.request")
    assert (error["request_id"], error["tenant"]) == ("req-42", "tenant-a")
    assert "RuntimeError" in error["exception"]


@pytest.mark.parametrize("offered", ["", "has spaces", "x" * 65, "<script>"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(cast: Cast, offered: str) -> None:
    response = Client().get("/", HTTP_HOST=host_of(cast.tenant_a), HTTP_X_REQUEST_ID=offered)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def _queue_mail(cast: Cast, n: int) -> None:
    with scope(tenant=cast.tenant_a):
        OutboundEmail.objects.create(
            tenant=cast.tenant_a,
            key=f"metrics-{n}",
            message_id=f"<metrics-{n}@test>",
            kind="auto_reply",
            to_address="carla@orga.example.test",
            from_address="support@tenant-a.test",
            subject="Hello",
            body="Hello",
        )


@pytest.mark.parametrize("token", [None, "", "wrong"])
@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_need_the_token(cast: Cast, token: str | None) -> None:
    headers = {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert Client().get("/metrics", **headers).status_code == 404


def test_metrics_are_off_while_no_token_is_set(cast: Cast) -> None:
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_count_pending_outbox_rows_and_the_oldest_age(cast: Cast) -> None:
    start = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        _queue_mail(cast, 1)
        clock.shift(dt.timedelta(minutes=5))
        _queue_mail(cast, 2)
        clock.shift(dt.timedelta(minutes=5))
        response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'supportdesk_outbox_pending{outbox="mail_outbound"} 2.0' in text
    assert 'supportdesk_outbox_oldest_pending_seconds{outbox="mail_outbound"} 600.0' in text
    assert 'supportdesk_outbox_pending{outbox="sla_notices"} 0.0' in text
