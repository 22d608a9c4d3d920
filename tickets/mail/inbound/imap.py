"""Fetch new mail from an IMAP folder with the standard library's imaplib.

Messages are read with ``BODY.PEEK[]`` (which does not set ``\\Seen``) and only flagged
``\\Seen`` by :meth:`ImapSource.acknowledge`, after the caller has stored them. A crash in
between means the next poll fetches them again; storing is idempotent on Message-ID.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

IMAP_TIMEOUT_SECONDS = 30
FETCH_LIMIT = 200
"""At most this many messages per poll, so one huge backlog cannot hold a worker forever."""

IMAP_PORTS = (143, 993)
"""The standard IMAP ports (plain/STARTTLS and SSL); others only when the operator allows."""

_UID_RE = re.compile(rb"UID (\d+)")


class MailSourceError(Exception):
    """The mailbox could not be read; the message says why, without the password."""


class MailTargetRefused(MailSourceError):
    """The server is not one a tenant may make us connect to; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    use_ssl: bool
    username: str
    password: str
    folder: str = "INBOX"
    allow_internal: bool = False
    """Allow loopback, private and link-local addresses and any port (an operator setting)."""
    oauth_token: Callable[[bool], str] | None = field(default=None, compare=False)
    """OAuth 2.0: ``oauth_token(refresh)`` gives the access token to log in with (SASL
    XOAUTH2) instead of the password; a fresh one when ``refresh``."""


def address_is_internal(address: str) -> bool:
    """Whether an IP address is anything but a public unicast one (loopback, private, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0 carries a zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not ip.is_global or ip.is_multicast


def imap_addresses(host: str, port: int, *, allow_internal: bool) -> list[str]:
    """The addresses of ``host`` we may connect to on ``port``, all checked.

    Every address the name resolves to must be public, so a name pointing at 127.0.0.1 (or
    at a public and a private address) is refused as a whole. Raises
    :class:`MailTargetRefused` for a forbidden host or port and :class:`MailSourceError`
    when the name does not resolve.
    """
    if not allow_internal and port not in IMAP_PORTS:
        raise MailTargetRefused(
            _("Only the standard IMAP ports (%(ports)s) are allowed.")
            % {"ports": ", ".join(map(str, IMAP_PORTS))},
            field="imap_port",
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError, OverflowError) as exc:
        logger.info("IMAP server %r does not resolve: %s", host, exc)
        raise MailSourceError(_connect_failed(host, port)) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_internal and any(address_is_internal(address) for address in addresses):
        raise MailTargetRefused(
            _(
                "This server is on a loopback, private or link-local network; only servers "
                "on the public internet are allowed."
            ),
            field="imap_host",
        )
    return addresses


def _connect_failed(host: str, port: int) -> str:
    # One message for a refused, timed-out, closed or non-IMAP port: the answer must not
    # tell a port scanner anything about the ports it probes.
    return _(
        "Could not connect to an IMAP server at %(host)s:%(port)s; check the server name, "
        "the port and the SSL setting."
    ) % {"host": host, "port": port}


def _open_socket(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    error: OSError = OSError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _CheckedIMAP4(imaplib.IMAP4):
    """imaplib connecting to addresses already checked, so DNS cannot change its answer
    between the check and the connection."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return _open_socket(self._addresses, self.port, timeout)


class _CheckedIMAP4_SSL(imaplib.IMAP4_SSL):  # noqa: N801 - imaplib's spelling
    def __init__(
        self, host: str, port: int, addresses: list[str], context: ssl.SSLContext, timeout: float
    ) -> None:
        self._addresses = addresses
        self._context = context
        super().__init__(host, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = _open_socket(self._addresses, self.port, timeout)
        return self._context.wrap_socket(sock, server_hostname=self.host)


class ImapSource:
    """One IMAP folder; use as a context manager so the connection is always closed."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapSource:
        s = self.settings
        addresses = imap_addresses(s.host, s.port, allow_internal=s.allow_internal)
        try:
            if s.use_ssl:
                context = ssl.create_default_context()
                conn: imaplib.IMAP4 = _CheckedIMAP4_SSL(
                    s.host, s.port, addresses, context, IMAP_TIMEOUT_SECONDS
                )
            else:
                conn = _CheckedIMAP4(s.host, s.port, addresses, IMAP_TIMEOUT_SECONDS)
        except (OSError, imaplib.IMAP4.error) as exc:
            logger.info("IMAP connection to %s:%s failed: %s", s.host, s.port, exc)
            raise MailSourceError(_connect_failed(s.host, s.port)) from exc
        try:
            if s.oauth_token is not None:
                _xoauth2_login(conn, s.username, s.oauth_token)
            else:
                conn.login(s.username, s.password)
            status, _data = conn.select(_quote(s.folder))
            if status != "OK":
                conn.logout()
                raise MailSourceError(f"folder {s.folder!r} cannot be opened")
        except (OSError, imaplib.IMAP4.error) as exc:
            _close(conn)
            raise MailSourceError(f"{s.host}:{s.port}: {_text(exc)}") from exc
        except MailSourceError:
            _close(conn)
            raise
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            try:
                self._conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass  # the server went away first; nothing left to close
            self._conn = None

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise MailSourceError("not connected")
        return self._conn

    def fetch(self) -> Iterator[tuple[str, bytes]]:
        """``(uid, raw bytes)`` of unseen messages, oldest first."""
        try:
            status, data = self.conn.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
            if status != "OK":
                raise MailSourceError("SEARCH failed")
            uids = data[0].split()[:FETCH_LIMIT] if data and data[0] else []
            for uid in uids:
                status, parts = self.conn.uid("FETCH", uid.decode(), "(UID BODY.PEEK[])")
                if status != "OK":
                    continue
                for part in parts:
                    if isinstance(part, tuple) and _UID_RE.search(part[0]):
                        yield uid.decode(), bytes(part[1])
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailSourceError(str(exc)) from exc

    def acknowledge(self, source_ids: Iterable[str]) -> None:
        """Flag the messages ``\\Seen`` so the next poll skips them."""
        ids = ",".join(source_ids)
        if not ids:
            return
        try:
            self.conn.uid("STORE", ids, "+FLAGS.SILENT", r"(\Seen)")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailSourceError(str(exc)) from exc


def xoauth2_response(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's format), unencoded."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def _xoauth2_login(conn: imaplib.IMAP4, username: str, token: Callable[[bool], str]) -> None:
    try:
        _xoauth2_authenticate(conn, username, token(False))
    except imaplib.IMAP4.error as exc:
        if conn.state != "NONAUTH":
            raise
        # AUTHENTICATIONFAILED: revoked or expired early; one fresh token, then it stands.
        logger.info("XOAUTH2 login of %s refused (%s); refreshing the token", username, exc)
        _xoauth2_authenticate(conn, username, token(True))


def _xoauth2_authenticate(conn: imaplib.IMAP4, username: str, token: str) -> None:
    answered = False

    def answer(challenge: bytes) -> bytes:
        nonlocal answered
        if answered:
            return b""  # the server's error details came as a challenge: end the exchange
        answered = True
        return xoauth2_response(username, token).encode()

    conn.authenticate("XOAUTH2", answer)


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.shutdown()
    except OSError:
        pass  # already gone


def _text(exc: BaseException) -> str:
    """imaplib's errors carry the server's answer as bytes: show it as text."""
    parts = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in exc.args]
    return " ".join(parts) or type(exc).__name__


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
