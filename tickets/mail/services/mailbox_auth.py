"""How a mailbox logs in: a password, or OAuth 2.0 access tokens (Microsoft 365, Google).

With OAuth 2.0 the tenant admin enters the token endpoint, the app registration's client id
and secret, a scope and a refresh token; :func:`mailbox_access_token` keeps an access token
(encrypted, with its expiry) and gets a new one with the refresh-token grant (RFC 6749 §6)
shortly before it expires, or when the server refused the one we had. IMAP and SMTP then log
in with SASL XOAUTH2. The token request is made by authlib's ``OAuth2Session``, which builds
the grant and parses the endpoint's answer, errors (``invalid_grant`` ...) included.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..inbound.imap import MailSourceError, address_is_internal, xoauth2_response
from ..models import Mailbox, SmtpSecurity

logger = logging.getLogger(__name__)

TOKEN_LEEWAY = timedelta(minutes=2)
"""An access token this close to its expiry is replaced first: a poll takes seconds, and
the clocks of the mail server and ours need not agree."""
TOKEN_TIMEOUT_SECONDS = 20
DEFAULT_LIFETIME = timedelta(hours=1)
"""When the endpoint does not say (``expires_in`` is optional); Microsoft and Google issue
tokens for about an hour."""

TokenSource = Callable[[bool], str]
"""``token(refresh)``: the access token to log in with; a fresh one when ``refresh``."""


class MailAuthError(MailSourceError):
    """The mailbox's OAuth settings or tokens do not work; says what to fix, no secrets."""


def token_url_problem(url: str) -> str:
    """Why we may not ask ``url`` for tokens ("" when we may): HTTPS only, and, like the
    IMAP server, only on the public internet unless ``MAIL_ALLOW_INTERNAL_SERVERS``."""
    allow_internal = settings.MAIL_ALLOW_INTERNAL_SERVERS
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_internal and parts.scheme == "http"):
        return _("The token endpoint must be an https:// address.")
    if not parts.hostname:
        return _("The token endpoint must be an https:// address.")
    if allow_internal:
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return _("The token endpoint's server name does not resolve.")
    if any(address_is_internal(str(info[4][0])) for info in infos):
        return _(
            "This server is on a loopback, private or link-local network; only servers "
            "on the public internet are allowed."
        )
    return ""


def oauth_settings_problem(mailbox: Mailbox) -> str:
    """What an OAuth 2.0 mailbox still lacks ("" when it is complete)."""
    if not (mailbox.oauth_token_url and mailbox.oauth_client_id and mailbox.oauth_refresh_token):
        return _(
            "OAuth 2.0 is not set up completely: enter the token endpoint, the client id and "
            "a refresh token."
        )
    return ""


def mailbox_access_token(*, mailbox: Mailbox, refresh: bool = False) -> str:
    """An access token for the mailbox, from the refresh-token grant when the stored one is
    missing, about to expire, or ``refresh`` (the server refused it).

    The mailbox row is locked while asking, so two workers refresh once and a rotated
    refresh token is not lost. Raises :class:`MailAuthError`. Caller holds the scope.
    """
    if not refresh and _still_valid(mailbox):
        return mailbox.oauth_access_token
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if locked.oauth_access_token != mailbox.oauth_access_token and _still_valid(locked):
            token = locked.oauth_access_token  # another worker refreshed it meanwhile
        else:
            token = _token_refresh(locked)
        for name in ("oauth_access_token", "oauth_access_token_expires_at"):
            setattr(mailbox, name, getattr(locked, name))
        mailbox.oauth_refresh_token = locked.oauth_refresh_token
    return token


def _still_valid(mailbox: Mailbox) -> bool:
    expires = mailbox.oauth_access_token_expires_at
    return bool(mailbox.oauth_access_token and expires and expires - TOKEN_LEEWAY > timezone.now())


def _token_refresh(mailbox: Mailbox) -> str:
    """Ask the token endpoint for a new access token and store it on the (locked) row."""
    problem = oauth_settings_problem(mailbox) or token_url_problem(mailbox.oauth_token_url)
    if problem:
        raise MailAuthError(problem)
    session = OAuth2Session(
        client_id=mailbox.oauth_client_id,
        client_secret=mailbox.oauth_client_secret or None,
        scope=mailbox.oauth_scope or None,
        # Microsoft's and Google's documented way: client id and secret in the form body.
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method's name
    )
    try:
        token = session.refresh_token(
            mailbox.oauth_token_url,
            refresh_token=mailbox.oauth_refresh_token,
            timeout=TOKEN_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except OAuthError as exc:
        raise MailAuthError(_refusal_message(exc)) from exc
    except (requests.RequestException, ValueError) as exc:
        logger.info("token request for mailbox %s failed: %s", mailbox.pk, exc)
        raise MailAuthError(
            _("Could not get an access token from the token endpoint %(url)s (%(error)s).")
            % {"url": mailbox.oauth_token_url, "error": _short_http_error(exc)}
        ) from exc
    finally:
        session.close()
    access = str(token.get("access_token") or "")
    if not access:
        raise MailAuthError(_("The token endpoint answered without an access token."))
    expires_at = token.get("expires_at")
    expiry = (
        datetime.fromtimestamp(int(expires_at), tz=UTC)
        if expires_at
        else timezone.now() + DEFAULT_LIFETIME
    )
    mailbox.oauth_access_token = access
    mailbox.oauth_access_token_expires_at = expiry
    fields = ["oauth_access_token", "oauth_access_token_expires_at"]
    new_refresh = str(token.get("refresh_token") or "")
    if new_refresh and new_refresh != mailbox.oauth_refresh_token:
        mailbox.oauth_refresh_token = new_refresh  # Microsoft rotates them
        fields.append("oauth_refresh_token")
    mailbox.save(update_fields=fields)
    return access


def _refusal_message(exc: OAuthError) -> str:
    code = str(exc.error or "")
    detail = " ".join(str(exc.description or "").split())[:300]
    if code == "invalid_grant":
        message = _(
            "The token endpoint refused the refresh token: it was revoked or has expired. "
            "Sign in to the mailbox again and enter a new refresh token."
        )
    elif code in ("invalid_client", "unauthorized_client"):
        message = _("The token endpoint refused the client id or the client secret.")
    elif code == "invalid_scope":
        message = _("The token endpoint refused the scope.")
    else:
        message = _("The token endpoint refused to give an access token.")
    return f"{message} ({code}{': ' + detail if detail else ''})"


def _short_http_error(exc: Exception) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def imap_token_source(mailbox: Mailbox) -> TokenSource | None:
    """What IMAP logs in with for an OAuth 2.0 mailbox; None for a password one."""
    if not mailbox.uses_oauth:
        return None
    return lambda refresh: mailbox_access_token(mailbox=mailbox, refresh=refresh)


class SMTPTokenError(smtplib.SMTPException):
    """No access token to log in to SMTP with; the outbox retries like any SMTP failure."""


def smtp_xoauth2_login(connection: smtplib.SMTP, username: str, token: TokenSource) -> None:
    """``AUTH XOAUTH2`` on an open connection; a refused token is replaced once."""
    connection.ehlo_or_helo_if_needed()
    try:
        try:
            _smtp_auth(connection, username, token(False))
        except smtplib.SMTPAuthenticationError:
            # Revoked or expired early: one fresh token, then the server's answer stands.
            _smtp_auth(connection, username, token(True))
    except MailAuthError as exc:
        raise SMTPTokenError(str(exc)) from exc


def _smtp_auth(connection: smtplib.SMTP, username: str, token: str) -> None:
    answered = False

    def answer(challenge: bytes | None = None) -> str:
        nonlocal answered
        if answered:
            return ""  # the server's error details came as a challenge: end the exchange
        answered = True
        return xoauth2_response(username, token)

    connection.auth("XOAUTH2", answer, initial_response_ok=True)


class XOAuth2EmailBackend(EmailBackend):
    """Django's SMTP backend, logging in with ``AUTH XOAUTH2`` instead of a password."""

    def __init__(self, *, oauth_username: str, oauth_token: TokenSource, **kwargs: Any) -> None:
        super().__init__(username="", password="", **kwargs)
        self.oauth_username = oauth_username
        self.oauth_token = oauth_token

    def open(self) -> bool | None:
        opened = super().open()
        if opened and self.connection is not None:
            try:
                smtp_xoauth2_login(self.connection, self.oauth_username, self.oauth_token)
            except BaseException:
                self.close()
                raise
        return opened


# Submission (587), SMTPS (465), plain SMTP (25) and the common alternative 2525: a mailbox's
# own server may not be pointed at another service's port (Redis on 6379, a database).
SMTP_PORTS = (25, 465, 587, 2525)


class SmtpTargetRefused(smtplib.SMTPException):
    """The mailbox's own SMTP server is one we may not connect to (``field`` says why)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def smtp_target_refusal(host: str, port: int) -> SmtpTargetRefused | None:
    """Why the server may not be used, or None: the rule of :func:`imap_addresses` for SMTP.

    Every address the name resolves to must be public, on a standard SMTP port, unless
    ``MAIL_ALLOW_INTERNAL_SERVERS``. A name that does not resolve now is not refused here;
    the send (or the test button) says it cannot connect.
    """
    if settings.MAIL_ALLOW_INTERNAL_SERVERS:
        return None
    if port not in SMTP_PORTS:
        return SmtpTargetRefused(
            _("Only the standard SMTP ports (%(ports)s) are allowed.")
            % {"ports": ", ".join(map(str, SMTP_PORTS))},
            field="smtp_port",
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError, OverflowError):
        return None
    if any(address_is_internal(str(info[4][0])) for info in infos):
        return SmtpTargetRefused(
            _(
                "This server is on a loopback, private or link-local network; only servers "
                "on the public internet are allowed."
            ),
            field="smtp_host",
        )
    return None


def mailbox_smtp_connection(*, mailbox: Mailbox) -> Any:
    """A connection to the mailbox's own SMTP server, logged in as the mailbox says.

    A password mailbox without an SMTP user name logs in to nobody: Django would otherwise
    fall back to ``EMAIL_HOST_USER``/``EMAIL_HOST_PASSWORD``, the shared server's login,
    and hand it to the tenant's server. Raises :class:`SmtpTargetRefused`, without
    connecting, for a server on an internal network or a non-standard port.
    """
    refusal = smtp_target_refusal(mailbox.smtp_host, mailbox.smtp_port)
    if refusal is not None:
        raise refusal
    common: dict[str, Any] = {
        "fail_silently": False,
        "host": mailbox.smtp_host,
        "port": mailbox.smtp_port,
        "use_tls": mailbox.smtp_security == SmtpSecurity.STARTTLS,
        "use_ssl": mailbox.smtp_security == SmtpSecurity.SSL,
        "timeout": 30,
    }
    if mailbox.uses_oauth:
        return get_connection(
            f"{__name__}.XOAuth2EmailBackend",
            oauth_username=mailbox.smtp_username or mailbox.imap_username,
            oauth_token=lambda refresh: mailbox_access_token(mailbox=mailbox, refresh=refresh),
            **common,
        )
    username = mailbox.smtp_username
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        username=username,
        password=mailbox.smtp_password if username else "",
        **common,
    )


def mailbox_smtp_check(*, mailbox: Mailbox) -> str:
    """Connect and log in to the mailbox's own SMTP server; what went wrong, or ""."""
    host, port = mailbox.smtp_host, mailbox.smtp_port
    failed = _(
        "Could not connect to an SMTP server at %(host)s:%(port)s; check the server name, "
        "the port and the security setting."
    ) % {"host": host, "port": port}
    refusal = smtp_target_refusal(host, port)
    if refusal is not None:
        return str(refusal)
    connection = mailbox_smtp_connection(mailbox=mailbox)
    try:
        connection.open()
        # A server that wants a login refuses the sender, not the connection: ask it.
        code, answer = connection.connection.mail(mailbox.email_address)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, mailbox.email_address)
        connection.connection.rset()
    except SMTPTokenError as exc:
        return str(exc)
    except smtplib.SMTPAuthenticationError as exc:
        return _("The SMTP server refused the login: %(answer)s") % {
            "answer": f"{exc.smtp_code} {_decoded(exc.smtp_error)}"
        }
    except smtplib.SMTPNotSupportedError as exc:
        return _("The SMTP server does not offer what the settings need: %(answer)s") % {
            "answer": str(exc)[:300]
        }
    except smtplib.SMTPResponseException as exc:
        return _("The SMTP server answered: %(answer)s") % {
            "answer": f"{exc.smtp_code} {_decoded(exc.smtp_error)}"
        }
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        logger.info("SMTP check of %s:%s failed: %s", host, port, exc)
        return failed
    finally:
        connection.close()
    return ""


def _decoded(error: bytes | str) -> str:
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return " ".join(text.split())[:300]
