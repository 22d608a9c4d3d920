"""Fetching tickets per role: "not yours" and "does not exist" are the same 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from .models import Attachment, Ticket


def get_ticket_for_agent(request: HttpRequest, ticket_id: int) -> Ticket:
    """A ticket of the request's tenant for its staff (the caller checked the role)."""
    req: Any = request
    if req.membership is None:
        raise Http404
    ticket = (
        Ticket.objects.select_related(
            "requester", "organisation", "priority", "assignee", "sla_policy", "tenant"
        )
        .filter(tenant=req.tenant, pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def get_ticket_for_contact(request: HttpRequest, ticket_id: int) -> Ticket:
    """A ticket the logged-in customer may see (own, copied, or their organisation's as a
    named contact)."""
    req: Any = request
    if req.contact is None:
        raise Http404
    ticket = (
        Ticket.objects.for_contact(req.contact)
        .select_related("requester", "organisation", "priority")
        .filter(tenant=req.tenant, pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def get_attachment_for_agent(request: HttpRequest, attachment_id: int) -> Attachment:
    req: Any = request
    if req.membership is None:
        raise Http404
    attachment = Attachment.objects.filter(tenant=req.tenant, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment
