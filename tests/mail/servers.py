"""Real mail servers for the e-mail tests: Dovecot (IMAP) and an aiosmtpd capture server.

Dovecot runs from Debian's binary as an unprivileged process with a generated minimal
configuration in a temporary directory, listening on a free loopback port. When the tests
run as root, Dovecot is started as ``nobody`` (it would otherwise keep root for its master).
"""

from __future__ import annotations

import imaplib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

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
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
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


def start_dovecot() -> ImapServer:
    """Start Dovecot on a free loopback port; the caller stops it."""
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

    def start(self) -> SmtpCapture:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd chats at INFO
        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[CapturedMail]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]
