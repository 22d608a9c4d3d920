"""A mailbox cannot make the server probe the internal network or arbitrary ports.

With ``MAIL_ALLOW_INTERNAL_SERVERS`` off (the production default; the test settings turn it
on for the test Dovecot), loopback, private, link-local and unspecified addresses and
non-standard ports are refused when a mailbox is saved, checked or polled, without
connecting. With it on, every failure to reach an IMAP server reads the same, so the check
says nothing about the state of the port it was pointed at.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.mail.servers import ImapServer
from tickets.mail import services
from tickets.mail.inbound import imap
from tickets.mail.inbound.imap import IMAP_PORTS, address_is_internal
from tickets.mail.models import Mailbox, OutboundEmail, OutboundKind, OutboundStatus, SmtpSecurity
from tickets.mail.services import mailbox_auth
from tickets.mail.services.mailbox_auth import SMTP_PORTS

INTERNAL = [
    "127.0.0.1",
    "127.1.2.3",
    "127.255.255.254",
    "::1",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.20.10.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.254",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "fe80::1",
    "fe80::1%lo",
    "0.0.0.0",  # noqa: S104 - the address under test, not a bind
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "fc00::1",
    "fd12:3456::1",
    "100.64.0.1",
    "224.0.0.1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "172.15.255.1", "172.32.0.1", "2606:4700::1111"]
NON_STANDARD_PORTS = [1, 22, 25, 80, 110, 443, 5432, 6379, 8080, 995, 1430, 9930, 65535]

REFUSED_HOST = "only servers on the public internet are allowed"
REFUSED_PORT = "Only the standard IMAP ports (143, 993) are allowed."


@pytest.fixture
def internal_off(settings: Any) -> None:
    settings.MAIL_ALLOW_INTERNAL_SERVERS = False


class Listener:
    """A TCP port on loopback that records whether anyone connected, and answers with
    ``greeting`` (nothing: accept and stay silent)."""

    def __init__(self, greeting: bytes | None = b"") -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            if self.greeting is None:
                continue  # silent: the client waits until its timeout
            try:
                conn.sendall(self.greeting)
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(greeting=b"* OK IMAP4rev1 ready\r\n")
    yield server
    server.close()


def _mailbox(cast: Cast, host: str, port: int) -> Mailbox:
    """A mailbox written straight to the table, as an old row or a changed rule would leave it."""
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Probe",
            email_address="probe@tenant-a.example.test",
            imap_host=host,
            imap_port=port,
            imap_use_ssl=False,
            imap_username="u",
            imap_password="p",
        )


def _form(host: str, port: int) -> dict[str, Any]:
    return {
        "name": "Support",
        "email_address": "support@tenant-a.example.test",
        "imap_host": host,
        "imap_port": port,
        "imap_username": "u",
        "imap_password": "p",
        "imap_folder": "INBOX",
        "is_active": "on",
    }


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_recognised(address: str) -> None:
    assert address_is_internal(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address: str) -> None:
    assert not address_is_internal(address)


@pytest.mark.parametrize("host", [*INTERNAL, "localhost"])
@pytest.mark.parametrize("port", IMAP_PORTS)
def test_saving_a_mailbox_on_an_internal_server_is_a_form_error(
    cast: Cast, internal_off: None, host: str, port: int
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post("/manage/mailboxes/", _form(host, port))
    assert response.status_code == 200
    assert REFUSED_HOST in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Mailbox.objects.exists()


@pytest.mark.parametrize("port", NON_STANDARD_PORTS)
def test_saving_a_mailbox_on_a_non_standard_port_is_a_form_error(
    cast: Cast, internal_off: None, port: int
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        "/manage/mailboxes/", _form("93.184.216.34", port)
    )
    assert response.status_code == 200
    assert REFUSED_PORT in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Mailbox.objects.exists()


@pytest.mark.parametrize("port", IMAP_PORTS)
def test_a_public_server_on_a_standard_port_is_saved(
    cast: Cast, internal_off: None, port: int
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        "/manage/mailboxes/", _form("93.184.216.34", port)
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert Mailbox.objects.get().imap_port == port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::ffff:127.0.0.1"])
def test_the_check_refuses_loopback_without_connecting(
    cast: Cast, internal_off: None, listener: Listener, monkeypatch: Any, host: str
) -> None:
    monkeypatch.setattr(imap, "IMAP_PORTS", (*IMAP_PORTS, listener.port))
    mailbox = _mailbox(cast, host, listener.port)
    page = client_for(cast.admin, cast.tenant_a).post(
        f"/manage/mailboxes/{mailbox.pk}/check/", follow=True
    )
    assert REFUSED_HOST in page.content.decode()
    assert listener.connections == 0


def test_the_check_refuses_a_non_standard_port_without_connecting(
    cast: Cast, internal_off: None, listener: Listener
) -> None:
    mailbox = _mailbox(cast, "127.0.0.1", listener.port)
    with scope(tenant=cast.tenant_a):
        assert services.mailbox_check(mailbox=mailbox) == REFUSED_PORT
    assert listener.connections == 0


def test_the_beat_poll_refuses_loopback_without_connecting(
    cast: Cast, internal_off: None, listener: Listener, monkeypatch: Any
) -> None:
    monkeypatch.setattr(imap, "IMAP_PORTS", (*IMAP_PORTS, listener.port))
    mailbox = _mailbox(cast, "localhost", listener.port)
    with scope(tenant=cast.tenant_a):
        assert services.mailbox_poll(mailbox=mailbox) == 0
        mailbox.refresh_from_db()
    assert REFUSED_HOST in mailbox.last_error
    assert listener.connections == 0


def _closed_port() -> int:
    sock = socket.create_server(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


UNREACHABLE = (
    "Could not connect to an IMAP server at {host}:{port}; check the server name, the port "
    "and the SSL setting."
)


def _check(cast: Cast, host: str, port: int) -> str:
    with scope(tenant=cast.tenant_a):
        Mailbox.objects.all().delete()
        return services.mailbox_check(mailbox=_mailbox(cast, host, port))


@pytest.mark.parametrize(
    "greeting",
    [
        b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n",
        b"-ERR unknown command\r\n",  # Redis
        b"220 smtp.example.test ESMTP\r\n",
        b"",  # accepts and hangs up
        None,  # accepts and stays silent until the timeout
    ],
)
def test_an_open_port_that_is_no_imap_server_reads_like_a_closed_one(
    cast: Cast, monkeypatch: Any, greeting: bytes | None
) -> None:
    monkeypatch.setattr(imap, "IMAP_TIMEOUT_SECONDS", 0.5)
    server = Listener(greeting=greeting)
    try:
        opened = _check(cast, "127.0.0.1", server.port)
    finally:
        server.close()
    closed_port = _closed_port()
    closed = _check(cast, "127.0.0.1", closed_port)
    assert server.connections == 1
    assert opened == UNREACHABLE.format(host="127.0.0.1", port=server.port)
    assert closed == UNREACHABLE.format(host="127.0.0.1", port=closed_port)


def test_a_name_that_does_not_resolve_reads_the_same(cast: Cast) -> None:
    assert _check(cast, "no-such-host.invalid", 993) == UNREACHABLE.format(
        host="no-such-host.invalid", port=993
    )


@pytest.mark.mail
def test_with_the_operator_setting_the_test_dovecot_is_reachable(
    cast: Cast, dovecot: ImapServer
) -> None:
    mailbox = _mailbox(cast, dovecot.host, dovecot.port)
    mailbox.imap_username, mailbox.imap_password = dovecot.username, dovecot.password
    with scope(tenant=cast.tenant_a):
        assert services.mailbox_check(mailbox=mailbox) == ""


# --- The mailbox's own SMTP server (outgoing mail): the same rule as its IMAP server -------

REFUSED_SMTP_PORT = "Only the standard SMTP ports (25, 465, 587, 2525) are allowed."


def _smtp_form(host: str, port: int) -> dict[str, Any]:
    return {
        **_form("93.184.216.34", 993),
        "smtp_host": host,
        "smtp_port": port,
        "smtp_security": SmtpSecurity.STARTTLS,
    }


@pytest.mark.parametrize("host", [*INTERNAL, "localhost"])
def test_saving_a_mailbox_whose_smtp_server_is_internal_is_a_form_error(
    cast: Cast, internal_off: None, host: str
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        "/manage/mailboxes/", _smtp_form(host, 587)
    )
    assert response.status_code == 200
    assert REFUSED_HOST in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Mailbox.objects.exists()


@pytest.mark.parametrize("port", [1, 22, 80, 143, 443, 993, 5432, 6379, 8080, 11211])
def test_saving_a_mailbox_whose_smtp_port_is_not_standard_is_a_form_error(
    cast: Cast, internal_off: None, port: int
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        "/manage/mailboxes/", _smtp_form("93.184.216.34", port)
    )
    assert response.status_code == 200
    assert REFUSED_SMTP_PORT in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert not Mailbox.objects.exists()


@pytest.mark.parametrize("port", SMTP_PORTS)
def test_a_public_smtp_server_on_a_standard_port_is_saved(
    cast: Cast, internal_off: None, port: int
) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        "/manage/mailboxes/", _smtp_form("93.184.216.34", port)
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert Mailbox.objects.get().smtp_port == port


@pytest.mark.parametrize("on_standard_port", [True, False])
def test_mail_is_never_sent_through_an_internal_smtp_server_a_row_names(
    cast: Cast,
    internal_off: None,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
    on_standard_port: bool,
) -> None:
    """An old row (or one written around the form) pointing at loopback: the send connects
    to nothing, and the mail is failed with the reason instead of retried for ever."""
    server = Listener(greeting=b"220 smtp ready\r\n")
    try:
        if on_standard_port:
            monkeypatch.setattr(mailbox_auth, "SMTP_PORTS", (*SMTP_PORTS, server.port))
        with scope(tenant=cast.tenant_a):
            Mailbox.objects.create(
                tenant=cast.tenant_a,
                name="Support",
                email_address="support@tenant-a.example.test",
                imap_host="93.184.216.34",
                imap_username="u",
                imap_password="p",
                smtp_host="127.0.0.1",
                smtp_port=server.port,
                smtp_security=SmtpSecurity.NONE,
            )
        with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
            services.mail_enqueue(
                tenant=cast.tenant_a,
                key="test:internal-smtp",
                kind=OutboundKind.LOGIN_LINK,
                to="carla@orga.example.test",
                subject="Login",
                body="Log in here\n",
            )
        assert server.connections == 0
        with scope(tenant=cast.tenant_a):
            outbound = OutboundEmail.objects.get(key="test:internal-smtp")
        assert outbound.status == OutboundStatus.FAILED
        assert "allowed" in outbound.last_error
    finally:
        server.close()


def test_the_test_button_refuses_an_internal_smtp_server_without_connecting(
    cast: Cast, internal_off: None, monkeypatch: Any
) -> None:
    server = Listener(greeting=b"220 smtp ready\r\n")
    try:
        monkeypatch.setattr(mailbox_auth, "SMTP_PORTS", (*SMTP_PORTS, server.port))
        mailbox = _mailbox(cast, "93.184.216.34", 993)
        mailbox.smtp_host, mailbox.smtp_port = "127.0.0.1", server.port
        with scope(tenant=cast.tenant_a):
            assert mailbox_auth.mailbox_smtp_check(mailbox=mailbox) == (
                "This server is on a loopback, private or link-local network; only servers "
                "on the public internet are allowed."
            )
        assert server.connections == 0
    finally:
        server.close()
