"""Followers and CC: who besides the requester hears about a ticket.

- **Copied contacts** (``Ticket.cc``): colleagues of the ticket's organisation, added in the
  portal, through the APIs or by the Cc header of a customer's mail. They see the ticket in
  the portal and get its public replies. A contact of another organisation or another tenant
  is never copied: that was a leak between customers.
- **Organisation followers** (``Contact.follows_organisation``): named contacts who get the
  public replies of all their organisation's tickets (they may see them all already).
- **Internal followers** (``Ticket.followers``): the tenant's agents and admins, mailed about
  public replies and internal notes.

Each change is one event on the ticket, in the transaction of the change; the mails hang off
the reply and note events (:mod:`notifications.channels.email`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from contracts.models import Contact, NamedContact
from contracts.services import contact_save
from supportdesk.models import Membership, User

from ..choices import Channel
from ..events import event_record, events_publish
from ..models import EventKind, Ticket

if TYPE_CHECKING:
    from ..models import TicketEvent

logger = logging.getLogger(__name__)

MAX_MAIL_CC = 20
"""Cc addresses of one mail looked at; a mail copying hundreds is a list, not colleagues."""


def _locked(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "requester", "organisation")
        .get(pk=ticket.pk)
    )


def _actor_check(ticket: Ticket, actor: User | None, actor_contact: Contact | None) -> bool:
    """Whether the actor is staff (True) or a contact who may see the ticket (False);
    anyone else is refused like an unknown ticket."""
    if actor_contact is not None:
        visible = Ticket.objects.for_contact(actor_contact).filter(pk=ticket.pk).exists()
        if actor_contact.tenant_id != ticket.tenant_id or not visible:
            raise ValidationError({"ticket": _("Unknown ticket.")})
        return False
    if actor is None or not _agents(ticket).filter(user=actor).exists():
        raise ValidationError({"actor": _("Only agents can change tickets.")})
    return True


def _agents(ticket: Ticket) -> QuerySet[Membership]:
    """The tenant's agents and admins (the tenant named too, not only the scope: fail-closed)."""
    return Membership.objects.agents().filter(tenant_id=ticket.tenant_id)


@dataclass(frozen=True)
class _People:
    """One of the ticket's lists of people: its field, the events of a change and who sees them."""

    field: str
    added: EventKind
    removed: EventKind
    key: str
    public: bool


_CC = _People("cc", EventKind.CC_ADDED, EventKind.CC_REMOVED, "contact_id", public=True)
_FOLLOWERS = _People("followers", EventKind.FOLLOWED, EventKind.UNFOLLOWED, "user_id", public=False)


def _people_change(
    *,
    ticket: Ticket,
    people: _People,
    person: Contact | User,
    add: bool,
    changes: Callable[[Ticket], bool],
    actor: User | None,
    actor_contact: Contact | None,
    channel: str,
) -> bool:
    """Add ``person`` to one of the ticket's lists or take them off it, the shared shape of
    :func:`ticket_cc_add`, :func:`ticket_cc_remove`, :func:`ticket_follow` and
    :func:`ticket_unfollow`: lock the ticket, check the actor, ask ``changes`` about the
    locked ticket (it raises ValidationError to refuse the person, and answers False when they
    are on the list already, or were not on it, so that nothing is written), change the list,
    and write its event in the same transaction."""
    with transaction.atomic():
        locked = _locked(ticket)
        by_staff = _actor_check(locked, actor, actor_contact)
        if not changes(locked):
            return False
        on_ticket = getattr(locked, people.field)
        (on_ticket.add if add else on_ticket.remove)(person)
        name = person.name if isinstance(person, Contact) else str(person)
        event = event_record(
            ticket=locked, kind=people.added if add else people.removed, actor=actor,
            actor_contact=actor_contact, by_staff=by_staff, channel=channel,
            new=name if add else "", old="" if add else name, is_public=people.public,
            data={people.key: person.pk},
        )  # fmt: skip
        events_publish([event])
    return True


def contact_may_be_copied(*, ticket: Ticket, contact: Contact) -> bool:
    """A contact of the ticket's own organisation, in its tenant."""
    return (
        contact.tenant_id == ticket.tenant_id
        and ticket.organisation_id is not None
        and contact.organisation_id == ticket.organisation_id
    )


def cc_candidates(*, ticket: Ticket) -> list[Contact]:
    """The colleagues who could be copied: the organisation's contacts not on it yet."""
    if ticket.organisation_id is None:
        return []
    on_it = [ticket.requester_id, *ticket.cc.values_list("pk", flat=True)]
    return list(
        Contact.objects.filter(tenant_id=ticket.tenant_id, organisation_id=ticket.organisation_id)
        .exclude(pk__in=on_it)
        .order_by("name", "pk")
    )


def copied_contacts(*, ticket: Ticket) -> QuerySet[Contact]:
    """The contacts copied on the ticket, by name: as the pages and both APIs list them."""
    return ticket.cc.order_by("name", "pk")


def ticket_cc_add(
    *,
    ticket: Ticket,
    contact: Contact,
    actor: User | None = None,
    actor_contact: Contact | None = None,
    channel: str = Channel.PORTAL,
) -> bool:
    """Copy ``contact`` on ``ticket``; False when they are on it already (nothing written).

    Preconditions: ``contact`` belongs to the ticket's organisation and tenant; the actor is
    an agent of the tenant or a contact who may see the ticket. Locks the ticket; writes a
    public event in the same transaction."""

    def changes(locked: Ticket) -> bool:
        if not contact_may_be_copied(ticket=locked, contact=contact):
            raise ValidationError(
                {"contact": _("Only colleagues of the ticket's organisation can be copied.")}
            )
        return contact.pk != locked.requester_id and not locked.cc.filter(pk=contact.pk).exists()

    return _people_change(
        ticket=ticket, people=_CC, person=contact, add=True, changes=changes,
        actor=actor, actor_contact=actor_contact, channel=channel,
    )  # fmt: skip


def ticket_cc_remove(
    *,
    ticket: Ticket,
    contact: Contact,
    actor: User | None = None,
    actor_contact: Contact | None = None,
    channel: str = Channel.PORTAL,
) -> bool:
    """Stop copying ``contact`` on ``ticket``; False when they were not copied.

    Preconditions as :func:`ticket_cc_add` for the actor; the requester is never copied, so
    cannot be removed. Locks the ticket; writes a public event in the same transaction."""

    def changes(locked: Ticket) -> bool:
        return contact.tenant_id == locked.tenant_id and locked.cc.filter(pk=contact.pk).exists()

    return _people_change(
        ticket=ticket, people=_CC, person=contact, add=False, changes=changes,
        actor=actor, actor_contact=actor_contact, channel=channel,
    )  # fmt: skip


@dataclass
class MailCopies:
    """What the Cc header of one mail did: who was copied and which addresses were not."""

    added: list[Contact] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def ticket_cc_from_mail(
    *, ticket: Ticket, addresses: Iterable[str], sender: Contact, own: Iterable[str] = ()
) -> MailCopies:
    """Copy the contacts of the ticket's organisation a customer's mail had in Cc.

    Strict: an address is copied only when it is a contact of this tenant in the ticket's own
    organisation. Unknown addresses and other organisations' contacts are ignored (no contact
    is made for them) and said in the event's data and the log; our own addresses are
    skipped. Preconditions: caller holds the tenant scope; ``sender`` may see the ticket."""
    ours = {a.lower() for a in own}
    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a and a.strip()))
    wanted = [a for a in wanted if a not in ours and a != sender.email.lower()][:MAX_MAIL_CC]
    result = MailCopies()
    if not wanted:
        return result
    with transaction.atomic():
        locked = _locked(ticket)
        _actor_check(locked, None, sender)
        by_address = Q()
        for address in wanted:  # e-mail is unique per tenant whatever its case
            by_address |= Q(email__iexact=address)
        contacts = {
            c.email.lower(): c
            for c in Contact.objects.filter(by_address, tenant_id=locked.tenant_id)
        }
        copied = set(locked.cc.values_list("pk", flat=True)) | {locked.requester_id}
        for address in wanted:
            contact = contacts.get(address)
            if contact is None or not contact_may_be_copied(ticket=locked, contact=contact):
                result.ignored.append(address)
            elif contact.pk not in copied:
                result.added.append(contact)
                copied.add(contact.pk)
        events: list[TicketEvent] = []
        if result.added:
            locked.cc.add(*result.added)
            events = [
                event_record(
                    ticket=locked,
                    kind=EventKind.CC_ADDED,
                    actor_contact=sender,
                    channel=Channel.EMAIL,
                    new=contact.name,
                    data={"contact_id": contact.pk, "ignored": result.ignored},
                )  # fmt: skip
                for contact in result.added
            ]
        elif result.ignored:
            # Nothing changed, but what was left out is kept on the ticket for staff.
            events = [
                event_record(
                    ticket=locked,
                    kind=EventKind.CC_ADDED,
                    actor_contact=sender,
                    channel=Channel.EMAIL,
                    is_public=False,
                    data={"ignored": result.ignored},
                )  # fmt: skip
            ]
        events_publish(events)
    if result.ignored:
        logger.info(
            "ticket %s: Cc addresses not copied (unknown or another organisation): %s",
            ticket.pk,
            ", ".join(result.ignored),
        )
    return result


def ticket_follow(
    *, ticket: Ticket, agent: User, actor: User, channel: str = Channel.PORTAL
) -> bool:
    """Make ``agent`` an internal follower; False when they follow already.

    Preconditions: ``actor`` and ``agent`` are agents or admins of the ticket's tenant (an
    agent follows for themselves; any agent may add a colleague). Locks the ticket; writes an
    internal event in the same transaction."""

    def changes(locked: Ticket) -> bool:
        if not _agents(locked).filter(user=agent).exists():
            raise ValidationError({"agent": _("Only agents of this organisation can follow.")})
        return not locked.followers.filter(pk=agent.pk).exists()

    return _people_change(
        ticket=ticket, people=_FOLLOWERS, person=agent, add=True, changes=changes,
        actor=actor, actor_contact=None, channel=channel,
    )  # fmt: skip


def ticket_unfollow(
    *, ticket: Ticket, agent: User, actor: User, channel: str = Channel.PORTAL
) -> bool:
    """Stop ``agent`` following; False when they did not. Preconditions: ``actor`` is an
    agent of the tenant. Locks the ticket; writes an internal event in the same transaction."""

    def changes(locked: Ticket) -> bool:
        return locked.followers.filter(pk=agent.pk).exists()

    return _people_change(
        ticket=ticket, people=_FOLLOWERS, person=agent, add=False, changes=changes,
        actor=actor, actor_contact=None, channel=channel,
    )  # fmt: skip


def contact_follow_organisation(
    *, contact: Contact, follows: bool, actor: User | None = None
) -> Contact:
    """Turn on or off that ``contact`` gets the public replies of all their organisation's
    tickets. Precondition for turning it on: a named contact of their organisation (who may
    see those tickets); turning it off is always allowed."""
    if follows and (
        contact.organisation_id is None or not NamedContact.objects.filter(contact=contact).exists()
    ):
        raise ValidationError(
            {
                "follows_organisation": _(
                    "Only named contacts can follow the organisation's tickets."
                )
            }
        )
    contact.follows_organisation = follows
    return contact_save(contact=contact, actor=actor)  # validated and audited


def internal_followers(*, ticket: Ticket) -> list[User]:
    """The ticket's followers who are still agents or admins of its tenant."""
    agents = _agents(ticket).filter(user__in=ticket.followers.all())
    return [m.user for m in agents.select_related("user").order_by("user_id")]


def organisation_followers(*, ticket: Ticket) -> list[Contact]:
    """The named contacts of the ticket's organisation who follow its tickets."""
    if ticket.organisation_id is None:
        return []
    return list(
        Contact.objects.filter(
            tenant_id=ticket.tenant_id,
            organisation_id=ticket.organisation_id,
            follows_organisation=True,
            named_on__isnull=False,
        )
        .distinct()
        .order_by("pk")
    )
