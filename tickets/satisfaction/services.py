"""Customer satisfaction: "How did we do?" after a ticket is solved.

The question reaches the requester as two signed one-click links (good, bad), by e-mail
(:func:`notifications.channels.email.ask_for_rating`, off the status-solved event) and on the
portal's ticket page. A link names its ticket, the contact it was made for and the answer,
signed with :mod:`django.core.signing` under :data:`LINK_SALT`, and works for
:data:`LINK_MAX_AGE`; opening it records the answer at once. One rating per ticket: a later
answer replaces the earlier one, and each answer is an event on the ticket's timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact

from ..choices import Channel, Rating, Status
from ..events import event_record, events_publish
from ..models import EventKind, SatisfactionRating, Ticket

if TYPE_CHECKING:
    from ..models import TicketEvent

LINK_SALT = "tickets.satisfaction.rating-link"
"""Keeps these signatures apart from every other use of the secret key: a value signed for
anything else never passes as a rating link."""

LINK_MAX_AGE = dt.timedelta(days=30)
"""How long a rating link works after it was made (the mail goes out when the ticket is
solved): the window in which a later answer still replaces an earlier one."""

RATABLE_STATUSES = (Status.SOLVED, Status.CLOSED)
"""A rating is taken while the ticket is solved or closed; reopened, it waits for the next
solve, which asks again."""


class RatingLinkInvalid(Exception):  # noqa: N818 - a refusal the page shows, not a crash
    """A rating link that is tampered with, expired, of another ticket, or no longer
    answerable; ``str()`` says which, in the active language."""


def rating_link_token(*, ticket: Ticket, contact: Contact, rating: str) -> str:
    """The signed part of a rating link: ticket, contact and answer."""
    payload = {"t": ticket.pk, "c": contact.pk, "r": str(rating)}
    return signing.dumps(payload, salt=LINK_SALT)


def rating_link_path(*, ticket: Ticket, contact: Contact, rating: str) -> str:
    token = rating_link_token(ticket=ticket, contact=contact, rating=rating)
    return reverse("satisfaction:rate", kwargs={"ticket_id": ticket.pk, "rating_token": token})


def rating_link_paths(*, ticket: Ticket, contact: Contact) -> dict[str, str]:
    """``{"good": path, "bad": path}``: the two answers ``contact`` may give about ``ticket``."""
    return {
        str(rating): rating_link_path(ticket=ticket, contact=contact, rating=rating)
        for rating in Rating.values
    }


def rating_link_read(*, ticket: Ticket, token: str) -> tuple[Contact, str]:
    """The contact and answer a link for ``ticket`` carries. Caller holds the ticket's tenant
    scope. Raises :class:`RatingLinkInvalid` for a tampered or expired link, one made for
    another ticket, or one whose contact is gone."""
    try:
        payload: Any = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise RatingLinkInvalid(
            _("This link has expired: it worked for %(days)d days after the ticket was solved.")
            % {"days": LINK_MAX_AGE.days}
        ) from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise RatingLinkInvalid(_("This link is not valid: it was changed or cut short.")) from None
    if (
        not isinstance(payload, dict)
        or payload.get("t") != ticket.pk
        or payload.get("r") not in Rating.values
        or not isinstance(payload.get("c"), int)
    ):
        raise RatingLinkInvalid(_("This link is not valid for this ticket."))
    contact = Contact.objects.filter(pk=payload["c"]).first()
    if contact is None:
        raise RatingLinkInvalid(_("This link is not valid for this ticket."))
    return contact, payload["r"]


def satisfaction_asked(*, ticket: Ticket) -> bool:
    """Whether the portal should ask about ``ticket`` now: the tenant asks, the ticket is
    solved and nobody has answered yet."""
    if not ticket.tenant.satisfaction_survey or ticket.status != Status.SOLVED:
        return False
    return not SatisfactionRating.objects.filter(ticket=ticket).exists()


def satisfaction_rate(
    *,
    ticket: Ticket,
    contact: Contact,
    rating: str,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> SatisfactionRating:
    """Record ``contact``'s answer about ``ticket``, and ``comment`` when given.

    One row per ticket: a different answer replaces the earlier one (and its comment); the
    same answer again (the link opened twice) changes nothing and writes no event. Each
    change is an event on the ticket, in the same transaction. Caller holds the tenant scope
    and has checked the link (:func:`rating_link_read`). Raises :class:`RatingLinkInvalid`
    when the ticket is not solved or closed (reopened since the question was asked, or
    never solved).
    """
    if rating not in Rating.values:
        raise RatingLinkInvalid(_("This link is not valid for this ticket."))
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status not in RATABLE_STATUSES:
            raise RatingLinkInvalid(
                _(
                    "This ticket is not solved now, so it cannot be rated. We will ask again "
                    "when it is solved."
                )
            )
        now = now or timezone.now()
        row = SatisfactionRating.objects.filter(ticket=locked).first()
        events: list[TicketEvent] = []
        old = ""
        if row is None:
            row = SatisfactionRating(tenant_id=locked.tenant_id, ticket=locked)
        else:
            old = row.rating
        if row.rating != rating:
            row.rating, row.contact, row.rated_at, row.comment = rating, contact, now, ""
            events.append(_event(locked, contact, EventKind.RATED, old, rating, now))
        text = (comment or "").strip()
        if comment is not None and text != row.comment:
            row.comment = text
            row.contact = contact
            events.append(_event(locked, contact, EventKind.RATING_COMMENTED, "", text, now))
        if events:
            row.save()
            events_publish(events)
    return row


def _event(
    ticket: Ticket, contact: Contact, kind: str, old: str, new: str, at: dt.datetime
) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=kind,
        actor_contact=contact,
        channel=Channel.PORTAL,
        old=old,
        new=new,
        at=at,
    )
