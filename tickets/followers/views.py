"""The copied-contact and follower boxes of the agent's ticket page (its own Follow button
is ``tickets.views.ticket_follow_toggle``). Each view: fetch with access check -> the form
finds the person -> one service -> redirect back to the ticket with what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from contracts.models import Contact
from supportdesk.access import agent_required
from supportdesk.forms import add_service_messages
from supportdesk.http import StaffRequest, TenantRequest

from ..access import get_ticket_for_agent
from ..choices import Channel
from .forms import CcForm, FollowerForm
from .services import ticket_cc_add, ticket_cc_remove, ticket_follow, ticket_unfollow


@dataclass(frozen=True)
class _Box:
    """One of the four forms: its form, the form field that names the person (also the
    service's word for them), the service, and what the page says when the service changed
    something and when it did not (with the person's name)."""

    form: type[CcForm | FollowerForm]
    field: str
    change: Callable[..., bool]
    changed: Promise
    unchanged: Promise


CC_ADD = _Box(
    CcForm,
    "contact",
    ticket_cc_add,
    _("%(name)s is now copied on the ticket."),
    _("%(name)s is already on the ticket."),
)
CC_REMOVE = _Box(
    CcForm,
    "contact",
    ticket_cc_remove,
    _("%(name)s is no longer copied on the ticket."),
    _("%(name)s was not copied on the ticket."),
)
FOLLOWER_ADD = _Box(
    FollowerForm,
    "agent",
    ticket_follow,
    _("%(name)s now follows this ticket."),
    _("%(name)s follows this ticket already."),
)
FOLLOWER_REMOVE = _Box(
    FollowerForm,
    "agent",
    ticket_unfollow,
    _("%(name)s no longer follows this ticket."),
    _("%(name)s did not follow this ticket."),
)


def _people_form(request: TenantRequest, ticket_id: int, box: _Box) -> HttpResponse:
    """The shared shape of the four forms: the form finds the person the POST names in the
    ticket's tenant, the service says whether anything changed, and the page says so. Bad
    input and refusals are error messages, and save nothing."""
    ticket = get_ticket_for_agent(request, ticket_id)
    form = box.form(request.POST, ticket=ticket)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    person: Any = form.cleaned_data[box.field]
    try:
        changed = box.change(
            ticket=ticket, **{box.field: person}, actor=request.user, channel=Channel.PORTAL
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        name = {"name": person.name if isinstance(person, Contact) else str(person)}
        if changed:
            messages.success(request, str(box.changed) % name)
        else:
            messages.error(request, str(box.unchanged) % name)
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def cc_add(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Copy a contact of the ticket's organisation (by e-mail address) on the ticket."""
    return _people_form(request, ticket_id, CC_ADD)


@require_POST
@agent_required
def cc_remove(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Stop copying a contact on the ticket."""
    return _people_form(request, ticket_id, CC_REMOVE)


@require_POST
@agent_required
def follower_add(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Add another agent or admin of the tenant as an internal follower."""
    return _people_form(request, ticket_id, FOLLOWER_ADD)


@require_POST
@agent_required
def follower_remove(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Take an internal follower off the ticket."""
    return _people_form(request, ticket_id, FOLLOWER_REMOVE)
