"""Fetching tickets for staff: "not yours" and "does not exist" are the same 404.

The customer side's helpers (``get_ticket_for_contact`` and friends) live in
``tickets/portal/access.py`` beside the portal views that use them.
"""

from __future__ import annotations

from django.http import Http404

from supportdesk.forms import is_plain_number
from supportdesk.http import TenantRequest
from supportdesk.models import Role

from .models import Attachment, QueueView, QueueViewQuerySet, Ticket


def get_ticket_for_agent(request: TenantRequest, ticket_id: int) -> Ticket:
    """A ticket of the request's tenant for its staff (the caller checked the role)."""
    if request.membership is None:
        raise Http404
    ticket = (
        Ticket.objects.select_related(
            "requester",
            "organisation",
            "priority",
            "assignee",
            "sla_policy",
            "tenant",
            "merged_into",
            "request_type",
            "problem",
        )
        .filter(tenant=request.tenant, pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def get_attachment_for_agent(request: TenantRequest, attachment_id: int) -> Attachment:
    if request.membership is None:
        raise Http404
    attachment = Attachment.objects.filter(tenant=request.tenant, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment


def find_ticket_for_agent(request: TenantRequest, reference: str) -> Ticket | None:
    """The ticket of the request's tenant an agent typed: its reference ("TA-1002") or its
    number ("1002", "#1002"). None for anything else, another tenant's reference included."""
    if request.membership is None:
        return None
    text = reference.strip().lstrip("#")
    tickets = Ticket.objects.filter(tenant=request.tenant)
    if is_plain_number(text):
        return tickets.filter(number=int(text)).first() if len(text) <= 9 else None
    return tickets.filter(reference__iexact=text[:24]).first() if text else None


def queue_views_for_agent(request: TenantRequest) -> QueueViewQuerySet:
    """The saved queue views the signed-in staff member may use: shared, and their own."""
    if request.membership is None:
        raise Http404
    return QueueView.objects.filter(tenant=request.tenant).usable_by(request.user)


def get_queue_view_for_agent(request: TenantRequest, view_id: int) -> QueueView:
    """A saved view the staff member may use; another agent's or tenant's is a 404."""
    view = queue_views_for_agent(request).filter(pk=view_id).first()
    if view is None:
        raise Http404
    return view


def get_queue_view_to_delete(request: TenantRequest, view_id: int) -> QueueView:
    """One's own saved view, or for an admin a shared one; anything else is a 404."""
    view = get_queue_view_for_agent(request, view_id)
    if view.is_shared and (request.membership is None or request.membership.role != Role.ADMIN):
        raise Http404
    return view
