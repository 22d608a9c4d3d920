"""The steps every ticket write is made of, shared by the modules of this package and by the
ticket sub-apps that write tickets too (links, major incidents, problems, quotes).

The optimistic version check (:class:`VersionConflict`), input checks (choices, attachments),
the row lock (:func:`ticket_locked`) and the version bump (:func:`ticket_touch`), the
entitlement asked for a request, a status move and a staff event (returned for the caller
to publish in its transaction), and the billing acceptance's wait on the customer and resume
after their answer. None of them opens a transaction or publishes events: the service that
calls them does.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, RequestType
from contracts.services import Entitlement, entitlement_check
from supportdesk.models import Membership, User

from ..attachments import file_content_type
from ..choices import Category, Channel, Status
from ..events import event_record
from ..models import (
    ALLOWED_ATTACHMENT_EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_MESSAGE,
    Attachment,
    EventKind,
    Message,
    Ticket,
    TicketEvent,
)
from ..richtext import html_sanitize


class VersionConflict(Exception):  # noqa: N818
    """The ticket changed since the caller read it (optimistic ``version`` check)."""

    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(f"ticket is at version {current}")


def body_sanitize(body: str) -> str:
    """The HTML we store: the rich replies' allow-list (:mod:`tickets.richtext`)."""
    return html_sanitize(body)


def is_staff(user: User | None) -> bool:
    """Whether ``user`` works for the tenant in scope."""
    return user is not None and Membership.objects.filter(user=user).exists()


def validate_attachments(attachments: Sequence[UploadedFile]) -> None:
    """Refuse, with a ``ValidationError`` on ``attachments``, too many files for one message,
    a type not accepted or a file too large. Nothing is stored."""
    if len(attachments) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise ValidationError(
            {
                "attachments": _("At most %(n)d files per message.")
                % {"n": MAX_ATTACHMENTS_PER_MESSAGE}
            }
        )
    for upload in attachments:
        name = upload.name or ""
        ext = os.path.splitext(name)[1].lower()
        if ext not in ALLOWED_ATTACHMENT_EXTENSIONS:
            raise ValidationError(
                {
                    "attachments": _("%(name)s: files of type %(ext)s are not accepted.")
                    % {"name": name, "ext": ext or _("(none)")}
                }
            )
        if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
            raise ValidationError(
                {
                    "attachments": _("%(name)s is larger than %(mb)d MB.")
                    % {"name": name, "mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}
                }
            )


def store_attachments(
    ticket: Ticket, message: Message, attachments: Sequence[UploadedFile]
) -> list[Attachment]:
    """Store the uploads (checked by :func:`validate_attachments`) as the message's
    attachments; their content type is sniffed from the bytes."""
    stored = []
    for upload in attachments:
        name = os.path.basename(upload.name or "file")[:255]
        attachment = Attachment(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            message=message,
            filename=name,
            # What the bytes are, never what the sender claimed: the pages decide from it
            # whether to show a thumbnail (the preview sniffs again before serving inline).
            content_type=file_content_type(upload),
            size=upload.size or 0,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def ticket_locked(ticket: Ticket) -> Ticket:
    """A fresh copy of the ticket holding its row lock until the transaction ends."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "organisation", "assignee", "requester", "priority")
        .get(pk=ticket.pk)
    )


def ticket_touch(ticket: Ticket, now: dt.datetime) -> None:
    """Save the changed ticket with its version bumped (what ``expected_version`` checks)
    and ``updated_at`` set. Caller holds its row lock (:func:`ticket_locked`)."""
    ticket.version += 1
    ticket.updated_at = now
    ticket.save()


def entitlement_for(
    *,
    requester: Contact,
    channel: str,
    category: str,
    at: dt.datetime,
    request_type: RequestType | None = None,
) -> Entitlement:
    """:func:`contracts.services.entitlement_check` for a request of ``requester`` (by
    ``channel``, of ``category``) made at ``at``."""
    return entitlement_check(
        contact=requester, channel=channel, category=category, at=at, request_type=request_type
    )


def kind_name(category: str, request_type: RequestType | None) -> str:
    """What a request is, in words, for a conversion's event: its request type's name when it
    has one, else its category's label."""
    return request_type.name if request_type is not None else str(Category(category).label)


def validate_choice(field: str, value: str, choices: type[Any]) -> None:
    """Refuse ``value`` unless it is one of the ``choices`` (a ``TextChoices``), with a
    ``ValidationError`` on ``field`` listing them."""
    if value not in choices.values:
        raise ValidationError(
            {
                field: _("Unknown value %(value)r; choose one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(choices.values)}
            }
        )


def require_agent(actor: User | None) -> User:
    """``actor``, if they are an agent of the tenant in scope; else a ``ValidationError``."""
    if actor is None or not Membership.objects.agents().filter(user=actor).exists():
        raise ValidationError({"actor": _("Only agents can change tickets.")})
    return actor


def named_for(contact: Contact, ticket: Ticket) -> bool:
    """Whether ``contact`` may see the ticket (the portal's rule, ``for_contact``)."""
    return Ticket.objects.for_contact(contact).filter(pk=ticket.pk).exists()


def status_apply(
    ticket: Ticket,
    status: str,
    *,
    actor: User | None,
    contact: Contact | None,
    by_staff: bool,
    channel: str,
    at: dt.datetime,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Set the ticket's status (and its solved and closed times) and return its
    ``STATUS_CHANGED`` event, not yet published. Caller holds the row lock, has checked the
    move is allowed, saves the ticket and publishes the event in its transaction."""
    old = ticket.status
    ticket.status = status
    if status == Status.SOLVED:
        ticket.solved_at = at
    elif status == Status.CLOSED:
        ticket.closed_at = at
        ticket.solved_at = ticket.solved_at or at
    elif old in (Status.SOLVED,):
        ticket.solved_at = None
    return event_record(
        ticket=ticket,
        kind=EventKind.STATUS_CHANGED,
        actor=actor,
        actor_contact=contact,
        by_staff=by_staff,
        channel=channel,
        old=old,
        new=status,
        at=at,
        data=data,
    )


def staff_event(
    ticket: Ticket, kind: str, actor: User, channel: str, old: Any, new: Any, **extra: Any
) -> TicketEvent:
    """A ticket event of ``kind`` by the agent ``actor`` (``old`` -> ``new``); ``extra`` goes
    to :func:`tickets.events.event_record`. Caller publishes it in its transaction."""
    return event_record(
        ticket=ticket,
        kind=kind,
        actor=actor,
        by_staff=True,
        channel=channel,
        old=old,
        new=new,
        **extra,
    )


def acceptance_request(ticket: Ticket, actor: User | None, channel: str) -> list[TicketEvent]:
    """A conversion made the ticket billable and the customer never accepted a charge: it
    waits on them (clocks paused) until they accept or decline in the portal; the "waiting
    on you" mail says why (``notifications.channels.email``). Nothing billable is done silently."""
    if ticket.status not in (Status.NEW, Status.OPEN):
        return []
    now = timezone.now()
    return [
        status_apply(
            ticket, Status.PENDING, actor=actor, contact=None, by_staff=True, channel=channel,
            at=now,
        )
    ]  # fmt: skip


def resume_after_acceptance(
    ticket: Ticket, contact: Contact, now: dt.datetime
) -> list[TicketEvent]:
    """The customer answered (accepted or declined a charge or a quote): a ticket waiting on
    them is open again. Its status event, if any, for the caller to publish."""
    if ticket.status != Status.PENDING:
        return []
    return [
        status_apply(
            ticket, Status.OPEN, actor=None, contact=contact, by_staff=False,
            channel=Channel.PORTAL, at=now,
        )
    ]  # fmt: skip
