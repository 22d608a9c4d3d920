"""The webhook channel against a real HTTP receiver on loopback: signed JSON per event, retried
with backoff until taken, each webhook served once per event, refused for internal addresses
unless the operator allows them, configured by the tenant admin on its pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from django_scopes import scope, scopes_disabled

from notifications import services
from notifications.channels.webhook import PAUSE_AFTER_FAILURE, SIGNATURE_HEADER
from notifications.models import EventDelivery, Webhook, WebhookDelivery
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tickets.models import EventKind, TicketEvent

from .conftest import agent_reply, file_ticket

START = dt.datetime(2026, 5, 4, 8, tzinfo=dt.UTC)
WEBHOOK_HANDLER = "notifications.channels.webhook.notify_by_webhook"
MAIL_HANDLER = "notifications.channels.email.notify_by_mail"


@dataclass
class Receiver:
    """A webhook receiver: records each POST; answers ``status``."""

    url: str
    status: int = 200
    posts: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box["r"].posts.append({"headers": dict(self.headers), "body": body})
            self.send_response(box["r"].status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()


def _webhook(cast: Cast, url: str, **fields: Any) -> Webhook:
    with scope(tenant=cast.tenant_a), override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True):
        return services.webhook_save(
            webhook=Webhook(tenant=cast.tenant_a, name="Team chat", url=url, **fields),
            actor=cast.admin,
        )


def _webhook_rows() -> list[tuple[str, int]]:
    with scopes_disabled():
        return list(
            EventDelivery.objects.filter(handler=WEBHOOK_HANDLER)
            .order_by("pk")
            .values_list("status", "attempts")
        )


def _verified(secret: str, post: dict[str, Any]) -> dict[str, Any]:
    """The post's JSON, after checking its signature the way a receiver would."""
    stamp, mac = post["headers"][SIGNATURE_HEADER].split(",")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + post["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(mac.removeprefix("v1="), expected), "the signature verifies"
    return json.loads(post["body"])


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_a_new_ticket_is_posted_signed_to_the_tenants_webhook(
    cast: Cast, receiver: Receiver
) -> None:
    webhook = _webhook(cast, receiver.url)
    ticket = file_ticket(cast, "Export fails")
    assert services.deliveries_relay() == 2  # the mail handler's delivery and the webhook's
    (post,) = receiver.posts
    payload = _verified(webhook.secret, post)
    assert payload["event"] == EventKind.CREATED
    assert payload["ticket"]["reference"] == ticket.reference
    assert payload["ticket"]["url"].endswith(f"/agent/tickets/{ticket.pk}/")
    assert payload["text"].startswith(f"{ticket.reference} Export fails: ")
    assert post["headers"]["X-Supportdesk-Event"] == "created"
    assert services.deliveries_relay() == 0
    assert len(receiver.posts) == 1, "a done delivery is not posted again"


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_a_receiver_that_fails_is_retried_with_backoff_until_it_takes_the_event_once(
    cast: Cast, receiver: Receiver
) -> None:
    _webhook(cast, receiver.url)
    receiver.status = 503
    with time_machine.travel(START, tick=False) as clock:
        file_ticket(cast, "Down")
        services.deliveries_relay()
        assert _webhook_rows() == [("pending", 1)]
        with scope(tenant=cast.tenant_a):
            assert Webhook.objects.get().last_error == "Answered 503."
        clock.shift(PAUSE_AFTER_FAILURE + dt.timedelta(seconds=1))
        receiver.status = 200
        services.deliveries_relay()
        assert _webhook_rows() == [("done", 2)]
        with scope(tenant=cast.tenant_a):
            webhook = Webhook.objects.get()
            assert (webhook.last_error, webhook.failing_since) == ("", None)
    assert len(receiver.posts) == 2, "one refused post, one taken; nothing after"


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_a_failing_webhook_does_not_make_the_working_one_hear_an_event_twice(
    cast: Cast, receiver: Receiver
) -> None:
    working = _webhook(cast, receiver.url)
    _webhook(cast, "http://127.0.0.1:9/closed-port")
    with time_machine.travel(START, tick=False) as clock:
        file_ticket(cast, "Half")
        for _attempt in range(3):
            services.deliveries_relay()
            clock.shift(dt.timedelta(hours=1))
    assert _webhook_rows() == [("pending", 3)]
    assert len(receiver.posts) == 1
    with scope(tenant=cast.tenant_a):
        assert WebhookDelivery.objects.filter(webhook=working).count() == 1


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_a_webhook_hears_only_the_events_it_chose(cast: Cast, receiver: Receiver) -> None:
    _webhook(cast, receiver.url, kinds=[EventKind.REPLIED])
    ticket = file_ticket(cast, "Choosy")
    services.deliveries_relay()
    assert receiver.posts == []
    agent_reply(cast, ticket, "We are on it.")
    services.deliveries_relay()
    (post,) = receiver.posts
    assert json.loads(post["body"])["event"] == EventKind.REPLIED
    assert "We are on it" not in post["body"].decode(), "no message bodies in a chat channel"


def test_a_tenant_without_webhooks_is_owed_no_webhook_delivery(cast: Cast) -> None:
    """The channel's store-time filter: no delivery row, no relay work, when no webhook of
    the tenant wants the event."""
    ticket = file_ticket(cast, "Nobody listens")
    agent_reply(cast, ticket, "Looking.")
    assert _webhook_rows() == []
    with scopes_disabled():
        events = TicketEvent.objects.filter(ticket=ticket).count()
        assert events >= 2
        assert EventDelivery.objects.filter(handler=MAIL_HANDLER).count() == events


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_the_filter_follows_webhook_edits_at_once(cast: Cast, receiver: Receiver) -> None:
    """Kinds are cached per tenant; saving or deleting a webhook drops them, so the next event
    after an edit is judged by the edit (whichever way the row was written)."""
    first = file_ticket(cast, "Before")  # caches "no webhooks"
    assert _webhook_rows() == []
    with scope(tenant=cast.tenant_a):
        hook = Webhook.objects.create(
            tenant=cast.tenant_a, name="ORM", url=receiver.url, kinds=[EventKind.REPLIED]
        )
    file_ticket(cast, "Not a reply")  # a kind it did not choose: still no row
    assert _webhook_rows() == []
    agent_reply(cast, first, "Now it listens.")
    assert _webhook_rows() == [("pending", 0)]
    with scope(tenant=cast.tenant_a):
        hook.delete()
    agent_reply(cast, first, "Gone again.")
    assert len(_webhook_rows()) == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "http://10.1.2.3/hook", "http://[::1]/hook"]
)
def test_an_admin_cannot_point_a_webhook_at_an_internal_address(cast: Cast, url: str) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post("/manage/webhooks/", {"name": "Probe", "url": url, "active": "on"})
    assert response.status_code == 200
    assert "only addresses on the public internet are allowed" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Webhook.objects.exists(), "nothing saved"


def test_a_bad_url_is_an_error_on_the_form(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post("/manage/webhooks/", {"name": "Bad", "url": "ftp://example.com/x"})
    assert response.status_code == 200
    assert "Enter an http:// or https:// URL." in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Webhook.objects.exists()


@override_settings(WEBHOOK_ALLOW_INTERNAL_HOSTS=True)
def test_the_admin_adds_a_webhook_sees_its_secret_and_sends_a_test(
    cast: Cast, receiver: Receiver
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        "/manage/webhooks/", {"name": "Slack", "url": receiver.url, "active": "on"}, follow=True
    )
    with scope(tenant=cast.tenant_a):
        webhook = Webhook.objects.get()
    page = response.content.decode()
    assert webhook.secret and webhook.secret in page
    assert "X-Supportdesk-Signature (t: the time; v1: the HMAC-SHA256" in page, "no bare <tags>"
    response = client.post(f"/manage/webhooks/{webhook.pk}/test/", follow=True)
    assert "The test was posted and taken." in response.content.decode()
    (post,) = receiver.posts
    assert _verified(webhook.secret, post)["event"] == "ping"
    receiver.status = 500
    response = client.post(f"/manage/webhooks/{webhook.pk}/test/", follow=True)
    assert "The test was not taken: Answered 500." in response.content.decode()


def test_the_audit_trail_records_a_webhook_but_never_its_secret(
    cast: Cast, receiver: Receiver
) -> None:
    webhook = _webhook(cast, receiver.url)
    with scope(tenant=cast.tenant_a):
        (event,) = AuditEvent.objects.filter(object_type="notifications.webhook")
        assert event.changes["url"] == [None, receiver.url]
        assert webhook.secret not in json.dumps(event.changes)
        services.webhook_delete(webhook=webhook, actor=cast.admin)
        assert AuditEvent.objects.filter(object_type="notifications.webhook").count() == 2
