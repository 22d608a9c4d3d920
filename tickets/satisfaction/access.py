"""The ticket a rating link names: anyone holding the link may use it (it was mailed to the
customer), so the signature is the check; the ticket comes from the request's tenant only,
and another tenant's ticket is a 404 like one that does not exist."""

from __future__ import annotations

from django.http import Http404

from supportdesk.http import TenantRequest

from ..models import Ticket


def get_ticket_for_rating_link(request: TenantRequest, ticket_id: int) -> Ticket:
    if request.tenant is None:
        raise Http404
    ticket = (
        Ticket.objects.select_related("tenant").filter(tenant=request.tenant, pk=ticket_id).first()
    )
    if ticket is None:
        raise Http404
    return ticket
