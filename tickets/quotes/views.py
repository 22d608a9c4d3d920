"""The agent proposes a quote from the ticket page (the customer's answer is the portal's
``ticket_quote_decide``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supportdesk.access import agent_required
from supportdesk.forms import add_service_messages
from supportdesk.http import StaffRequest

from ..access import get_ticket_for_agent
from ..choices import Channel
from .forms import QuoteForm
from .services import quote_propose


@require_POST
@agent_required
def quote_new(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    form = QuoteForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    user = request.user
    try:
        quote_propose(
            ticket=ticket, agent=user, hours=form.cleaned_data["hours"],
            price=form.cleaned_data["price"], text=form.cleaned_data["text"],
            channel=Channel.PORTAL,
        )  # fmt: skip
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("The quote is proposed; the ticket waits on the customer."))
    return redirect("tickets:ticket", ticket_id=ticket.pk)
