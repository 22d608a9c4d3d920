"""Fixtures of the e-mail tests: a real Dovecot IMAP server (one per session, emptied per
test), an aiosmtpd capture server with Django's SMTP backend pointed at it, tenant A's
mailbox on that IMAP server, and the portal tests' support desk (plans, SLA, calendar).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tests.mail.servers import DOVECOT, ImapServer, OAuthServer, SmtpCapture, start_dovecot
from tests.portal.conftest import Desk, build_desk
from tickets.mail import services, tasks
from tickets.mail.models import InboundEmail, Mailbox

CORPUS = Path(__file__).parent / "corpus"
SUPPORT_ADDRESS = "support@tenant-a.example.test"


def corpus(name: str, **replacements: str) -> bytes:
    """A corpus message with its ``@@PLACEHOLDER@@`` parts filled in."""
    raw = (CORPUS / name).read_bytes()
    for key, value in replacements.items():
        raw = raw.replace(f"@@{key.upper()}@@".encode(), value.encode())
    return raw


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def oauth(oauth_server: OAuthServer) -> OAuthServer:
    """The OAuth 2.0 token and introspection server, with no tokens issued yet."""
    oauth_server.reset()
    return oauth_server


@pytest.fixture(scope="session")
def dovecot(oauth_server: OAuthServer) -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        pytest.skip(f"{DOVECOT} is missing: install Debian's dovecot-imapd to run IMAP tests")
    server = start_dovecot(oauth_server)
    yield server
    server.stop()


@pytest.fixture
def imap(dovecot: ImapServer) -> ImapServer:
    dovecot.empty()
    return dovecot


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpCapture]:
    capture = SmtpCapture().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = capture.host
    settings.EMAIL_PORT = capture.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield capture
    capture.stop()


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


@pytest.fixture
def mailbox(cast: Cast, desk: Desk, imap: ImapServer) -> Mailbox:
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Support",
            email_address=SUPPORT_ADDRESS,
            from_name="Tenant A Support",
            imap_host=imap.host,
            imap_port=imap.port,
            imap_use_ssl=False,
            imap_username=imap.username,
            imap_password=imap.password,
        )


def sender_mailbox(cast: Cast) -> Mailbox:
    """Tenant A's mailbox only as the address our mail comes from (never polled)."""
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Support",
            email_address=SUPPORT_ADDRESS,
            imap_host="127.0.0.1",
            imap_username="x",
            imap_password="x",
        )


@pytest.fixture(params=["ingest", "imap"])
def transport(
    request: Any, cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> Callable[[bytes], InboundEmail]:
    """How a message reaches us: piped into ``email_ingest``, or polled from Dovecot."""
    if request.param == "imap":
        imap: ImapServer = request.getfixturevalue("imap")
        mailbox: Mailbox = request.getfixturevalue("mailbox")

        def send(raw: bytes) -> InboundEmail:
            imap.deliver(raw)
            with django_capture_on_commit_callbacks(execute=True):
                tasks.mailbox_poll.delay(cast.tenant_a.pk, mailbox.pk)
            assert imap.unseen() == 0
            with scope(tenant=cast.tenant_a):
                return InboundEmail.objects.latest("id")

        return send

    sender_mailbox(cast)

    def ingest(raw: bytes) -> InboundEmail:
        with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
            inbound, created = services.email_ingest(tenant=cast.tenant_a, raw=raw)
        assert created
        with scope(tenant=cast.tenant_a):
            return InboundEmail.objects.get(pk=inbound.pk)

    return ingest
