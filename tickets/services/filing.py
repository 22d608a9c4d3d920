"""Filing a ticket: the entitlement asked, the routing rules applied, the first message with
its attachments, the SLA clocks started and, last, the tenant's next number.

Web views, the API, the portal and the e-mail channel all file through :func:`ticket_create`
(the pages and API calls by way of :func:`tickets.filing.ticket_file`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import ParamSpec
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, RequestType
from contracts.reasons import reasons_text
from contracts.services import Entitlement, request_type_check
from sla.models import Alert, Priority
from sla.services import sla_refresh
from supportdesk.models import Tenant, User
from supportdesk.notices import NoticeKind, notice_sink

from ..choices import Category, Channel, Status, SupportLine
from ..events import event_record, events_publish
from ..models import EventKind, Message, Ticket, TicketCounter
from ..routing.services import routing_decide, routing_record
from .steps import (
    body_sanitize,
    entitlement_for,
    is_staff,
    store_attachments,
    validate_attachments,
    validate_choice,
)


class TicketRefused(Exception):  # noqa: N818 - the name the portal and mail code use
    """The contact may not file this request; ``str(exc)`` gives the reasons."""

    def __init__(self, entitlement: Entitlement) -> None:
        self.entitlement = entitlement
        super().__init__(reasons_text(entitlement.reasons))


class AcceptanceRequired(TicketRefused):
    """The request is billable and the customer has not accepted the charge."""


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
    validate_choice("channel", channel, Channel)
    request_type_check(tenant=tenant, request_type=request_type)
    if request_type is not None:
        category = request_type.category
    validate_choice("category", category, Category)
    if requester.tenant_id != tenant.pk:
        raise ValidationError({"requester": _("Unknown contact.")})
    requester.tenant = tenant  # the same row: the entitlement check need not read it again
    if priority is not None and priority.tenant_id != tenant.pk:
        raise ValidationError({"priority": _("Unknown priority.")})
    validate_attachments(attachments)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("A ticket cannot be received in the future.")})
    entitlement = entitlement_for(
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
            store_attachments(ticket, message, attachments)
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
