"""Every write to tickets. One function per intent; each locks the ticket row, writes its
change and an event in one transaction, re-derives the SLA clocks from the history, and hands
the events to the notification handlers after commit.

Web views, the API, the portal and the e-mail channel all call these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, ParamSpec
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, EntitlementChange, RequestType
from contracts.reasons import reasons_text
from contracts.services import Entitlement, entitlement_check, request_type_check
from sla.models import Alert, Priority, RecomputeJob, RecomputeState, SLAPolicy
from sla.services import (
    clocks_policy_moved,
    sla_refresh,
)
from supportdesk.models import AuditAction, Membership, Tenant, User
from supportdesk.notices import NoticeKind, notice_sink
from supportdesk.services import audit_record, audit_snapshot

from ..attachments import IMAGE_TYPES, file_content_type
from ..choices import Category, Channel, Status, SupportLine, VendorState
from ..events import enqueue_safely, event_record, events_publish
from ..models import (
    ACTIVE_STATUSES,
    ALLOWED_ATTACHMENT_EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_MESSAGE,
    AgentProfile,
    Attachment,
    EventKind,
    Message,
    QueueView,
    Ticket,
    TicketCounter,
    TicketEvent,
    TimeEntry,
)
from ..queue import COLUMNS, SORTS, columns_with_ticket
from ..quotes.rules import QuoteCap, quote_cap
from ..richtext import has_placeholders, html_sanitize, images_resolve, markdown_render
from ..routing.services import routing_decide, routing_record


class TicketRefused(Exception):  # noqa: N818 - the name the portal and mail code use
    """The contact may not file this request; ``str(exc)`` gives the reasons."""

    def __init__(self, entitlement: Entitlement) -> None:
        self.entitlement = entitlement
        super().__init__(reasons_text(entitlement.reasons))


class AcceptanceRequired(TicketRefused):
    """The request is billable and the customer has not accepted the charge."""


class TransitionNotAllowed(ValidationError):
    """A status change the state machine does not allow."""


class VersionConflict(Exception):  # noqa: N818
    """The ticket changed since the caller read it (optimistic ``version`` check)."""

    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(f"ticket is at version {current}")


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}
    ),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
"""Status changes staff may make. Closed is final: a new question becomes a new ticket."""

CONTACT_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.SOLVED}),
    Status.OPEN: frozenset({Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
"""What a customer may do: call it solved, reopen a solved ticket, confirm it closed."""


def body_sanitize(body: str) -> str:
    """The HTML we store: the rich replies' allow-list (:mod:`tickets.richtext`)."""
    return html_sanitize(body)


def is_staff(user: User | None) -> bool:
    """Whether ``user`` works for the tenant in scope."""
    return user is not None and Membership.objects.filter(user=user).exists()


def _validate_attachments(attachments: Sequence[UploadedFile]) -> None:
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


def _store_attachments(
    ticket: Ticket, message: Message, attachments: Sequence[UploadedFile]
) -> list[Attachment]:
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


def _number_take(ticket: Ticket) -> None:
    """Give the new ticket the tenant's next number: the last step of the filing transaction.

    One ``UPDATE ... RETURNING`` on the tenant's counter row, which holds its row lock until the
    transaction commits: concurrent filings queue only for this statement, the ticket's own
    update and the commit, not for the whole filing (which held it for 17 statements and
    capped a tenant at 25 filings a second on PostgreSQL). A rolled-back filing rolls the
    counter back too, so numbers have no gaps. Caller is inside the filing's transaction and
    does nothing after this but commit (and, for an out-of-scope request, queue its notices).
    """
    counter = connection.ops.quote_name(TicketCounter._meta.db_table)
    sql = (
        f"UPDATE {counter} SET last_number = last_number + 1"  # noqa: S608 - our own table
        " WHERE tenant_id = %s RETURNING last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket.tenant_id])
        row = cursor.fetchone()
        if row is None:  # the tenant's first ticket
            try:
                with transaction.atomic():
                    TicketCounter.objects.create(tenant_id=ticket.tenant_id)
            except IntegrityError:  # a concurrent first filing created it: queue on theirs
                pass
            cursor.execute(sql, [ticket.tenant_id])
            row = cursor.fetchone()
    ticket.number = row[0]
    ticket.reference = f"{ticket.tenant.ticket_prefix}-{ticket.number}"
    Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number, reference=ticket.reference)


class _NumberNeededFirst(Exception):  # noqa: N818 - a signal to file again, not an error
    """A threshold was acted on while filing (an old ``received_at``, a 0% rule): its notices
    name the ticket, so the filing starts again and takes the number before the clocks."""


_numbering_first: ContextVar[bool] = ContextVar("numbering_first", default=False)
_P = ParamSpec("_P")


def _filed_again_number_first(create: Callable[_P, Ticket]) -> Callable[_P, Ticket]:
    @functools.wraps(create)
    def file(*args: _P.args, **kwargs: _P.kwargs) -> Ticket:
        try:
            return create(*args, **kwargs)
        except _NumberNeededFirst:
            token = _numbering_first.set(True)
            try:
                return create(*args, **kwargs)
            finally:
                _numbering_first.reset(token)

    return file


def _locked(ticket: Ticket) -> Ticket:
    """A fresh copy of the ticket holding its row lock until the transaction ends."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "organisation", "assignee", "requester", "priority")
        .get(pk=ticket.pk)
    )


def _entitlement(
    *,
    requester: Contact,
    channel: str,
    category: str,
    at: dt.datetime,
    request_type: RequestType | None = None,
) -> Entitlement:
    return entitlement_check(
        contact=requester, channel=channel, category=category, at=at, request_type=request_type
    )


def _validate_choice(field: str, value: str, choices: type[Any]) -> None:
    if value not in choices.values:
        raise ValidationError(
            {
                field: _("Unknown value %(value)r; choose one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(choices.values)}
            }
        )


# --------------------------------------------------------------------------------------------
# Creation and conversation
# --------------------------------------------------------------------------------------------


@_filed_again_number_first
def ticket_create(
    *,
    tenant: Tenant,
    requester: Contact,
    subject: str,
    description: str,
    channel: str,
    category: str = Category.QUESTION,
    priority: Priority | None = None,
    actor: User | None = None,
    attachments: Sequence[UploadedFile] = (),
    accepted_billable: bool = False,
    received_at: dt.datetime | None = None,
    enforce_entitlement: bool = True,
    email_message_id: str = "",
    plain_text: bool = False,
    request_type: RequestType | None = None,
) -> Ticket:
    """File a ticket for ``requester`` and start its SLA clocks.

    ``request_type`` (one of the tenant's, in the plan's scope table when it has one) sets
    the category and, by the table, whether the request is billed.

    Asks :func:`contracts.services.entitlement_check` first: refused requests raise
    :class:`TicketRefused`, billable ones not accepted raise :class:`AcceptanceRequired`
    (skip both with ``enforce_entitlement=False``, e.g. an agent overriding; the plan's SLA
    policy and billability still apply). The description becomes the first message, carrying
    the attachments and ``email_message_id``. A phone call logged by staff counts as the
    first response. ``plain_text`` (a plain-text e-mail) stores the description as written,
    escaped when shown, instead of sanitizing it as HTML. Bad input raises
    ``ValidationError`` naming the field; nothing is saved. Caller holds the tenant's scope.
    """
    subject = " ".join(subject.split())
    if not subject:
        raise ValidationError({"subject": _("Give the ticket a subject.")})
    if len(subject) > 300:
        raise ValidationError({"subject": _("Keep the subject under 300 characters.")})
    _validate_choice("channel", channel, Channel)
    request_type_check(tenant=tenant, request_type=request_type)
    if request_type is not None:
        category = request_type.category
    _validate_choice("category", category, Category)
    if requester.tenant_id != tenant.pk:
        raise ValidationError({"requester": _("Unknown contact.")})
    requester.tenant = tenant  # the same row: the entitlement check need not read it again
    if priority is not None and priority.tenant_id != tenant.pk:
        raise ValidationError({"priority": _("Unknown priority.")})
    _validate_attachments(attachments)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("A ticket cannot be received in the future.")})
    entitlement = _entitlement(
        requester=requester,
        channel=channel,
        category=category,
        at=received_at,
        request_type=request_type,
    )
    if enforce_entitlement:
        if not entitlement.allowed:
            raise TicketRefused(entitlement)
        if entitlement.requires_acceptance and not accepted_billable:
            raise AcceptanceRequired(entitlement)
    by_staff = is_staff(actor)
    body = description.strip() if plain_text else body_sanitize(description)
    with transaction.atomic():
        if priority is None:
            priority = Priority.objects.filter(is_default=True).first()
        # The tenant's routing rules, once, for every channel: their assignee and line go
        # into the ticket's own INSERT (one query for the rules when none matches).
        routing = routing_decide(
            organisation=requester.organisation,
            plan_id=entitlement.plan.pk if entitlement.plan else None,
            category=category,
            channel=channel,
            priority=priority,
            day=timezone.localtime(received_at, ZoneInfo(tenant.time_zone)).date(),
        )
        # No number yet: it is taken last (_number_take), so the counter is locked briefly.
        ticket = Ticket.objects.create(
            tenant=tenant,
            number=None,  # type: ignore[misc]
            reference=None,  # type: ignore[misc]
            subject=subject,
            description=body,
            requester=requester,
            organisation=requester.organisation,
            channel=channel,
            category=category,
            request_type=request_type,
            priority=priority,
            status=Status.NEW,
            assignee=routing.assignee,
            support_line=routing.support_line or SupportLine.FIRST,
            billable=entitlement.billable,
            billing_accepted=bool(entitlement.billable and accepted_billable),
            sla_policy=entitlement.sla_policy,
            entitlement_reasons=reasons_text(entitlement.reasons)[:2000],
            entitlement_reason_codes=[r.as_json() for r in entitlement.reasons],
            received_at=received_at,
            created_at=now,
            updated_at=now,
        )
        message = None
        if body or attachments:
            message = Message.objects.create(
                tenant=tenant,
                ticket=ticket,
                author=actor if by_staff else None,
                author_contact=None if by_staff else requester,
                body=body,
                is_plain_text=plain_text,
                is_public=True,
                channel=channel,
                email_message_id=email_message_id[:255],
                created_at=received_at,
            )
            _store_attachments(ticket, message, attachments)
        responded = by_staff and channel == Channel.PHONE
        events = [
            event_record(
                ticket=ticket,
                kind=EventKind.CREATED,
                actor=actor,
                actor_contact=None if by_staff else requester,
                by_staff=by_staff,
                channel=channel,
                new=Status.NEW,
                message=message,
                at=received_at,
                data={
                    "category": category,
                    **({"request_type": request_type.name} if request_type else {}),
                    "priority": priority.key if priority else None,
                    "sla_policy": entitlement.sla_policy.name if entitlement.sla_policy else None,
                    "billable": entitlement.billable,
                    "entitlement": [r.as_json() for r in entitlement.reasons],
                    # The agent talked to the customer: the call is the first response.
                    "responded": responded,
                },
            )
        ]
        if routing.acted:
            events.append(
                routing_record(ticket=ticket, routing=routing, channel=channel, at=received_at)
            )
        # Stored now (its deliveries run after commit): the counter's row lock stays last.
        events_publish(events)
        if responded:
            ticket.first_responded_at = received_at
            ticket.save(update_fields=["first_responded_at"])
        number_first = _numbering_first.get()
        if number_first:
            _number_take(ticket)
        sla_refresh(ticket=ticket, now=now)
        if not number_first:
            if Alert.objects.filter(ticket=ticket).exists():
                raise _NumberNeededFirst
            _number_take(ticket)
        for user in entitlement.notify:
            notice_sink().queue(
                tenant=tenant,
                key=f"out_of_scope:{ticket.pk}:{user.pk}",
                kind=NoticeKind.OUT_OF_SCOPE,
                recipient=user,
                ticket=ticket,
                text=_("%(reference)s %(subject)s: out-of-scope request from %(who)s (billable)")
                % {"reference": ticket.reference, "subject": subject, "who": requester.name}
                + "\n"
                + tenant.base_url()
                + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk}),
            )
        if entitlement.notify:
            notice_sink().flush_on_commit(tenant_id=tenant.pk)
    return ticket


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
    _validate_choice("channel", channel, Channel)
    if author is None and author_contact is None:
        raise ValidationError({"author": _("A message needs an author.")})
    if author_contact is not None and author_contact.tenant_id != ticket.tenant_id:
        raise ValidationError({"author_contact": _("Unknown contact.")})
    if author_contact is not None and not public:
        raise ValidationError({"public": _("Customers cannot write internal notes.")})
    _validate_attachments(attachments)
    by_staff = author_contact is None and is_staff(author)
    if author_contact is None and not by_staff:
        raise ValidationError({"author": _("Only staff of this organisation can write as staff.")})
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        at = at or now
        if expected_version is not None and locked.version != expected_version:
            raise VersionConflict(locked.version)
        if locked.status == Status.CLOSED:
            raise ValidationError(
                {"ticket": _("%(reference)s is closed; write a new ticket instead.")
                 % {"reference": locked.reference}}
            )  # fmt: skip
        if author_contact is not None and not _named_for(author_contact, locked):
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
        stored = _store_attachments(locked, message, attachments)
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
                _status_apply(
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
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return message


def ticket_note_automatic(
    *, ticket: Ticket, body: str, channel: str, email_message_id: str = "", at: dt.datetime
) -> Message:
    """An internal note nobody wrote: automatic mail kept on the ticket, a confirmation that
    was not sent. It changes nothing else (status, participants, clocks, version) and, being
    internal, is mailed to nobody. Caller holds the tenant's scope."""
    _validate_choice("channel", channel, Channel)
    with transaction.atomic():
        locked = _locked(ticket)
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


def _touch(ticket: Ticket, now: dt.datetime) -> None:
    ticket.version += 1
    ticket.updated_at = now
    ticket.save()


# --------------------------------------------------------------------------------------------
# Changes to one ticket
# --------------------------------------------------------------------------------------------


def _status_apply(
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


def _check_transition(ticket: Ticket, status: str, *, contact: Contact | None) -> None:
    _validate_choice("status", status, Status)
    allowed = (CONTACT_TRANSITIONS if contact is not None else TRANSITIONS)[ticket.status]
    if status not in allowed:
        raise TransitionNotAllowed(
            {
                "status": _("A ticket that is %(old)s cannot become %(new)s.")
                % {"old": Status(ticket.status).label.lower(), "new": Status(status).label.lower()}
            }
        )


def ticket_change_status(
    *,
    ticket: Ticket,
    status: str,
    actor: User | None,
    channel: str,
    contact: Contact | None = None,
) -> Ticket:
    """Move the ticket through the state machine; clocks pause, stop and resume with it.

    ``contact`` set means the customer acts (a smaller set of moves, see
    :data:`CONTACT_TRANSITIONS`). Raises :class:`TransitionNotAllowed`. Returns the updated
    ticket.
    """
    _validate_choice("channel", channel, Channel)
    if contact is None and not is_staff(actor):
        raise ValidationError({"actor": _("Only staff or the customer can change the status.")})
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if contact is not None and not (
            locked.is_participant(contact) or _named_for(contact, locked)
        ):
            raise ValidationError({"contact": _("Unknown ticket.")})
        _check_transition(locked, status, contact=contact)
        event = _status_apply(
            locked,
            status,
            actor=actor,
            contact=contact,
            by_staff=contact is None,
            channel=channel,
            at=now,
        )
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish([event])
    return locked


def _named_for(contact: Contact, ticket: Ticket) -> bool:
    return Ticket.objects.for_contact(contact).filter(pk=ticket.pk).exists()


def _staff_event(
    ticket: Ticket, kind: str, actor: User, channel: str, old: Any, new: Any, **extra: Any
) -> TicketEvent:
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


def _require_agent(actor: User | None) -> User:
    if actor is None or not Membership.objects.agents().filter(user=actor).exists():
        raise ValidationError({"actor": _("Only agents can change tickets.")})
    return actor


def _priority_apply(
    ticket: Ticket, priority: Priority | None, actor: User, channel: str
) -> TicketEvent | None:
    if priority is not None and priority.tenant_id != ticket.tenant_id:
        raise ValidationError({"priority": _("Unknown priority.")})
    if ticket.priority_id == (priority.pk if priority else None):
        return None
    old = ticket.priority
    ticket.priority = priority
    return _staff_event(
        ticket,
        EventKind.PRIORITY_CHANGED,
        actor,
        channel,
        str(old) if old else "",
        str(priority) if priority else "",
    )


def _assignee_apply(
    ticket: Ticket, assignee: User | None, actor: User, channel: str
) -> TicketEvent | None:
    if assignee is not None and not Membership.objects.agents().filter(user=assignee).exists():
        raise ValidationError({"assignee": _("Choose an agent of this organisation.")})
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return None
    old = ticket.assignee
    ticket.assignee = assignee
    return _staff_event(
        ticket,
        EventKind.ASSIGNED,
        actor,
        channel,
        str(old) if old else "",
        str(assignee) if assignee else "",
        is_public=False,
        data={"assignee_id": assignee.pk if assignee else None},
    )


def _line_apply(ticket: Ticket, line: int, actor: User, channel: str) -> TicketEvent | None:
    if line not in SupportLine.values:
        raise ValidationError({"support_line": _("Choose the 1st, 2nd or 3rd line.")})
    if ticket.support_line == line:
        return None
    old = ticket.support_line
    ticket.support_line = line
    return _staff_event(
        ticket,
        EventKind.LINE_CHANGED,
        actor,
        channel,
        SupportLine(old).label,
        SupportLine(line).label,
        is_public=False,
        data={"line": line},
    )


def _vendor_apply(ticket: Ticket, reference: str, actor: User, channel: str) -> TicketEvent | None:
    reference = reference.strip()
    if len(reference) > 200:
        raise ValidationError({"vendor_reference": _("Keep it under 200 characters.")})
    if ticket.vendor_reference == reference:
        return None
    old = ticket.vendor_reference
    ticket.vendor_reference = reference
    return _staff_event(ticket, EventKind.VENDOR_REFERENCE, actor, channel, old, reference)


def _vendor_state_apply(
    ticket: Ticket, state: str | None, reference: str | None, actor: User, channel: str
) -> list[TicketEvent]:
    """The vendor escalation's rules: a state other than "not escalated" needs the vendor's
    reference; a reference given to a ticket not escalated escalates it; a reference alone
    keeps the state. ``None`` leaves that part as it is."""
    events: list[TicketEvent] = []
    if state is not None:
        _validate_choice("vendor_state", state, VendorState)
    if reference is not None:
        event = _vendor_apply(ticket, reference, actor, channel)
        if event is not None:
            events.append(event)
    if state is None:
        changed_reference = bool(events)
        state = (
            VendorState.ESCALATED
            if changed_reference
            and ticket.vendor_reference
            and ticket.vendor_state == VendorState.NONE
            else ticket.vendor_state
        )
    if state != VendorState.NONE and not ticket.vendor_reference:
        raise ValidationError(
            {"vendor_reference": _("Give the vendor's reference (a ticket number or link).")}
        )
    if state == ticket.vendor_state:
        return events
    if state in (VendorState.ESCALATED, VendorState.WAITING) and not ticket.is_active:
        raise ValidationError(
            {"vendor_state": _("A solved or closed ticket cannot be escalated to the vendor.")}
        )
    old = ticket.vendor_state
    ticket.vendor_state = state
    now = timezone.now()
    if state == VendorState.NONE:
        ticket.vendor_escalated_at = None
    elif ticket.vendor_escalated_at is None:
        ticket.vendor_escalated_at = now
    # Whether this wait pauses the resolution clock is decided now, under the tenant's
    # setting of the time (sla.selectors.ticket_history reads it back from the event).
    pauses = state == VendorState.WAITING and ticket.tenant.vendor_wait_pauses_resolution
    events.append(
        _staff_event(
            ticket, EventKind.VENDOR_STATE, actor, channel, old, state,
            is_public=False, data={"state": state, "pauses_resolution": pauses},
        )
    )  # fmt: skip
    return events


def _billable_apply(
    ticket: Ticket,
    billable: bool,
    actor: User | None,
    channel: str,
    reason: str = "",
    *,
    acceptance_requested: bool = False,
) -> TicketEvent | None:
    if ticket.billable == billable:
        return None
    ticket.billable = billable
    data = {"reason": reason} if reason else {}
    if acceptance_requested:
        data["acceptance"] = "requested"
    return event_record(
        ticket=ticket,
        kind=EventKind.BILLABLE_CHANGED,
        actor=actor,
        by_staff=True,
        channel=channel,
        old=str(not billable),
        new=str(billable),
        data=data or None,
    )


def _category_apply(ticket: Ticket, category: str, actor: User, channel: str) -> list[TicketEvent]:
    _validate_choice("category", category, Category)
    if ticket.category == category:
        return []
    old = ticket.category
    ticket.category = category
    events = [
        _staff_event(
            ticket,
            EventKind.CONVERTED,
            actor,
            channel,
            Category(old).label,
            Category(category).label,
            data={"from": old, "to": category},
        )
    ]
    # Scope decides billing: a change request may be included where a script is not.
    entitlement = _entitlement(
        requester=ticket.requester, channel=ticket.channel, category=category, at=timezone.now()
    )
    if entitlement.allowed:
        # Billable now, and the customer never accepted a charge: they are asked first.
        ask = entitlement.billable and not ticket.billable and not ticket.billing_accepted
        event = _billable_apply(
            ticket, entitlement.billable, actor, channel, reasons_text(entitlement.reasons),
            acceptance_requested=ask,
        )  # fmt: skip
        if event is not None:
            events.append(event)
        if ask:
            events.extend(_acceptance_request(ticket, actor, channel))
    return events


def _acceptance_request(ticket: Ticket, actor: User | None, channel: str) -> list[TicketEvent]:
    """A conversion made the ticket billable and the customer never accepted a charge: it
    waits on them (clocks paused) until they accept or decline in the portal; the "waiting
    on you" mail says why (``notifications.channels.email``). Nothing billable is done silently."""
    if ticket.status not in (Status.NEW, Status.OPEN):
        return []
    now = timezone.now()
    return [
        _status_apply(
            ticket, Status.PENDING, actor=actor, contact=None, by_staff=True, channel=channel,
            at=now,
        )
    ]  # fmt: skip


def ticket_billing_accept(*, ticket: Ticket, contact: Contact) -> Ticket:
    """The customer accepts the charge a conversion asked for: work may go on (a ticket
    waiting on them is open again). Caller has checked that ``contact`` may see the ticket
    (portal access helpers); refused with ValidationError when no acceptance is pending."""
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()
        _require_acceptance_pending(locked)
        locked.billing_accepted = True
        events = [
            event_record(
                ticket=locked, kind=EventKind.BILLING_ACCEPTED, actor_contact=contact,
                channel=Channel.PORTAL, new=contact.name, at=now,
            )
        ]  # fmt: skip
        events.extend(_resume_after_acceptance(locked, contact, now))
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def ticket_billing_decline(*, ticket: Ticket, contact: Contact) -> Ticket:
    """The customer declines the charge: the request goes back to the kind it was before the
    conversion (billing as its scope says, usually not billable) and is open again for
    support to answer as that. Same preconditions as :func:`ticket_billing_accept`."""
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()
        _require_acceptance_pending(locked)
        converted = (
            TicketEvent.objects.filter(ticket=locked, kind=EventKind.CONVERTED)
            .order_by("-at", "-id")
            .first()
        )
        before = (converted.data or {}).get("from") if converted else None
        events = [
            event_record(
                ticket=locked, kind=EventKind.BILLING_DECLINED, actor_contact=contact,
                channel=Channel.PORTAL, new=contact.name, at=now,
            )
        ]  # fmt: skip
        if before in Category.values and before != locked.category:
            old = locked.category
            locked.category = before
            events.append(
                event_record(
                    ticket=locked, kind=EventKind.CONVERTED, actor_contact=contact,
                    channel=Channel.PORTAL, old=Category(old).label, new=Category(before).label,
                    at=now, data={"from": old, "to": before, "declined": True},
                )
            )  # fmt: skip
            entitlement = _entitlement(
                requester=locked.requester, channel=locked.channel, category=before, at=now
            )
            billable = entitlement.billable if entitlement.allowed else False
        else:
            billable = False
        if billable != locked.billable:
            locked.billable = billable
            events.append(
                event_record(
                    ticket=locked, kind=EventKind.BILLABLE_CHANGED, actor_contact=contact,
                    channel=Channel.PORTAL, old=str(not billable), new=str(billable), at=now,
                )
            )  # fmt: skip
        events.extend(_resume_after_acceptance(locked, contact, now))
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def _require_acceptance_pending(ticket: Ticket) -> None:
    if not ticket.billable or ticket.billing_accepted or ticket.status not in ACTIVE_STATUSES:
        raise ValidationError(
            {"decision": _("This ticket is not waiting for you to accept a charge.")}
        )


def _resume_after_acceptance(
    ticket: Ticket, contact: Contact, now: dt.datetime
) -> list[TicketEvent]:
    if ticket.status != Status.PENDING:
        return []
    return [
        _status_apply(
            ticket, Status.OPEN, actor=None, contact=contact, by_staff=False,
            channel=Channel.PORTAL, at=now,
        )
    ]  # fmt: skip


def _one_change(ticket: Ticket, actor: User | None, channel: str, apply: Any, *args: Any) -> Ticket:
    _validate_choice("channel", channel, Channel)
    agent = _require_agent(actor)
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        result = apply(locked, *args, agent, channel)
        events = [e for e in (result if isinstance(result, list) else [result]) if e is not None]
        if not events:
            return locked
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(events)
    return locked


def ticket_change_priority(
    *, ticket: Ticket, priority: Priority | None, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Set the priority; due times are derived again from the history under the new target."""
    return _one_change(ticket, actor, channel, _priority_apply, priority)


def ticket_assign(
    *, ticket: Ticket, assignee: User | None, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Give the ticket to an agent (or nobody)."""
    return _one_change(ticket, actor, channel, _assignee_apply, assignee)


def ticket_change_line(
    *, ticket: Ticket, support_line: int, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Move the ticket to another support line (escalate or hand back)."""
    return _one_change(ticket, actor, channel, _line_apply, support_line)


def ticket_set_vendor_reference(
    *, ticket: Ticket, reference: str, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Link the upstream vendor's ticket (empty to unlink)."""
    return _one_change(ticket, actor, channel, _vendor_apply, reference)


def ticket_vendor_escalate(
    *,
    ticket: Ticket,
    state: str | None,
    reference: str | None,
    actor: User,
    channel: str = Channel.PORTAL,
) -> Ticket:
    """Escalate the ticket to the upstream vendor, mark it waiting on the vendor, fixed by
    the vendor, or not escalated (``state``, a :class:`VendorState`), with the vendor's
    ticket (``reference``); None leaves either as it is. A state other than "not escalated"
    needs a reference; a reference given alone to a ticket not escalated escalates it.
    Waiting on the vendor pauses the resolution clock where the tenant says so
    (``Tenant.vendor_wait_pauses_resolution``). Raises ValidationError naming the field."""
    return _one_change(ticket, actor, channel, _vendor_state_apply, state, reference)


def vendor_settings_save(*, tenant: Tenant) -> Tenant:
    """Validate and store the tenant's vendor-escalation settings (the admin's form).
    Tickets already waiting keep the pause rule of their wait's start (see
    :func:`ticket_vendor_escalate`)."""
    fields = ["vendor_wait_pauses_resolution", "vendor_update_days"]
    tenant.full_clean(exclude=[f.name for f in tenant._meta.fields if f.name not in fields])
    tenant.save(update_fields=fields)
    return tenant


def ticket_convert(
    *, ticket: Ticket, category: str, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Turn the ticket into another kind (Syneton: change request or issue), keeping its
    history; billing follows the plan's scope for the new kind."""
    return _one_change(ticket, actor, channel, _category_apply, category)


def ticket_set_billable(
    *, ticket: Ticket, billable: bool, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Mark the work billable or not."""
    return _one_change(ticket, actor, channel, _billable_apply, billable)


def ticket_change_sla_policy(
    *, ticket: Ticket, policy: SLAPolicy | None, actor: User | None, reason: str = ""
) -> Ticket:
    """Put the ticket under another SLA policy (a plan change); its clocks are re-derived."""
    if policy is not None and policy.tenant_id != ticket.tenant_id:
        raise ValidationError({"sla_policy": _("Unknown SLA policy.")})
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if locked.sla_policy_id == (policy.pk if policy else None):
            return locked
        old = locked.sla_policy
        locked.sla_policy = policy
        event = event_record(
            ticket=locked,
            kind=EventKind.SLA_POLICY_CHANGED,
            actor=actor,
            by_staff=actor is not None,
            old=str(old) if old else "",
            new=str(policy) if policy else "",
            data={"reason": reason} if reason else None,
        )
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish([event])
    return locked


def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    channel: str,
    expected_version: int,
    changes: dict[str, Any],
) -> Ticket:
    """Apply several field changes at once if nobody changed the ticket since
    ``expected_version`` (else :class:`VersionConflict`). Keys: status, priority, assignee,
    support_line, vendor_reference, vendor_state, billable, category. Used by the API's PATCH.
    """
    _validate_choice("channel", channel, Channel)
    agent = _require_agent(actor)
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        if locked.version != expected_version:
            raise VersionConflict(locked.version)
        events: list[TicketEvent | None] = []
        if "priority" in changes:
            events.append(_priority_apply(locked, changes["priority"], agent, channel))
        if "assignee" in changes:
            events.append(_assignee_apply(locked, changes["assignee"], agent, channel))
        if "support_line" in changes:
            events.append(_line_apply(locked, changes["support_line"], agent, channel))
        if "vendor_reference" in changes or "vendor_state" in changes:
            events.extend(
                _vendor_state_apply(
                    locked,
                    changes.get("vendor_state"),
                    changes.get("vendor_reference"),
                    agent,
                    channel,
                )
            )
        if "billable" in changes:
            events.append(_billable_apply(locked, bool(changes["billable"]), agent, channel))
        if "category" in changes:
            events.extend(_category_apply(locked, changes["category"], agent, channel))
        if "status" in changes and changes["status"] != locked.status:
            _check_transition(locked, changes["status"], contact=None)
            events.append(
                _status_apply(
                    locked,
                    changes["status"],
                    actor=agent,
                    contact=None,
                    by_staff=True,
                    channel=channel,
                    at=now,
                )
            )
        written = [e for e in events if e is not None]
        if not written:
            return locked
        _touch(locked, now)
        sla_refresh(ticket=locked, now=now)
        events_publish(written)
    return locked


def tickets_assign_bulk(
    *, tenant: Tenant, ticket_ids: Sequence[int], assignee: User | None, actor: User
) -> int:
    """Assign many tickets of the tenant at once (one transaction); returns how many changed.

    Ids of other tenants' tickets are simply not found (the scope filters them).
    """
    agent = _require_agent(actor)
    if assignee is not None:
        if not Membership.objects.agents().filter(user=assignee).exists():
            raise ValidationError({"assignee": _("Choose an agent of this organisation.")})
    now = timezone.now()
    changed = 0
    events: list[TicketEvent] = []
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .filter(tenant=tenant, pk__in=list(ticket_ids)[:500])
            .order_by("pk")
        )
        for ticket in tickets:
            event = _assignee_apply(ticket, assignee, agent, Channel.PORTAL)
            if event is None:
                continue
            events.append(event)
            ticket.version += 1
            ticket.updated_at = now
            ticket.save(update_fields=["assignee", "version", "updated_at"])
            changed += 1
        events_publish(events)
    return changed


def time_entry_log(
    *,
    ticket: Ticket,
    agent: User,
    minutes: int,
    billable: bool,
    note: str = "",
    work_date: dt.date | None = None,
) -> TimeEntry:
    """Record time an agent spent on the ticket; without ``work_date``, on today in the
    tenant's time zone (the time report's months are the tenant's)."""
    _require_agent(agent)
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": _("Log between 1 minute and 24 hours.")})
    with transaction.atomic():
        locked = _locked(ticket)
        now = timezone.now()  # after the lock, so events are timed in the order applied
        cap = quote_cap(ticket=locked, at=now)
        if billable and cap.refuses(minutes):
            raise ValidationError(
                {
                    "minutes": _(
                        "This out-of-scope ticket may carry %(allowed)s h of billable time "
                        "without a quote the customer accepted; %(logged)s h are logged. "
                        "Propose a quote, or log the time as non-billable."
                    )
                    % {
                        "allowed": _hours_text(cap.allowed_minutes or 0),
                        "logged": _hours_text(cap.logged_minutes),
                    }
                }
            )
        entry = TimeEntry.objects.create(
            tenant_id=locked.tenant_id,
            ticket=locked,
            agent=agent,
            minutes=minutes,
            billable=billable,
            note=note.strip()[:300],
            work_date=work_date
            or timezone.localdate(now, timezone=ZoneInfo(ticket.tenant.time_zone)),
        )
        event = event_record(
            ticket=locked,
            kind=EventKind.TIME_LOGGED,
            actor=agent,
            by_staff=True,
            new=f"{minutes} min",
            is_public=False,
            data={"time_entry_id": entry.pk, "minutes": minutes, "billable": billable},
        )
        _touch(locked, now)
        events_publish([event])
        if billable and cap.out_of_scope and cap.notify:
            _quote_notices(locked, cap, minutes)
    return entry


def _hours_text(minutes: int) -> str:
    return f"{(Decimal(minutes) / 60).quantize(Decimal('0.01')).normalize():f}"


def _quote_notices(ticket: Ticket, cap: QuoteCap, minutes: int) -> None:
    """Tell the account manager, once each, that billable out-of-scope work started and that
    it reached the plan's quote-free hours (the notice's unique key makes it once)."""
    link = ticket.tenant.base_url() + reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
    total = cap.logged_minutes + minutes
    sends: list[tuple[str, str]] = []
    if cap.logged_minutes == 0:
        sends.append(
            (
                "quote_work_started",
                _("%(reference)s %(subject)s: billable out-of-scope work started"),
            )
        )
    threshold = cap.threshold_minutes
    if threshold is not None and cap.logged_minutes < threshold <= total:
        sends.append(
            (
                "quote_threshold",
                _(
                    "%(reference)s %(subject)s: billable out-of-scope work reached "
                    "%(hours)s h; more needs a quote the customer accepts"
                ),
            )
        )
    for key, text in sends:
        for user in cap.notify:
            notice_sink().queue(
                tenant=ticket.tenant,
                key=f"{key}:{ticket.pk}:{user.pk}",
                kind=NoticeKind.OUT_OF_SCOPE,
                recipient=user,
                ticket=ticket,
                text=text
                % {
                    "reference": ticket.reference,
                    "subject": ticket.subject,
                    "hours": _hours_text(threshold or 0),
                }
                + "\n"
                + link,
            )
    if sends:
        notice_sink().flush_on_commit(tenant_id=ticket.tenant_id)


def agent_line_set(*, tenant: Tenant, user: User, support_line: int) -> AgentProfile:
    """Record which support line an agent works (for the queue's "my line")."""
    _require_agent(user)
    if support_line not in SupportLine.values:
        raise ValidationError({"support_line": _("Choose the 1st, 2nd or 3rd line.")})
    profile, _created = AgentProfile.objects.update_or_create(
        tenant=tenant, user=user, defaults={"support_line": support_line}
    )
    return profile


logger = logging.getLogger(__name__)


POLICY_MOVE_BATCH = 1_000
"""Tickets per transaction when open tickets move to another SLA policy: each batch holds
its tickets' row locks, writes their events and recomputes their clocks in bulk."""


def tickets_sla_policy_recompute(
    *,
    tenant: Tenant,
    organisation_ids: Sequence[int],
    change_id: int | None = None,
    batch: int = POLICY_MOVE_BATCH,
) -> int:
    """Put every open ticket of the organisations under the SLA policy their contract now
    gives (after a plan change Guld -> Silver, a plan's policy replaced, a contract
    suspended, expired or resumed); returns how many tickets moved.

    The path of a calendar edit: in batches of tickets, each one transaction holding their
    row locks, with the clocks recomputed in bulk and forward only
    (:func:`sla.services.clocks_policy_moved`); outcomes already reached are kept. Progress
    is a :class:`sla.models.RecomputeJob` on the contract or plan that changed (its admin
    page shows it). Caller holds the tenant's scope, outside a transaction.
    """
    rows = list(
        Ticket.objects.active()
        .filter(organisation_id__in=list(organisation_ids))
        .order_by("pk")
        .values_list("pk", "requester_id", "channel", "category", "sla_policy_id")
    )
    moves = _policy_moves(rows, at=timezone.now())
    if not moves:
        return 0
    change = EntitlementChange.objects.filter(pk=change_id).first() if change_id else None
    job = RecomputeJob.objects.create(
        tenant=tenant,
        object_type=change.object_type if change else "",
        object_id=change.object_id if change else "",
        spec={"policy_move": change_id},
        at=timezone.now(),
        why={"kind": "policy"},
        state=RecomputeState.RUNNING,
        total=len(moves),
    )
    moved = 0
    try:
        for start in range(0, len(moves), batch):
            chunk = moves[start : start + batch]
            with transaction.atomic():
                moved += _policy_move_batch(chunk)
                RecomputeJob.objects.filter(pk=job.pk).update(done=start + len(chunk))
            logger.info(
                "SLA policy move, tenant %s: %d/%d tickets",
                tenant.slug,
                start + len(chunk),
                len(moves),
            )
    except Exception:
        RecomputeJob.objects.filter(pk=job.pk).update(
            state=RecomputeState.FAILED, finished_at=timezone.now()
        )
        raise
    RecomputeJob.objects.filter(pk=job.pk).update(
        state=RecomputeState.DONE, done=len(moves), finished_at=timezone.now()
    )
    return moved


def _policy_moves(
    rows: Sequence[tuple[int, int, str, str, int | None]], *, at: dt.datetime
) -> list[tuple[int, int | None, str]]:
    """(ticket id, policy id now in force, reason) of each ticket whose policy differs.

    The entitlement depends on the requester, the channel and the kind of request only:
    one check per distinct triple, not per ticket."""
    contacts = Contact.objects.in_bulk({r[1] for r in rows})
    decided: dict[tuple[int, str, str], tuple[int | None, str]] = {}
    moves: list[tuple[int, int | None, str]] = []
    for ticket_id, requester_id, channel, category, current in rows:
        key = (requester_id, channel, category)
        if key not in decided:
            entitlement = _entitlement(
                requester=contacts[requester_id], channel=channel, category=category, at=at
            )
            policy = entitlement.sla_policy
            decided[key] = (policy.pk if policy else None, reasons_text(entitlement.reasons))
        policy_id, reason = decided[key]
        if policy_id != current:
            moves.append((ticket_id, policy_id, reason))
    return moves


def _policy_move_batch(chunk: Sequence[tuple[int, int | None, str]]) -> int:
    """Move one batch of tickets to their new policies: row locks, one event per ticket (as
    :func:`ticket_change_sla_policy` writes), clocks in bulk. Caller is in a transaction."""
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "organisation", "assignee", "requester", "priority", "sla_policy")
        .filter(pk__in=[m[0] for m in chunk], status__in=ACTIVE_STATUSES)
    }
    now = timezone.now()  # after the locks, so events are timed in the order applied
    policies = SLAPolicy.objects.in_bulk({m[1] for m in chunk if m[1] is not None})
    moved: list[Ticket] = []
    events: list[TicketEvent] = []
    for ticket_id, policy_id, reason in chunk:
        ticket = locked.get(ticket_id)
        if ticket is None or ticket.sla_policy_id == policy_id:
            continue  # closed or moved meanwhile
        old, policy = ticket.sla_policy, policies.get(policy_id) if policy_id else None
        ticket.sla_policy = policy
        ticket.version += 1
        ticket.updated_at = now
        moved.append(ticket)
        events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=EventKind.SLA_POLICY_CHANGED,
                at=now,
                old_value=str(old)[:300] if old else "",
                new_value=str(policy)[:300] if policy else "",
                data={"reason": reason} if reason else {},
            )
        )
    if not moved:
        return 0
    Ticket.objects.bulk_update(moved, ["sla_policy", "version", "updated_at"], batch_size=500)
    events = TicketEvent.objects.bulk_create(events, batch_size=500)
    clocks_policy_moved(tickets=moved, at=now)
    events_publish(events)
    return len(moved)


def tickets_sla_policy_recompute_enqueue(
    tenant_id: int, organisation_ids: list[int], change_id: int
) -> None:
    """After a contract or plan change: recompute those organisations' open tickets in a
    Celery task (a large tenant's tickets are not moved inside the admin's request). The
    task marks the change done; one lost with the broker is handed out again by
    ``contracts.services.entitlement_changes_replay``."""
    # Not at the top: the tasks module imports this one (each task calls its service).
    from ..tasks import tickets_sla_policy_recompute_task

    enqueue_safely(tickets_sla_policy_recompute_task, tenant_id, organisation_ids, change_id)


QUEUE_VIEW_PARAMS = (
    "view", "line", "due_within", "breached", "priority", "organisation", "status", "category",
    "q",
)  # fmt: skip
"""The queue's filter parameters (:class:`tickets.queue.QueueFilters`) a saved view keeps."""


def queue_view_save(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    params: Any,
    shared: bool,
    sort: str,
    columns: Sequence[str],
) -> QueueView:
    """Save the queue as ``params`` (the queue page's query) select it, under ``name``.

    ``shared``: the tenant's own view, for every agent (caller checked ``actor`` is an
    admin); else ``actor``'s. Only the filters the queue understands are kept, as
    :meth:`QueueFilters.from_params` reads them back; an unknown sort or column is a
    ``ValidationError`` and nothing is saved. Caller holds the tenant's scope.
    """
    _require_agent(actor)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if sort not in SORTS:
        raise ValidationError({"sort": _("Unknown sort order.")})
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError({"columns": _("Unknown column: %(name)s") % {"name": unknown[0]}})
    filters = {
        key: str(params.get(key))
        for key in QUEUE_VIEW_PARAMS
        if str(params.get(key, "") or "").strip()
    }
    view = QueueView(
        tenant=tenant,
        owner=None if shared else actor,
        name=name,
        filters=filters,
        sort=sort,
        columns=columns_with_ticket(columns) if columns else [],
    )
    view.full_clean(exclude=["tenant", "owner"])
    with transaction.atomic():
        view.save()
        audit_record(instance=view, actor=actor, before=None)
    return view


def queue_view_delete(*, view: QueueView, actor: User) -> None:
    """Delete a saved view: one's own, or a shared one (caller checked ``actor`` is an
    admin); audited."""
    if view.owner_id is not None and view.owner_id != actor.pk:
        raise ValidationError(_("Unknown view."))
    with transaction.atomic():
        before = audit_snapshot(view)
        audit_record(instance=view, actor=actor, before=before, action=AuditAction.DELETED)
        view.delete()


def agent_columns_set(*, tenant: Tenant, user: User, columns: Sequence[str]) -> AgentProfile:
    """Record which queue columns an agent wants (empty: the default set)."""
    _require_agent(user)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError({"columns": _("Unknown column: %(name)s") % {"name": unknown[0]}})
    chosen = columns_with_ticket(columns) if columns else []
    profile, _created = AgentProfile.objects.update_or_create(
        tenant=tenant, user=user, defaults={"queue_columns": chosen}
    )
    return profile
