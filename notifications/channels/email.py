"""The e-mail channel: who hears about a ticket event by mail, through the mail outbox
(``tickets/mail/services/outbox.py``). Registered from
:class:`notifications.apps.NotificationsConfig`.

Customers hear about support's public replies and about their ticket waiting on them, being
solved or closed; agents hear about new tickets and customer replies. Each notification's
outbox key names the event and the recipient, so a re-run of the handlers sends nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.safestring import mark_safe
from django.utils.text import format_lazy

from supportdesk.models import Membership, User
from tickets.choices import Rating, Status
from tickets.followers.services import internal_followers, organisation_followers
from tickets.mail.models import OutboundKind
from tickets.mail.services import agents_to_notify, ticket_mail_to_agents, ticket_mail_to_contact
from tickets.mail.services.outbox import tenant_url
from tickets.models import EventKind, Message, NotifyRole, Ticket, TicketEvent
from tickets.richtext import images_as_links
from tickets.satisfaction.services import LINK_MAX_AGE, rating_link_path

if TYPE_CHECKING:
    from contracts.models import Contact

# Status changes a customer is told about by mail, and with which template.
CUSTOMER_STATUS_MAILS = {
    Status.PENDING: (OutboundKind.STATUS_CHANGED, "status_pending"),
    Status.SOLVED: (OutboundKind.SOLVED, "solved"),
    Status.CLOSED: (OutboundKind.STATUS_CHANGED, "status_closed"),
}


def _agents_except_actor(event: TicketEvent) -> list[User]:
    """Agents to tell, without the one who did it (an agent logging a call knows already)."""
    return [a for a in agents_to_notify(ticket=event.ticket) if a.pk != event.actor_id]


def _contacts(ticket: Ticket, *, exclude: Contact | None, followers: bool = False) -> list[Contact]:
    """Requester and copied contacts, once each; with ``followers``, also the named contacts
    who follow the organisation's tickets (public replies only)."""
    people = [ticket.requester, *ticket.cc.all()]
    if followers:
        people += organisation_followers(ticket=ticket)
    seen: set[int] = set()
    out = []
    for contact in people:
        if contact.pk in seen or (exclude is not None and contact.pk == exclude.pk):
            continue
        seen.add(contact.pk)
        out.append(contact)
    return out


def _message_context(message: Message) -> dict[str, object]:
    """A message quoted in a mail: its text for the text part, its stored sanitized HTML for
    the HTML part (the same markup the portal and the agent page show, but with inline
    images as links to them: a mail client has no session to load them with)."""
    html = images_as_links(message.body_html(), message.ticket.tenant.base_url())
    return {
        "text": message.plain_text(),
        "html": mark_safe(html),  # noqa: S308 - sanitized by nh3 when stored
        "author": message.author_name,
    }


def notify_by_mail(event: TicketEvent) -> None:
    """Turn one ticket event into the mails it causes (often none)."""
    ticket = event.ticket
    if event.kind == EventKind.CREATED:
        ticket_mail_to_agents(
            ticket=ticket,
            agents=_agents_except_actor(event),
            key=f"event:{event.pk}",
            kind=OutboundKind.AGENT_NEW_TICKET,
            context={"text": ticket.description},
        )
    elif event.kind == EventKind.ROUTED:
        _routing_notice(event)
    elif event.kind == EventKind.REPLIED and event.message is not None:
        _reply(event, event.message)
    elif event.kind == EventKind.NOTE_ADDED and event.message is not None:
        _to_followers(event, event.message, exclude=set())
    elif event.kind in (EventKind.MERGED, EventKind.MERGED_IN) and event.message is not None:
        _merge_notice(event, event.message)
    elif event.kind == EventKind.STATUS_CHANGED and event.data.get("merged_into"):
        return  # a merge closed it: the MERGED event's notice says so, not "closed"
    elif event.kind == EventKind.STATUS_CHANGED and event.by_staff:
        kind_template = CUSTOMER_STATUS_MAILS.get(event.new_value)  # type: ignore[call-overload]
        if kind_template is None:
            return
        kind, template = kind_template
        if event.new_value == Status.PENDING and ticket.billable and not ticket.billing_accepted:
            # Waiting on them to accept a charge a conversion asked for: the mail says so.
            template = "billing_acceptance"
        for contact in _contacts(ticket, exclude=None):
            ticket_mail_to_contact(
                ticket=ticket,
                contact=contact,
                key=f"event:{event.pk}:to:{contact.pk}",
                kind=kind,
                template=template,
                context={},
            )
        ask_for_rating(event)


def _routing_notice(event: TicketEvent) -> None:
    """Mail the people a routing rule named (account manager, Customer Success Manager …),
    once each, with the roles they hold. Only those still on the tenant's staff: the
    organisation may have changed hands since the ticket was filed."""
    people = {p["user_id"]: p for p in event.data.get("notify", []) if p.get("user_id")}
    if not people:
        return
    staff = Membership.objects.filter(user_id__in=people).values("user_id")
    labels = dict(NotifyRole.choices)
    for user in User.objects.filter(pk__in=staff):
        person = people[user.pk]
        roles = person.get("roles", [])
        ticket_mail_to_agents(
            ticket=event.ticket,
            agents=[user],
            key=f"event:{event.pk}",
            kind=OutboundKind.ROUTING_NOTICE,
            context={
                "text": event.ticket.description,
                # Lazy: each recipient reads the roles in their own language.
                "roles": format_lazy(
                    ", ".join("{}" for _role in roles),
                    *(labels.get(role, role) for role in roles),
                ),
                "rules": ", ".join(person.get("rules", [])),
            },
        )


def _reply(event: TicketEvent, message: Message) -> None:
    ticket = event.ticket
    if not message.is_public:
        return
    if event.by_staff or message.author_contact_id is None:
        _to_followers(event, message, exclude=set())
        for contact in _contacts(ticket, exclude=None, followers=True):
            ticket_mail_to_contact(
                ticket=ticket,
                contact=contact,
                key=f"event:{event.pk}:to:{contact.pk}",
                kind=OutboundKind.REPLY,
                template="reply",
                context=_message_context(message),
            )
        return
    told = agents_to_notify(ticket=ticket)
    ticket_mail_to_agents(
        ticket=ticket,
        agents=told,
        key=f"event:{event.pk}",
        kind=OutboundKind.AGENT_CUSTOMER_REPLY,
        context=_message_context(message),
    )
    _to_followers(event, message, exclude={a.pk for a in told})
    # Others copied on the ticket see what the customer wrote, like on a mailing thread; we
    # relay it, no person at our end wrote it, so it says it is automatic (RELAYED_REPLY).
    # Only public messages get here: automatic mail is kept as internal notes, never relayed.
    for contact in _contacts(ticket, exclude=message.author_contact, followers=True):
        ticket_mail_to_contact(
            ticket=ticket,
            contact=contact,
            key=f"event:{event.pk}:to:{contact.pk}",
            kind=OutboundKind.RELAYED_REPLY,
            template="reply",
            context=_message_context(message),
        )


def _to_followers(event: TicketEvent, message: Message, *, exclude: set[int]) -> None:
    """A reply or a note to the ticket's internal followers, but not to its author nor to
    agents already told (``exclude``). Automatic notes (nobody wrote them: an out-of-office
    kept on the ticket) go to nobody, so mail never answers mail."""
    if message.author_id is None and message.author_contact_id is None:
        return
    skip = {*exclude, event.actor_id, message.author_id}
    followers = [a for a in internal_followers(ticket=event.ticket) if a.pk not in skip]
    ticket_mail_to_agents(
        ticket=event.ticket,
        agents=followers,
        key=f"event:{event.pk}:follower",
        kind=OutboundKind.AGENT_FOLLOWER,
        context={**_message_context(message), "internal": not message.is_public},
    )


def _merge_notice(event: TicketEvent, message: Message) -> None:
    """A merge's public note: on the target to its requester and copied contacts (the
    duplicate's requester among them when copied); on the duplicate to its contacts who are
    not on the target, who learn only that it was merged."""
    ticket = event.ticket
    contacts = _contacts(ticket, exclude=None)
    if event.kind == EventKind.MERGED:
        target = Ticket.objects.filter(pk=event.data.get("target_id")).first()
        if target is not None:
            on_target = {c.pk for c in _contacts(target, exclude=None)}
            contacts = [c for c in contacts if c.pk not in on_target]
    for contact in contacts:
        ticket_mail_to_contact(
            ticket=ticket,
            contact=contact,
            key=f"event:{event.pk}:to:{contact.pk}",
            kind=OutboundKind.REPLY,
            template="reply",
            context=_message_context(message),
        )


def ask_for_rating(event: TicketEvent) -> None:
    """After a ticket is solved, ask its requester "How did we do?" with two one-click links.

    A branch of :func:`notify_by_mail`, not a handler of its own: each registered handler
    costs a delivery row for every event of every ticket, and this one acts on one kind.

    Solved by support only: a customer solving their own ticket is asked on the portal page.
    Once per solve: the outbox key names the status event, so a second run of the handler
    (the relay retrying, the sweep) sends nothing new, and a ticket solved again after it
    was reopened asks again. Not when the tenant has the question turned off, nor when the
    ticket was reopened before this ran.
    """
    solved = event.kind == EventKind.STATUS_CHANGED and event.new_value == Status.SOLVED
    # A customer who marks their own ticket solved gets no mail about it (as with the
    # "solved" notice); the portal page they are on asks instead.
    if not solved or not event.by_staff:
        return
    ticket = event.ticket
    if not ticket.tenant.satisfaction_survey or ticket.status not in (Status.SOLVED,):
        return
    contact = ticket.requester
    links = {
        f"{rating}_url": tenant_url(
            ticket.tenant, rating_link_path(ticket=ticket, contact=contact, rating=rating)
        )
        for rating in Rating.values
    }
    ticket_mail_to_contact(
        ticket=ticket,
        contact=contact,
        key=f"satisfaction:event:{event.pk}",
        kind=OutboundKind.SATISFACTION,
        template="satisfaction",
        context={**links, "link_days": LINK_MAX_AGE.days},
    )
