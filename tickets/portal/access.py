"""How portal views fetch tickets and files: only those the logged-in contact may see.

A contact sees their own tickets and those they are copied on; a named contact sees every
ticket of their organisation (``Ticket.objects.for_contact``). Anything else, another
tenant's included, is a 404 exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from contracts.models import Contact
from supportdesk.forms import is_plain_number
from tickets.models import Attachment, Ticket


def portal_contact(request: HttpRequest) -> Contact:
    """The contact behind the request; views are already behind ``contact_required``."""
    contact: Any = getattr(request, "contact", None)
    if contact is None:
        raise Http404
    return contact


def tickets_for_contact(request: HttpRequest) -> Any:
    return Ticket.objects.for_contact(portal_contact(request))


def get_ticket_for_contact(request: HttpRequest, ticket_id: int) -> Ticket:
    return get_object_or_404(
        tickets_for_contact(request).select_related(
            "requester", "organisation", "priority", "assignee", "sla_policy", "request_type"
        ),
        pk=ticket_id,
    )


def merged_target_for_contact(request: HttpRequest, ticket: Ticket) -> Ticket | None:
    """The ticket ``ticket`` was merged into, if the contact may see it (None otherwise)."""
    if ticket.merged_into_id is None:
        return None
    return tickets_for_contact(request).filter(pk=ticket.merged_into_id).first()  # type: ignore[no-any-return]


def get_attachment_for_contact(request: HttpRequest, attachment_id: int) -> Attachment:
    """A file on a public message of a ticket the contact may see; internal notes' files
    stay internal."""
    return get_object_or_404(
        Attachment.objects.filter(
            ticket__in=tickets_for_contact(request), message__is_public=True
        ).select_related("ticket"),
        pk=attachment_id,
    )


def get_colleague_for_contact(request: HttpRequest, raw_id: str) -> Contact | None:
    """A contact of the same tenant as the signed-in contact, by an id from a form (None for
    anything else); whether they may be copied on a ticket is the service's rule."""
    contact = portal_contact(request)
    if not is_plain_number(raw_id) or len(raw_id) > 18:  # beyond a bigint: no such id
        return None
    return Contact.objects.filter(tenant_id=contact.tenant_id, pk=int(raw_id)).first()
