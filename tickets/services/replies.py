"""The conversation on a ticket: public replies and internal notes by staff, replies by the
customer (which reopen a ticket waiting on them), and automatic notes nobody wrote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact
from sla.services import sla_refresh
from supportdesk.models import User

from ..attachments import IMAGE_TYPES
from ..choices import Channel, Status
from ..events import event_record, events_publish
from ..models import Attachment, EventKind, Message, Ticket
from ..richtext import has_placeholders, images_resolve, markdown_render
from .steps import (
    VersionConflict,
    body_sanitize,
    is_staff,
    named_for,
    status_apply,
    store_attachments,
    ticket_locked,
    ticket_touch,
    validate_attachments,
    validate_choice,
)


def _inline_images_resolve(message: Message, stored: Sequence[Attachment]) -> None:
    """Point the reply's ``![name](attachment:name)`` images at its stored image files (by
    name; the reply box names pasted images uniquely), through the one URL both staff and
    contacts load them from. An image naming no image file of the reply keeps its alt text.
    """
    urls = {
        attachment.filename: reverse("tickets:attachment-inline", args=[attachment.pk])
        for attachment in stored
        if attachment.content_type in IMAGE_TYPES
    }
    message.body = images_resolve(message.body, urls)
    message.save(update_fields=["body"])


def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    public: bool,
    channel: str,
    author: User | None = None,
    author_contact: Contact | None = None,
    attachments: Sequence[UploadedFile] = (),
    email_message_id: str = "",
    at: dt.datetime | None = None,
    copy_author: bool = True,
    plain_text: bool = False,
    markdown: bool = False,
    expected_version: int | None = None,
) -> Message:
    """Add a public reply or (staff only) an internal note.

    A customer's reply reopens a ticket waiting on them or solved; the first public staff
    reply stops the first-response clock and opens a new ticket. A contact may write only on
    a ticket they may see (the portal's rule, ``Ticket.objects.for_contact``); one who is not
    yet a participant is copied on it only if they belong to the ticket's organisation and
    ``copy_author`` is left on. Closed tickets take no messages. With ``expected_version``
    (the version the writer's page showed) the reply is refused with :class:`VersionConflict`
    when the ticket moved on since: the agent page's stale-reply warning. Caller holds the
    tenant's scope. ``markdown`` (the reply boxes of the agent page and the portal) renders
    ``body`` as Markdown into the stored sanitized HTML (``richtext.markdown_render``).
    """
    if plain_text:
        clean = body.strip()
    else:
        clean = markdown_render(body) if markdown else body_sanitize(body)
    if not clean and not attachments:
        raise ValidationError({"body": _("Write a message.")})
    validate_choice("channel", channel, Channel)
    if author is None and author_contact is None:
        raise ValidationError({"author": _("A message needs an author.")})
    if author_contact is not None and author_contact.tenant_id != ticket.tenant_id:
        raise ValidationError({"author_contact": _("Unknown contact.")})
    if author_contact is not None and not public:
        raise ValidationError({"public": _("Customers cannot write internal notes.")})
    validate_attachments(attachments)
    by_staff = author_contact is None and is_staff(author)
    if author_contact is None and not by_staff:
        raise ValidationError({"author": _("Only staff of this organisation can write as staff.")})
    with transaction.atomic():
        locked = ticket_locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        at = at or now
        if expected_version is not None and locked.version != expected_version:
            raise VersionConflict(locked.version)
        if locked.status == Status.CLOSED:
            raise ValidationError(
                {"ticket": _("%(reference)s is closed; write a new ticket instead.")
                 % {"reference": locked.reference}}
            )  # fmt: skip
        if author_contact is not None and not named_for(author_contact, locked):
            raise ValidationError({"author_contact": _("Unknown ticket.")})
        message = Message.objects.create(
            tenant_id=locked.tenant_id,
            ticket=locked,
            author=author if by_staff or author_contact is None else author,
            author_contact=author_contact,
            body=clean,
            is_plain_text=plain_text,
            is_public=public,
            channel=channel,
            email_message_id=email_message_id[:255],
            created_at=at,
        )
        stored = store_attachments(locked, message, attachments)
        if has_placeholders(clean):
            _inline_images_resolve(message, stored)
        events = [
            event_record(
                ticket=locked,
                kind=EventKind.REPLIED if public else EventKind.NOTE_ADDED,
                actor=author,
                actor_contact=author_contact,
                by_staff=by_staff,
                channel=channel,
                message=message,
                is_public=public,
                at=at,
            )
        ]
        if (
            copy_author
            and author_contact is not None
            and author_contact.pk != locked.requester_id
            and author_contact.organisation_id is not None
            and author_contact.organisation_id == locked.organisation_id
        ):
            locked.cc.add(author_contact)
        new_status = None
        if author_contact is not None and locked.status in (Status.PENDING, Status.SOLVED):
            new_status = Status.OPEN
        elif by_staff and public and locked.status == Status.NEW:
            new_status = Status.OPEN
        if new_status is not None:
            events.append(
                status_apply(
                    locked,
                    new_status,
                    actor=author,
                    contact=author_contact,
                    by_staff=by_staff,
                    channel=channel,
                    at=at,
                )
            )
        if by_staff and public and locked.first_responded_at is None:
            locked.first_responded_at = at
        ticket_touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return message


def ticket_note_automatic(
    *, ticket: Ticket, body: str, channel: str, email_message_id: str = "", at: dt.datetime
) -> Message:
    """An internal note nobody wrote: automatic mail kept on the ticket, a confirmation that
    was not sent. It changes nothing else (status, participants, clocks, version) and, being
    internal, is mailed to nobody. Caller holds the tenant's scope."""
    validate_choice("channel", channel, Channel)
    with transaction.atomic():
        locked = ticket_locked(ticket)
        message = Message.objects.create(
            tenant_id=locked.tenant_id,
            ticket=locked,
            body=body_sanitize(body),
            is_public=False,
            channel=channel,
            email_message_id=email_message_id[:255],
            created_at=at,
        )
        events_publish(
            [
                event_record(
                    ticket=locked,
                    kind=EventKind.NOTE_ADDED,
                    channel=channel,
                    message=message,
                    is_public=False,
                    at=at,
                )
            ]
        )
    return message
