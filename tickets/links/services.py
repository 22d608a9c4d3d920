"""Related tickets and merging a duplicate (``TicketLink``).

- **Links**: two tickets of one tenant are *related*, one is a *duplicate of* or *caused by*
  the other. One link per pair and kind, whichever way round; each ticket's page words it
  from its own side (:meth:`tickets.models.TicketLink.label_from`).
- **Merge**: a duplicate's messages and attachments move to the ticket it is merged into; the
  duplicate is closed through the status path and keeps ``merged_into``, so its reference
  leads to the target wherever the reader may see it (agent page, portal, APIs, e-mail).

Both writes lock the two tickets in pk order and write their events on both in the same
transaction; the mails hang off the MERGED / MERGED_IN events
(:mod:`notifications.channels.email`).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sla.services import sla_refresh
from supportdesk.models import User

from ..choices import Channel, Status
from ..events import events_publish
from ..models import Attachment, EventKind, LinkKind, Message, Ticket, TicketEvent, TicketLink

# The status path and the event and input helpers every ticket write shares: a merge closes
# the duplicate exactly as ticket_change_status would, so it reuses them rather than copies.
from ..services import body_sanitize
from ..services.steps import (
    require_agent,
    staff_event,
    status_apply,
    ticket_touch,
    validate_choice,
)


def _locked_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Fresh copies of both tickets holding their row locks, taken in pk order so two merges
    or links of the same pair, either way round, queue instead of deadlocking."""
    rows = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "organisation", "assignee", "requester", "priority")
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    if first.pk not in rows or second.pk not in rows:
        raise ValidationError({"ticket": _("Unknown ticket.")})
    return rows[first.pk], rows[second.pk]


def _check_pair(
    ticket: Ticket, other: Ticket, field: str, *, across_organisations: bool = False
) -> None:
    if other.tenant_id != ticket.tenant_id:
        raise ValidationError({field: _("Unknown ticket.")})
    if other.pk == ticket.pk:
        raise ValidationError({field: _("A ticket cannot be linked to or merged into itself.")})
    # Organisations are kept apart inside a tenant as tenants are (issue #15): a merge would
    # show one customer's messages to another's contacts, and "duplicate of" or "related to"
    # says two customers' tickets are one matter. Only "caused by" crosses: it is how one
    # cause (a major incident, a problem ticket) gathers several organisations' tickets, and
    # customers never see links.
    if not across_organisations and other.organisation_id != ticket.organisation_id:
        raise ValidationError(
            {field: _("%(a)s and %(b)s belong to different organisations; only “caused "
                      "by” links them, and a merge stays within one organisation.")
             % {"a": ticket.reference, "b": other.reference}}
        )  # fmt: skip


def _link_between(ticket: Ticket, other: Ticket, kind: str) -> TicketLink | None:
    return (
        TicketLink.objects.filter(kind=kind)
        .filter(
            Q(source_id=ticket.pk, target_id=other.pk) | Q(source_id=other.pk, target_id=ticket.pk)
        )
        .first()
    )


def _link_events(
    link: TicketLink, kind: str, actor: User, channel: str, at: dt.datetime
) -> list[TicketEvent]:
    """One internal event on each ticket of the link, worded from that ticket's side."""
    events = []
    for ticket, other in ((link.source, link.target), (link.target, link.source)):
        events.append(
            staff_event(
                ticket,
                kind,
                actor,
                channel,
                "",
                f"{link.label_from(ticket)} {other.reference}",
                is_public=False,
                at=at,
                # The kind, side and reference, so each reader's timeline words it in their
                # language (the stored text is the writer's, for exports and old readers).
                data={
                    "link_kind": link.kind,
                    "outgoing": ticket.pk == link.source_id,
                    "other_id": other.pk,
                    "other_reference": other.reference,
                    "link_id": link.pk,
                },
            )
        )
    return events


def ticket_link(
    *,
    ticket: Ticket,
    other: Ticket,
    kind: str,
    actor: User,
    channel: str = Channel.PORTAL,
) -> TicketLink:
    """Record that ``ticket`` is ``kind`` ``other`` (related to, duplicate of, caused by).

    Preconditions: both tickets are of the tenant in scope (another tenant's ticket is
    refused as unknown), they differ, and no link of that kind joins them yet, either way
    round. Locks both rows in pk order; writes an internal event on each ticket in the same
    transaction. Bad input raises ``ValidationError``; nothing is saved.
    """
    validate_choice("kind", kind, LinkKind)
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    _check_pair(ticket, other, "other", across_organisations=kind == LinkKind.CAUSED_BY)
    with transaction.atomic():
        source, target = _locked_pair(ticket, other)
        now = timezone.now()  # after the locks, so events are timed in the order applied
        if _link_between(source, target, kind) is not None:
            raise ValidationError(
                {"other": _("%(a)s and %(b)s are already linked that way.")
                 % {"a": source.reference, "b": target.reference}}
            )  # fmt: skip
        try:
            with transaction.atomic():
                link = TicketLink.objects.create(
                    tenant_id=source.tenant_id,
                    source=source,
                    target=target,
                    kind=kind,
                    created_by=agent,
                    created_at=now,
                )
        except IntegrityError as exc:  # the same link written meanwhile (we held no lock on it)
            raise ValidationError(
                {"other": _("%(a)s and %(b)s are already linked that way.")
                 % {"a": source.reference, "b": target.reference}}
            ) from exc  # fmt: skip
        events = _link_events(link, EventKind.LINKED, agent, channel, now)
        ticket_touch(source, now)
        ticket_touch(target, now)
        events_publish(events)
    return link


def ticket_unlink(
    *, ticket: Ticket, link_id: int, actor: User, channel: str = Channel.PORTAL
) -> None:
    """Remove a link of ``ticket`` (from either side).

    Preconditions: the link joins ``ticket`` to another ticket of the tenant in scope; the
    link a merge wrote stays (the merge is final). Locks both tickets in pk order; writes an
    internal event on each in the same transaction.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    link = (
        TicketLink.objects.filter(pk=link_id, tenant_id=ticket.tenant_id)
        .filter(Q(source_id=ticket.pk) | Q(target_id=ticket.pk))
        .first()
    )
    if link is None:
        raise ValidationError({"link": _("Unknown link.")})
    with transaction.atomic():
        source, target = _locked_pair(link.source, link.target)
        now = timezone.now()
        if source.merged_into_id == target.pk and link.kind == LinkKind.DUPLICATE:
            raise ValidationError(
                {"link": _("%(a)s was merged into %(b)s; that link stays.")
                 % {"a": source.reference, "b": target.reference}}
            )  # fmt: skip
        link.source, link.target = source, target
        events = _link_events(link, EventKind.UNLINKED, agent, channel, now)
        TicketLink.objects.filter(pk=link.pk).delete()
        ticket_touch(source, now)
        ticket_touch(target, now)
        events_publish(events)


def _merge_refusal(duplicate: Ticket, target: Ticket) -> str | None:
    """Why ``duplicate`` cannot be merged into ``target`` (None: it can). Both are locked."""
    if target.merged_into_id == duplicate.pk:
        return _("%(b)s was merged into %(a)s: merging back would go round in a circle.") % {
            "a": duplicate.reference,
            "b": target.reference,
        }
    if target.merged_into_id is not None:
        return _("%(b)s was itself merged into another ticket; merge into that one.") % {
            "b": target.reference
        }
    if duplicate.merged_into_id is not None:
        return _("%(a)s is already merged into another ticket.") % {"a": duplicate.reference}
    if target.status == Status.CLOSED:
        return _("%(b)s is closed; a closed ticket takes no more messages.") % {
            "b": target.reference
        }
    if duplicate.status == Status.CLOSED:
        return _("%(a)s is closed; a closed ticket cannot be merged.") % {"a": duplicate.reference}
    return None


def ticket_merge_check(*, ticket: Ticket, into: Ticket) -> str | None:
    """Why the merge would be refused, for the confirmation page (None: it would go ahead)."""
    try:
        _check_pair(ticket, into, "into")
    except ValidationError as exc:
        return " ".join(exc.messages)
    return _merge_refusal(ticket, into)


def ticket_merge(
    *, ticket: Ticket, into: Ticket, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Merge the duplicate ``ticket`` into ``into``; returns the target, updated.

    The duplicate's messages and attachments move to the target (their times kept, each
    marked with the duplicate's reference); the duplicate is closed through the normal status
    path (its clocks stop as a closed ticket's) with a MERGED event, ``merged_into`` set and a
    "duplicate of" link. The target gets a public note naming the old reference (mailed to
    its requester and copied contacts) and a MERGED_IN event. The duplicate's requester is
    copied on the target when they belong to the target's organisation; otherwise they are
    only told, on their own ticket, that it was merged (nothing of the target).

    Preconditions: both tickets are of the tenant in scope and differ; the target is neither
    closed nor merged away itself; the duplicate is neither closed nor merged already.
    Locks both rows in pk order; one transaction; bad input raises ``ValidationError`` and
    saves nothing.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    _check_pair(ticket, into, "into")
    with transaction.atomic():
        duplicate, target = _locked_pair(ticket, into)
        now = timezone.now()  # after the locks, so events are timed in the order applied
        refusal = _merge_refusal(duplicate, target)
        if refusal:
            raise ValidationError({"into": refusal})
        old, new = duplicate.reference, target.reference
        Message.objects.filter(ticket=duplicate, merged_from="").update(merged_from=old)
        moved_messages = Message.objects.filter(ticket=duplicate).update(ticket=target)
        moved_files = Attachment.objects.filter(ticket=duplicate).update(ticket=target)
        link = _link_between(duplicate, target, LinkKind.DUPLICATE)
        if link is None:
            link = TicketLink.objects.create(
                tenant_id=duplicate.tenant_id,
                source=duplicate,
                target=target,
                kind=LinkKind.DUPLICATE,
                created_by=agent,
                created_at=now,
            )
        requester = duplicate.requester
        copied = (
            requester.pk != target.requester_id
            and requester.organisation_id is not None
            and requester.organisation_id == target.organisation_id
        )
        if copied:
            target.cc.add(requester)
        data = {
            "duplicate_id": duplicate.pk,
            "target_id": target.pk,
            "link_id": link.pk,
            "messages": moved_messages,
            "attachments": moved_files,
            "requester_copied": copied,
        }
        events = [
            status_apply(
                duplicate,
                Status.CLOSED,
                actor=agent,
                contact=None,
                by_staff=True,
                channel=channel,
                at=now,
                data={"merged_into": target.pk},
            )
        ]
        duplicate.merged_into = target
        # On the duplicate, what its requester may read: that it was merged, not where to.
        closed = _(
            "This ticket was merged with another ticket about the same matter and is closed. "
            "Support continues the work there."
        )
        moved = _(
            "%(old)s was merged into this ticket (%(new)s); its messages and attachments are "
            "now here. Replies about it continue on this ticket."
        ) % {"old": old, "new": new}
        for ticket, kind, text in (
            (duplicate, EventKind.MERGED, closed),
            (target, EventKind.MERGED_IN, moved),
        ):
            message = Message.objects.create(
                tenant_id=ticket.tenant_id, ticket=ticket, author=agent,
                body=body_sanitize(text), is_public=True, channel=channel, created_at=now,
            )  # fmt: skip
            events.append(
                staff_event(
                    ticket, kind, agent, channel, old, new, message=message, at=now, data=data
                )
            )
        ticket_touch(duplicate, now)
        ticket_touch(target, now)
        sla_refresh(ticket=duplicate, now=now)
        sla_refresh(ticket=target, now=now)
        events_publish(events)
    return target
