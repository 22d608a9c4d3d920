"""The outbox: one row per notification, sent by a task, never twice.

:func:`mail_enqueue` adds a row (idempotent on its key) and enqueues the send after commit;
:func:`mail_send` sends it over SMTP with a Message-ID derived from the row, so a retry
carries the same id. Also the helpers every mail shares: sender, language, templates,
threading headers and the rate limit on automatic answers.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.mime.image import MIMEImage
from email.utils import formataddr
from typing import Any

import dkim
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from contracts.models import Contact
from supportdesk.models import Tenant
from tickets.models import Message, Ticket

from ..inbound.base import (
    LOOP_HEADER,
    REPLY_MARKER,
    clean_subject,
)
from ..models import (
    AUTO_REPLIED_KINDS,
    AutoReplyLog,
    Mailbox,
    OutboundAttachment,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from .mailbox_auth import SmtpTargetRefused, mailbox_smtp_connection

logger = logging.getLogger(__name__)

MAX_AUTO_REPLIES_PER_HOUR = 20
"""Automatic answers to one address in an hour, whatever the subjects: more distinct mails
than this from one address in an hour is a robot we did not recognise, not a person. Repeats
(same address and subject) are limited by the tenant's ``auto_reply_repeat_limit``."""


class MailDeliveryError(Exception):
    """Sending failed in a way worth retrying (server down, temporary refusal)."""


# --- Languages, senders, formatting ---------------------------------------------------------


def contact_language(contact: Contact) -> str:
    """The language to write to a contact in: theirs, their organisation's, the tenant's."""
    organisation = contact.organisation if contact.organisation_id else None
    user_language = contact.user.language if contact.user_id and contact.user else ""
    return (
        contact.language
        or user_language
        or (organisation.language if organisation is not None else "")
        or contact.tenant.default_language
        or settings.LANGUAGE_CODE
    )


def tenant_sender(tenant: Tenant) -> tuple[str, str]:
    """``(address, display name)`` our mail for ``tenant`` comes from. Caller holds the scope."""
    mailbox = Mailbox.objects.filter(is_active=True).order_by("pk").first()
    if mailbox is not None:
        return mailbox.email_address, mailbox.from_name or tenant.name
    return tenant.support_email or settings.DEFAULT_FROM_EMAIL, tenant.name


def own_addresses() -> set[str]:
    """Every address this installation sends from, of every tenant: mail from any of them is
    ours coming back, and answering it would start a loop between two tenants."""
    with scopes_disabled():  # deliberately across tenants; only addresses are read
        mailboxes = set(Mailbox.objects.values_list("email_address", flat=True))
    supports = set(Tenant.objects.exclude(support_email="").values_list("support_email", flat=True))
    return {a.lower() for a in mailboxes | supports | {settings.DEFAULT_FROM_EMAIL} if a}


def address_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower() or "supportdesk.invalid"


def render_mail(
    name: str, context: dict[str, Any], language: str, tenant: Tenant
) -> tuple[str, str]:
    """Subject and body of ``templates/mail/<name>``, in ``language`` and the tenant's zone."""
    with translation.override(language), timezone.override(tenant.time_zone):
        full = {"tenant": tenant, "reply_marker": REPLY_MARKER, **context}
        subject = render_to_string(f"mail/{name}_subject.txt", full)
        body = render_to_string(f"mail/{name}.txt", full)
    return " ".join(subject.split())[:500], body.strip() + "\n"


def render_mail_html(name: str, context: dict[str, Any], language: str, tenant: Tenant) -> str:
    """The HTML alternative of ``templates/mail/<name>``: ``mail/<name>.html`` rendered with
    ``context["html"]`` (a message's stored, sanitized HTML), or "" when the mail has no such
    template or no HTML to show (the mail then goes as text only)."""
    if not context.get("html"):
        return ""
    try:
        template = get_template(f"mail/{name}.html")
    except TemplateDoesNotExist:
        return ""
    with translation.override(language), timezone.override(tenant.time_zone):
        full = {"tenant": tenant, "reply_marker": REPLY_MARKER, **context}
        return template.render(full).strip() + "\n"


def tenant_url(tenant: Tenant, path: str) -> str:
    return tenant.base_url() + path


# --- Outbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailAttachment:
    """A file to send with a mail: its name as the reader sees it, its bytes, its type."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str = ""  # an image the HTML part shows as <img src="cid:...">
    title: str = ""  # what the image shows, for its alt text; not sent


def mail_enqueue(
    *,
    tenant: Tenant,
    key: str,
    kind: str,
    to: str,
    subject: str,
    body: str,
    ticket: Ticket | None = None,
    in_reply_to: str = "",
    references: Iterable[str] = (),
    html_body: str = "",
    attachments: Sequence[MailAttachment] = (),
) -> OutboundEmail:
    """Put one mail in the outbox and send it after the transaction commits.

    ``key`` names the notification ("event:42:to:7"); enqueueing the same key again returns
    the existing row and sends nothing new. ``html_body``, when given, goes as the HTML
    alternative of the text ``body``; ``attachments`` are stored with the mail, in the same
    transaction, and sent with it. Caller holds the tenant scope.
    """
    # Not at the top: the tasks module imports this one (each task calls its service).
    from .. import tasks

    existing = OutboundEmail.objects.filter(key=key).first()
    if existing is not None:
        return existing
    from_address, from_name = tenant_sender(tenant)
    outbound = OutboundEmail(
        tenant=tenant,
        key=key[:200],
        message_id=OutboundEmail.message_id_for(
            tenant_id=tenant.pk, key=key, domain=address_domain(from_address)
        ),
        kind=kind,
        to_address=to,
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        body=body,
        html_body=html_body,
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=" ".join(references),
        auto_submitted=(
            "auto-replied"
            if kind in AUTO_REPLIED_KINDS
            else ("" if kind == OutboundKind.REPLY else "auto-generated")
        ),
    )
    try:
        with transaction.atomic():
            outbound.save()
            OutboundAttachment.objects.bulk_create(
                OutboundAttachment(
                    tenant=tenant,
                    outbound=outbound,
                    filename=file.filename,
                    content_type=file.content_type,
                    content=file.content,
                    content_id=file.content_id,
                )
                for file in attachments
            )
    except IntegrityError:
        # Enqueued meanwhile by a concurrent handler run: the first one wins.
        return OutboundEmail.objects.get(key=key[:200])
    tenant_id, outbound_id = tenant.pk, outbound.pk
    transaction.on_commit(lambda: tasks.outbound_send.delay(tenant_id, outbound_id))
    return outbound


DKIM_HEADERS = [
    b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
    b"reply-to", b"auto-submitted", b"mime-version", b"content-type",
]  # fmt: skip


class _SignedEmailMessage(EmailMultiAlternatives):
    """A mail signed with the sending mailbox's DKIM key, over the exact bytes the SMTP
    backend sends (``message().as_bytes(linesep="\\r\\n")``)."""

    def __init__(self, *args: Any, signer: Mailbox, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signer = signer

    def message(self) -> Any:
        msg = super().message()
        signature = dkim.sign(
            msg.as_bytes(linesep="\r\n"),
            self.signer.dkim_selector.encode(),
            address_domain(self.signer.email_address).encode(),
            self.signer.dkim_private_key.encode(),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=DKIM_HEADERS,
        )
        _name, _colon, value = signature.decode().partition(":")
        msg["DKIM-Signature"] = " ".join(value.split())
        return msg


def _sending_mailbox(outbound: OutboundEmail) -> Mailbox | None:
    """The tenant's mailbox this mail is sent from, when it has its own server or DKIM key."""
    return (
        Mailbox.objects.filter(email_address__iexact=outbound.from_address, is_active=True)
        .exclude(smtp_host="", dkim_private_key="")
        .order_by("pk")
        .first()
    )


def _connection_for(mailbox: Mailbox | None) -> Any:
    """The tenant's own SMTP server when its mailbox names one, else the shared EMAIL_URL."""
    if mailbox is None or not mailbox.smtp_host:
        return get_connection(fail_silently=False)
    return mailbox_smtp_connection(mailbox=mailbox)  # password or OAuth 2.0 (XOAUTH2)


def _email_message(outbound: OutboundEmail, signer: Mailbox | None = None) -> EmailMessage:
    headers = {
        "Message-ID": f"<{outbound.message_id}>",
        LOOP_HEADER: str(outbound.tenant_id),
    }
    if outbound.in_reply_to:
        headers["In-Reply-To"] = f"<{outbound.in_reply_to}>"
    if outbound.references:
        headers["References"] = " ".join(f"<{r}>" for r in outbound.references.split())
    if outbound.auto_submitted:
        headers["Auto-Submitted"] = outbound.auto_submitted
        # Ask Exchange and friends not to answer our automatic mail with theirs.
        headers["X-Auto-Response-Suppress"] = "All"
        automatic = outbound.auto_submitted == "auto-generated"
        headers["Precedence"] = "bulk" if automatic else "auto_reply"
    sender = formataddr((outbound.from_name, outbound.from_address))
    fields: dict[str, Any] = {
        "subject": outbound.subject,
        "body": outbound.body,
        "from_email": sender,
        "to": [outbound.to_address],
        "reply_to": [outbound.from_address],
        "headers": headers,
    }
    mail: EmailMultiAlternatives
    if signer is not None and signer.signs_mail:
        mail = _SignedEmailMessage(signer=signer, **fields)
    else:
        mail = EmailMultiAlternatives(**fields)
    if outbound.html_body:
        # multipart/alternative: the text part first, the HTML part preferred by clients.
        mail.attach_alternative(outbound.html_body, "text/html")
    files = OutboundAttachment.objects.filter(tenant_id=outbound.tenant_id, outbound=outbound)
    for file in files.order_by("pk"):
        if file.content_id:
            # An image of the HTML part: shown in the text, not offered as a download.
            subtype = file.content_type.partition("/")[2] or "png"
            part = MIMEImage(bytes(file.content), _subtype=subtype)
            part["Content-ID"] = f"<{file.content_id}>"
            part.add_header("Content-Disposition", "inline", filename=file.filename)
            mail.attach(part)
        else:
            mail.attach(file.filename, bytes(file.content), file.content_type)
    return mail


SEND_TIME_LIMIT = 45
"""Seconds one send task may run (its Celery hard time limit): claim, SMTP, the ``sent``
write with its retries. A claim older than this plus a margin belongs to a dead worker."""

CLAIM_GRACE = timedelta(seconds=SEND_TIME_LIMIT + 10)
"""How long a row stays ``sending`` before the sweep may send it again. Longer than any live
send can take (the time limit stops it first), so a send that is merely slow is never
duplicated; a worker killed mid-send is recovered this long after its claim."""

RETRY_EARLY = timedelta(seconds=5)
"""How much before its ``retry_at`` a retry's task may claim the row (clocks and ETAs)."""

RECORD_TRIES = 5
RECORD_BACKOFF = 0.5
"""The result of an attempt is written up to 5 times, 0.5, 1, 2, 4 s apart (7.5 s in all),
on a new connection each time: the mail is out, and forgetting that would send it twice."""


def _record(outbound_id: int, attempt_id: str, **fields: Any) -> bool:
    """Write the outcome of attempt ``attempt_id`` in a short transaction of its own, retried
    with back-off on a lost connection; whether the row was still that attempt's.

    Outside any transaction only: a retry needs a new connection, and a broken connection
    inside an outer ``atomic`` cannot be replaced.
    """
    for attempt in range(RECORD_TRIES):
        try:
            with transaction.atomic():
                return bool(
                    OutboundEmail.objects.filter(pk=outbound_id, attempt_id=attempt_id)
                    .exclude(status=OutboundStatus.SENT)
                    .update(**fields)
                )
        except (OperationalError, InterfaceError) as exc:
            if db_connection.in_atomic_block or attempt == RECORD_TRIES - 1:
                raise
            logger.warning(
                "recording mail %s (%s) failed, trying again: %r",
                outbound_id,
                fields.get("status", "?"),
                exc,
            )
            db_connection.close()  # the next query opens a new connection
            time.sleep(RECORD_BACKOFF * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def mail_claim(*, outbound_id: int) -> tuple[OutboundEmail, str] | None:
    """Claim a queued mail for one send attempt, in a transaction of its own that commits
    before any SMTP is spoken: ``(row, attempt id)``, or None when it is not this task's to
    send (sent, failed, gone, or being sent by a live attempt).

    A row left ``sending`` longer than :data:`CLAIM_GRACE` was claimed by a worker that died;
    it is claimed again, and sent again with the same Message-ID. A queued row waiting for a
    retry (``retry_at``) is not claimed before it is due. Caller holds the scope.
    """
    now = timezone.now()
    attempt_id = uuid.uuid4().hex
    # One conditional UPDATE: atomic on PostgreSQL and SQLite alike, so of two tasks handed
    # the same row exactly one claims it.
    due = Q(retry_at__isnull=True) | Q(retry_at__lte=now + RETRY_EARLY)
    abandoned = Q(status=OutboundStatus.SENDING, claimed_at__lt=now - CLAIM_GRACE)
    with transaction.atomic():
        before = OutboundEmail.objects.filter(pk=outbound_id).values("status", "attempt_id").first()
        claimed = (
            OutboundEmail.objects.filter((Q(status=OutboundStatus.QUEUED) & due) | abandoned)
            .filter(pk=outbound_id)
            .update(
                status=OutboundStatus.SENDING,
                attempt_id=attempt_id,
                claimed_at=now,
                attempts=F("attempts") + 1,
            )
        )
    if not claimed:
        return None
    if before is not None and before["status"] == OutboundStatus.SENDING:
        logger.warning(
            "mail %s was left sending by attempt %s; sending it again as %s",
            outbound_id,
            before["attempt_id"],
            attempt_id,
        )
    return OutboundEmail.objects.get(pk=outbound_id), attempt_id


def mail_send(*, outbound_id: int) -> OutboundEmail | None:
    """Send one queued mail over SMTP; a sent one is not sent again.

    Three steps, none holding a transaction open across the network: claim the row
    (:func:`mail_claim`, committed), talk SMTP, record the outcome in a fresh transaction that
    survives a lost connection (:func:`_record`). So a database failure after the server
    accepted the mail no longer sends it twice. What remains is a worker killed between the
    server's "250" and the ``sent`` write: the row stays ``sending`` and the sweep sends it
    again after :data:`CLAIM_GRACE`, with the same Message-ID (docs/operations.md measures it).

    A temporary failure raises :class:`MailDeliveryError` for the task to retry (the row is
    queued again, ``retry_at`` tells the sweep when it is due); a permanent refusal marks it
    failed. Must not run inside a transaction. Caller holds the tenant scope.
    """
    claimed = mail_claim(outbound_id=outbound_id)
    if claimed is None:
        return OutboundEmail.objects.filter(pk=outbound_id).first()
    outbound, attempt_id = claimed
    mailbox = _sending_mailbox(outbound)
    try:
        with _connection_for(mailbox) as connection:
            connection.send_messages([_email_message(outbound, mailbox)])
    except SmtpTargetRefused as exc:  # the server is not allowed: retrying cannot help
        _record(
            outbound_id,
            attempt_id,
            status=OutboundStatus.FAILED,
            last_error=f"SMTP server refused: {exc}"[:2000],
        )
    except smtplib.SMTPRecipientsRefused as exc:
        _record(
            outbound_id,
            attempt_id,
            status=OutboundStatus.FAILED,
            last_error=f"recipient refused: {exc.recipients}"[:2000],
        )
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        _record(outbound_id, attempt_id, status=OutboundStatus.QUEUED, last_error=error)
        raise MailDeliveryError(error) from exc
    else:
        _record(
            outbound_id,
            attempt_id,
            status=OutboundStatus.SENT,
            sent_at=timezone.now(),
            last_error="",
        )
    return OutboundEmail.objects.filter(pk=outbound_id).first()


def mail_retry_at(*, outbound_id: int, when: datetime) -> None:
    """Tell the sweep not to hand a queued mail out before ``when`` (its task retries then)."""
    OutboundEmail.objects.filter(pk=outbound_id, status=OutboundStatus.QUEUED).update(retry_at=when)


def mail_give_up(*, outbound_id: int, reason: str) -> None:
    """Mark a mail failed after the last retry, so it shows up instead of hiding in a queue."""
    OutboundEmail.objects.filter(pk=outbound_id, status=OutboundStatus.QUEUED).update(
        status=OutboundStatus.FAILED, last_error=reason[:2000]
    )


def thread_ids(ticket: Ticket, to: str) -> tuple[str, list[str]]:
    """``(In-Reply-To, References)`` that make a mail about ``ticket`` to ``to`` join the
    thread that person already has: the customer's first mail and what we sent them."""
    first_customer_mail = list(
        Message.objects.filter(ticket=ticket)
        .exclude(email_message_id="")
        .order_by("created_at", "id")
        .values_list("email_message_id", flat=True)[:1]
    )
    ours = list(
        OutboundEmail.objects.filter(ticket=ticket, to_address__iexact=to)
        .order_by("-created_at", "-id")
        .values_list("message_id", flat=True)[:8]
    )
    references = first_customer_mail + list(reversed(ours))
    return (references[-1] if references else ""), references


def auto_answer_withheld(*, tenant: Tenant, address: str, subject: str) -> str:
    """Why no automatic answer about ``subject`` may go to ``address`` now ("" when one may),
    in the tenant's language, for the ticket's log. Distinct mails are all answered; only
    repeats and robot-like volumes are not."""
    address = address.lower()
    repeats = AutoReplyLog.recent_count(address=address, subject=_subject_key(subject))
    with translation.override(tenant.default_language):
        if repeats >= tenant.auto_reply_repeat_limit:
            return _(
                "No confirmation was sent to %(address)s: %(count)d already went to this "
                "address about the same subject within the hour."
            ) % {"address": address, "count": repeats}
        if AutoReplyLog.recent_count(address=address) >= MAX_AUTO_REPLIES_PER_HOUR:
            return _(
                "No confirmation was sent to %(address)s: it had %(count)d automatic answers "
                "within the hour, which only a robot sends mail for."
            ) % {"address": address, "count": MAX_AUTO_REPLIES_PER_HOUR}
    return ""


def _subject_key(subject: str) -> str:
    return " ".join(clean_subject(subject).lower().split())[:500]


def auto_answer(
    *,
    tenant: Tenant,
    key: str,
    kind: str,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    ticket: Ticket | None = None,
    in_reply_to: str = "",
    subject: str = "",
) -> OutboundEmail | None:
    """An automatic answer to a human's mail about ``subject``, unless
    :func:`auto_answer_withheld` says no."""
    address = to.lower()
    if OutboundEmail.objects.filter(key=key).exists():
        return None
    reason = auto_answer_withheld(tenant=tenant, address=address, subject=subject)
    if reason:
        logger.info("not answering %s automatically: %s", address, reason)
        return None
    mail_subject, body = render_mail(template, context, language, tenant)
    references: list[str] = [in_reply_to] if in_reply_to else []
    outbound = mail_enqueue(
        tenant=tenant,
        key=key,
        kind=kind,
        to=address,
        subject=mail_subject,
        body=body,
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=references,
    )
    AutoReplyLog.objects.create(
        tenant=tenant, address=address, subject=_subject_key(subject), outbound=outbound
    )
    return outbound


def outbound_pending(*, now: datetime, queued_grace: timedelta) -> list[int]:
    """Mail the sweep hands out again; caller holds the scope.

    Queued mail whose task was lost (a broker restart, a crash before the enqueue) once it
    has waited ``queued_grace`` past its creation or its ``retry_at``, and mail left
    ``sending`` by a dead worker (claimed more than :data:`CLAIM_GRACE` ago). A send that is
    merely slow is younger than that and is left alone.
    """
    due = now - queued_grace
    queued = Q(status=OutboundStatus.QUEUED) & (
        Q(retry_at__isnull=True, created_at__lt=due) | Q(retry_at__lt=due)
    )
    abandoned = Q(status=OutboundStatus.SENDING, claimed_at__lt=now - CLAIM_GRACE)
    return list(
        OutboundEmail.objects.filter(queued | abandoned)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:500]
    )


def outbound_requeued(*, outbound_ids: list[int], at: datetime) -> None:
    """The sweep handed these queued mails out again ``at``: their task is due from then, so
    a backlog gets one more task per grace period, not one per sweep."""
    OutboundEmail.objects.filter(pk__in=outbound_ids, status=OutboundStatus.QUEUED).update(
        retry_at=at
    )
