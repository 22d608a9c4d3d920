"""Real mail servers for the e-mail tests: Dovecot (IMAP), an aiosmtpd capture server, and
a small OAuth 2.0 authorization server.

Dovecot runs from Debian's binary as an unprivileged process with a generated minimal
configuration in a temporary directory, listening on a free loopback port. When the tests
run as root, Dovecot is started as ``nobody`` (it would otherwise keep root for its master).
Besides passwords it accepts SASL XOAUTH2 through an ``oauth2`` passdb that asks the
:class:`OAuthServer`'s introspection endpoint (RFC 7662) about each token; the same server
is the token endpoint of the refresh-token grant (RFC 6749 §6), and the SMTP capture server
checks ``AUTH XOAUTH2`` tokens against it too.
"""

from __future__ import annotations

import asyncio
import base64
import imaplib
import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.request import urlopen

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DOVECOT = "/usr/sbin/dovecot"
IMAP_USER = "support"
IMAP_PASSWORD = "imap-test-password"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
login_trusted_networks = 127.0.0.0/8
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
  default_fields = uid={uid} gid={gid} home={root}/home/%u
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


# Dovecot 2.3's oauth2 passdb: POST the token to the introspection endpoint, which must say
# the token is active and whose it is.
_OAUTH2_CONFIG = """\
introspection_mode = post
introspection_url = {introspection_url}
username_attribute = username
active_attribute = active
active_value = true
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    root: Path
    process: subprocess.Popen[bytes]

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.username, self.password)
        conn.select("INBOX")
        return conn

    def deliver(self, raw: bytes) -> None:
        """Put a message into the INBOX, as the mail server's delivery agent would."""
        conn = self.connect()
        try:
            status, data = conn.append("INBOX", "", None, raw)  # type: ignore[arg-type]
            assert status == "OK", data
        finally:
            conn.logout()

    def unseen(self) -> int:
        conn = self.connect()
        try:
            _status, data = conn.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
            return len(data[0].split()) if data and data[0] else 0
        finally:
            conn.logout()

    def empty(self) -> None:
        conn = self.connect()
        try:
            conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()
        except imaplib.IMAP4.error:
            pass  # an empty folder has no 1:*
        finally:
            conn.logout()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot(oauth: OAuthServer | None = None) -> ImapServer:
    """Start Dovecot on a free loopback port; the caller stops it. With ``oauth`` it accepts
    XOAUTH2 logins with the access tokens that server issued and still holds active."""
    root = Path(tempfile.mkdtemp(prefix="supportdesk-dovecot-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("nobody")
        uid, gid = account.pw_uid, account.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    user = pwd.getpwuid(uid).pw_name
    group = _group_name(gid)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    (root / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n")
    introspection_url = oauth.introspection_url if oauth else "http://127.0.0.1:9/none"
    (root / "dovecot-oauth2.conf.ext").write_text(
        _OAUTH2_CONFIG.format(introspection_url=introspection_url)
    )
    port = free_port()
    (root / "dovecot.conf").write_text(
        _CONFIG.format(root=root, user=user, group=group, uid=uid, gid=gid, port=port)
    )
    if os.geteuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    process = subprocess.Popen(  # noqa: S603 - fixed binary, generated config
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        user=uid if os.geteuid() == 0 else None,
        group=gid if os.geteuid() == 0 else None,
        extra_groups=[] if os.geteuid() == 0 else None,
    )
    server = ImapServer("127.0.0.1", port, IMAP_USER, IMAP_PASSWORD, root, process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"Dovecot exited: {output}\n{log}")
        try:
            server.connect().logout()
            return server
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("Dovecot did not accept IMAP logins within 15 s")


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


@dataclass
class CapturedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.raw)


@dataclass
class SmtpCapture:
    """An SMTP server on loopback that keeps every message it is given."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[CapturedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Recipients answered with a permanent 550, like a mailbox that does not exist."""
    login: tuple[str, str] | None = None
    """Require AUTH PLAIN/LOGIN with this user name and password."""
    oauth: OAuthServer | None = None
    """Require AUTH XOAUTH2 with a token this server's introspection endpoint calls active."""
    logins: list[str] = field(default_factory=list)
    """Every AUTH attempt: ``"MECHANISM user ok|refused"``."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        with self._lock:
            self.messages.append(
                CapturedMail(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=bytes(content),
                )
            )
        return "250 Message accepted for delivery"

    def _authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        ok = self.login is not None and (user, password) == self.login
        self.logins.append(f"{mechanism} {user} {'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802 - aiosmtpd's hook name
        if len(args) < 2:
            answer = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            raw = answer
        else:
            raw = base64.b64decode(args[1])
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        owner = None
        if self.oauth is not None:
            owner = await asyncio.to_thread(self.oauth.introspect, token)
        ok = owner is not None and owner == user
        self.logins.append(f"XOAUTH2 {user} {'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpCapture:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd chats at INFO
        self.port = free_port()
        auth: dict[str, Any] = {}
        if self.login is not None or self.oauth is not None:
            auth = {
                "auth_required": True,
                "auth_require_tls": False,  # loopback only
                "authenticator": self._authenticator,
            }
        if self.oauth is None:
            auth["auth_exclude_mechanism"] = ["XOAUTH2"]
        with warnings.catch_warnings():
            # AUTH without TLS: on loopback, which is what the warning is about.
            warnings.simplefilter("ignore", UserWarning)
            self._controller = Controller(self, hostname=self.host, port=self.port, **auth)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[CapturedMail]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]


@dataclass
class OAuthServer:
    """An OAuth 2.0 authorization server on loopback, as Microsoft's or Google's looks from
    a client: a token endpoint (``/token``, refresh-token grant, client id and secret in the
    body) and an introspection endpoint (``/introspect``) for the mail servers."""

    client_id: str = "supportdesk-test-client"
    client_secret: str = "oauth-client-secret-4711"
    username: str = IMAP_USER
    lifetime: int = 3600
    access_tokens: dict[str, str] = field(default_factory=dict)
    """Active access token -> whose it is."""
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """Valid refresh token -> whose it is."""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    introspections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _counter: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def introspection_url(self) -> str:
        return self.url + "/introspect"

    def issue(self) -> tuple[str, str]:
        """A fresh ``(access token, refresh token)`` pair, both valid."""
        with self._lock:
            self._counter += 1
            access, refresh = f"at-{self._counter}-valid", f"rt-{self._counter}-valid"
            self.access_tokens[access] = self.username
            self.refresh_tokens[refresh] = self.username
        return access, refresh

    def expire_all_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self.refresh_tokens.pop(refresh_token, None)

    def reset(self) -> None:
        with self._lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.token_requests.clear()
            self.introspections = 0

    def is_active(self, token: str) -> str | None:
        with self._lock:
            self.introspections += 1
            return self.access_tokens.get(token)

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests.append(form)
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return 401, {"error": "invalid_client", "error_description": "Unknown client."}
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if user is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "AADSTS70008: The refresh token has expired or "
                    "was revoked.",
                }
            self._counter += 1
            access = f"at-{self._counter}-refreshed"
            self.access_tokens[access] = user
            return 200, {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "scope": form.get("scope", ""),
            }

    def start(self) -> OAuthServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                if self.path == "/token":
                    status, answer = owner._token(form)
                elif self.path == "/introspect":
                    user = owner.is_active(form.get("token", ""))
                    status = 200
                    answer = {"active": True, "username": user} if user else {"active": False}
                else:
                    status, answer = 404, {"error": "not_found"}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def introspect(self, token: str) -> str | None:
        """Ask the introspection endpoint over HTTP, as a mail server does."""
        with urlopen(  # noqa: S310 - our own loopback server
            self.introspection_url, data=f"token={token}".encode(), timeout=10
        ) as response:
            answer = json.loads(response.read())
        return answer.get("username") if answer.get("active") else None


def text_of(mail: Any) -> str:
    """The text part of a sent mail: the whole body of a text-only mail, the ``text/plain``
    part of a ``multipart/alternative`` one (a reply with its HTML part)."""
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("the mail has no text part")


def html_of(mail: Any) -> str:
    """The ``text/html`` part of a sent mail ("" for a text-only mail)."""
    for part in mail.walk():
        if part.get_content_type() == "text/html":
            return str(part.get_payload(decode=True).decode())
    return ""
