"""Fetch new mail from an IMAP folder with the standard library's imaplib.

Messages are read with ``BODY.PEEK[]`` (which does not set ``\\Seen``) and only flagged
``\\Seen`` by :meth:`ImapSource.acknowledge`, after the caller has stored them. A crash in
between means the next poll fetches them again; storing is idempotent on Message-ID.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

IMAP_TIMEOUT_SECONDS = 30
FETCH_LIMIT = 200
"""At most this many messages per poll, so one huge backlog cannot hold a worker forever."""

_UID_RE = re.compile(rb"UID (\d+)")


class MailSourceError(Exception):
    """The mailbox could not be read; the message says why, without the password."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    use_ssl: bool
    username: str
    password: str
    folder: str = "INBOX"


class ImapSource:
    """One IMAP folder; use as a context manager so the connection is always closed."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapSource:
        s = self.settings
        try:
            if s.use_ssl:
                context = ssl.create_default_context()
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=context, timeout=IMAP_TIMEOUT_SECONDS
                )
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=IMAP_TIMEOUT_SECONDS)
            conn.login(s.username, s.password)
            status, _data = conn.select(_quote(s.folder))
            if status != "OK":
                conn.logout()
                raise MailSourceError(f"folder {s.folder!r} cannot be opened")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailSourceError(f"{s.host}:{s.port}: {exc}") from exc
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


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
