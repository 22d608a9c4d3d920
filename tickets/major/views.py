"""The major incident buttons of the agent's ticket page: declare, link an affected ticket,
post one status update to all of them, end it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from supportdesk.access import agent_required
from supportdesk.forms import add_service_messages
from supportdesk.http import StaffRequest

from ..access import get_ticket_for_agent
from ..choices import Channel
from ..views import typed_ticket
from .forms import MajorLinkForm, MajorUpdateForm
from .services import (
    major_incident_link,
    major_incident_update,
    ticket_declare_major_incident,
    ticket_end_major_incident,
)


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")


@require_POST
@agent_required
def major_declare(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    user = request.user
    try:
        ticket_declare_major_incident(ticket=ticket, actor=user, channel=Channel.PORTAL)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("%(ref)s is a major incident.") % {"ref": ticket.reference})
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def major_end(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    user = request.user
    try:
        ticket_end_major_incident(ticket=ticket, actor=user, channel=Channel.PORTAL)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(
            request, _("%(ref)s is no longer a major incident.") % {"ref": ticket.reference}
        )
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def major_link(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    form = MajorLinkForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    child = typed_ticket(request, form.cleaned_data["other"])
    if child is None:
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    user = request.user
    try:
        major_incident_link(ticket=ticket, child=child, actor=user, channel=Channel.PORTAL)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Linked."))
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def major_update(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    form = MajorUpdateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    user = request.user
    try:
        posted = major_incident_update(
            ticket=ticket, actor=user, body=form.cleaned_data["body"], channel=Channel.PORTAL,
            markdown=True,
        )  # fmt: skip
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        count = len(posted) - 1
        messages.success(
            request,
            ngettext(
                "The update is posted here and to %(count)s linked ticket.",
                "The update is posted here and to %(count)s linked tickets.",
                count,
            )
            % {"count": count},
        )
    return redirect("tickets:ticket", ticket_id=ticket.pk)
