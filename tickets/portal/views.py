"""The customer portal: a contact's tickets, filing one, following it, the contract page,
and logging in with a one-time link.

Every ticket view fetches through :mod:`tickets.portal.access` (404 for anything not the
contact's), parses a form, calls one service and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contracts.access import get_contact_for_admin
from contracts.http import PortalRequest
from sla.models import Priority
from supportdesk.access import admin_required, contact_required
from supportdesk.api import MAX_ID
from supportdesk.forms import add_service_errors, is_plain_number
from supportdesk.http import StaffRequest, TenantRequest
from tickets.attachments import attachment_response
from tickets.choices import Channel, Status
from tickets.filing import Filing, ticket_file
from tickets.followers.services import (
    cc_candidates,
    contact_follow_organisation,
    copied_contacts,
    ticket_cc_add,
    ticket_cc_remove,
)
from tickets.models import ACTIVE_STATUSES, Ticket
from tickets.quotes.services import quote_accept, quote_decline
from tickets.reviews.services import shared_review
from tickets.satisfaction.services import rating_link_paths, satisfaction_asked
from tickets.services import (
    ticket_billing_accept,
    ticket_billing_decline,
    ticket_change_status,
    ticket_reply,
)
from tickets.views import reply_preview_render

from . import services
from .access import (
    get_attachment_for_contact,
    get_colleague_for_contact,
    get_ticket_for_contact,
    merged_target_for_contact,
    portal_contact,
    tickets_for_contact,
)
from .forms import LoginLinkForm, ReplyForm, TicketForm

PAGE_SIZE = 25

# Status filters of the list, by the word in the query string.
LIST_FILTERS = {
    "open": ACTIVE_STATUSES,
    "solved": (Status.SOLVED, Status.CLOSED),
}


@contact_required
def ticket_list(request: PortalRequest) -> HttpResponse:
    """The contact's tickets; a named contact's list holds the whole organisation's."""
    contact = portal_contact(request)
    show = request.GET.get("show", "open")
    tickets = tickets_for_contact(request).select_related("requester", "priority")
    if show in LIST_FILTERS:
        tickets = tickets.filter(status__in=LIST_FILTERS[show])
    page = Paginator(tickets.order_by("-received_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    is_named = services.contact_sees_organisation(contact=contact)
    return render(
        request,
        "portal/ticket_list.html",
        {"page": page, "show": show, "is_named": is_named, "contact": contact},
    )


def _picked_type(form: TicketForm) -> Any:
    """The request type chosen in the form's data, if it is one of the plan's table."""
    raw = str(form.data.get("request_type") or "")
    if not is_plain_number(raw) or int(raw) > MAX_ID:
        return None
    return next((r.request_type for r in form.scope if r.request_type_id == int(raw)), None)


def _preview(request: HttpRequest, form: TicketForm) -> services.FilingPreview:
    contact = portal_contact(request)
    request_type = _picked_type(form)
    if request_type is not None:
        return services.filing_preview(
            contact=contact,
            category=request_type.category,
            priority=_priority_of(form),
            request_type=request_type,
        )
    category = form.data.get("category") or form.initial.get("category") or "question"
    priority = _priority_of(form)
    try:
        return services.filing_preview(contact=contact, category=category, priority=priority)
    except ValidationError:
        return services.filing_preview(contact=contact, category="question", priority=priority)


def _priority_of(form: TicketForm) -> Priority | None:
    raw_priority = str(form.data.get("priority") or "")
    if is_plain_number(raw_priority) and int(raw_priority) <= MAX_ID:
        return Priority.objects.filter(pk=int(raw_priority)).first()
    return None


@contact_required
def ticket_new(request: PortalRequest) -> HttpResponse:
    """File a ticket. The entitlement check decides: refused with reasons, billable with a
    warning to accept, or accepted with the promised first-response time."""
    contact = portal_contact(request)
    scope = services.filing_scope_table(contact=contact)
    form = TicketForm(
        request.POST or None, request.FILES or None, initial={"category": "question"}, scope=scope
    )
    filing = Filing()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filing = ticket_file(
            tenant=contact.tenant,
            requester=contact,
            subject=data["subject"],
            description=data["description"],
            channel=Channel.PORTAL,
            category=data["category"] or "question",
            request_type=data["request_type"],
            priority=data["priority"],
            actor=request.user,
            attachments=data["attachments"],
            accepted_billable=data["accept_billable"],
        )
        if filing.ticket is not None:
            messages.success(request, _filed_message(filing.ticket))
            return redirect("portal:ticket-detail", ticket_id=filing.ticket.pk)
        if filing.requires_acceptance:
            form.add_error(
                "accept_billable", _("Accept the charge to file this request, or change it.")
            )
        if filing.errors is not None:
            add_service_errors(form, filing.errors)
    context = {
        "form": form,
        "preview": _preview(request, form),
        "refusal": filing.reasons if filing.refused else [],
        "priorities": Priority.objects.order_by("rank"),
    }
    return render(request, "portal/ticket_new.html", context)


def _filed_message(ticket: Ticket) -> str:
    promise = services.promise_text(due=ticket.first_response_due(), tenant=ticket.tenant)
    if promise:
        text = _("Ticket %(reference)s is filed. You will get a first response by %(when)s.")
    else:
        text = _("Ticket %(reference)s is filed.")
    return text % {"reference": ticket.reference, "when": promise}


@contact_required
def ticket_preview(request: PortalRequest) -> HttpResponse:
    """The entitlement and promise box of the filing form, refreshed as the form changes."""
    scope = services.filing_scope_table(contact=portal_contact(request))
    form = TicketForm(request.GET or None, initial={"category": "question"}, scope=scope)
    return render(request, "portal/_preview_response.html", {"preview": _preview(request, form)})


@contact_required
def ticket_detail(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """One ticket. A merged one leads to the ticket it was merged into when the contact may
    see that; otherwise it says it was merged and shows nothing of the other ticket."""
    ticket = get_ticket_for_contact(request, ticket_id)
    if ticket.merged_into_id is not None:
        target = merged_target_for_contact(request, ticket)
        if target is not None:
            return redirect("portal:ticket-detail", ticket_id=target.pk)
        return render(request, "portal/ticket_merged.html", {"ticket": ticket})
    return render(request, "portal/ticket_detail.html", _detail_context(request, ticket))


def _detail_context(request: HttpRequest, ticket: Any, form: ReplyForm | None = None) -> dict:
    return {
        "ticket": ticket,
        "timeline": services.ticket_timeline(ticket=ticket),
        "first_response_due": ticket.first_response_due(),
        "resolution_due": ticket.resolution_due(),
        "promise": services.promise_text(due=ticket.first_response_due(), tenant=ticket.tenant),
        "cycle_promises": services.cycle_promises(ticket=ticket),
        "form": form or ReplyForm(),
        "actions": services.contact_status_actions(ticket=ticket),
        "cc": copied_contacts(ticket=ticket),
        "cc_candidates": cc_candidates(ticket=ticket),
        "quotes": list(ticket.quotes.all()),
        "review": shared_review(ticket=ticket),
        "rating_links": rating_link_paths(ticket=ticket, contact=portal_contact(request))
        if satisfaction_asked(ticket=ticket)
        else None,
    }


@require_POST
@contact_required
def ticket_reply_add(request: PortalRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_contact(request, ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            ticket_reply(
                ticket=ticket,
                body=form.cleaned_data["body"],
                public=True,
                channel=Channel.PORTAL,
                author=request.user,
                author_contact=portal_contact(request),
                attachments=form.cleaned_data["attachments"],
                markdown=True,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your reply was added."))
            return redirect("portal:ticket-detail", ticket_id=ticket.pk)
    context = _detail_context(request, ticket, form)
    return render(request, "portal/ticket_detail.html", context, status=400)


@require_POST
@contact_required
def ticket_reply_preview(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """The reply box's live preview, through the renderer the reply is stored with."""
    get_ticket_for_contact(request, ticket_id)
    return reply_preview_render(request)


@require_POST
@contact_required
def ticket_status_change(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """Close (solved), confirm closed, or reopen, as the customer may."""
    ticket = get_ticket_for_contact(request, ticket_id)
    status = request.POST.get("status", "")
    try:
        ticket_change_status(
            ticket=ticket,
            status=status,
            actor=request.user,
            channel=Channel.PORTAL,
            contact=portal_contact(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The ticket is now %(status)s.") % {"status": Status(status).label.lower()}
        )
    return redirect("portal:ticket-detail", ticket_id=ticket.pk)


def _decide(
    request: HttpRequest,
    ticket_id: int,
    *,
    services: dict[str, Callable[..., Any]],
    refused: str,
    answers: dict[str, str],
) -> HttpResponse:
    """The customer's accept/decline of a question put to them on a ticket: ``services``
    and ``answers`` by the posted ``decision``; ``refused`` when it is neither."""
    ticket = get_ticket_for_contact(request, ticket_id)
    decision = request.POST.get("decision", "")
    decide = services.get(decision)
    if decide is None:
        messages.error(request, refused)
        return redirect("portal:ticket-detail", ticket_id=ticket.pk)
    try:
        decide(ticket=ticket, contact=portal_contact(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, answers[decision])
    return redirect("portal:ticket-detail", ticket_id=ticket.pk)


@require_POST
@contact_required
def ticket_billing_decide(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """Accept or decline the charge a conversion of the ticket asked for."""
    return _decide(
        request,
        ticket_id,
        services={"accept": ticket_billing_accept, "decline": ticket_billing_decline},
        refused=_("Choose to accept or to decline the charge."),
        answers={
            "accept": _("You accepted the charge; we go on with the work."),
            "decline": _("You declined the charge; the ticket stays what it was."),
        },
    )


@require_POST
@contact_required
def ticket_quote_decide(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """Accept or decline the quote waiting on the ticket."""
    return _decide(
        request,
        ticket_id,
        services={"accept": quote_accept, "decline": quote_decline},
        refused=_("Choose to accept or to decline the quote."),
        answers={
            "accept": _("You accepted the quote; we go on with the work."),
            "decline": _("You declined the quote; no more billed work is done without your say."),
        },
    )


def _cc_change(request: HttpRequest, ticket_id: int, *, add: bool) -> HttpResponse:
    ticket = get_ticket_for_contact(request, ticket_id)
    contact = portal_contact(request)
    colleague = get_colleague_for_contact(request, request.POST.get("contact", ""))
    change = ticket_cc_add if add else ticket_cc_remove
    try:
        if colleague is None:
            raise ValidationError(
                {"contact": _("Only colleagues of the ticket's organisation can be copied.")}
            )
        change(ticket=ticket, contact=colleague, actor_contact=contact, channel=Channel.PORTAL)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:ticket-detail", ticket_id=ticket.pk)
    name = {"name": colleague.name}
    if add:
        messages.success(request, _("%(name)s is now copied on the ticket.") % name)
    else:
        messages.success(request, _("%(name)s is no longer copied on the ticket.") % name)
    if not tickets_for_contact(request).filter(pk=ticket.pk).exists():
        return redirect("portal:list")  # they took themselves off a ticket they no longer see
    return redirect("portal:ticket-detail", ticket_id=ticket.pk)


@require_POST
@contact_required
def cc_add(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """Copy a colleague of the ticket's organisation on it."""
    return _cc_change(request, ticket_id, add=True)


@require_POST
@contact_required
def cc_remove(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """Stop copying a colleague (or oneself) on the ticket."""
    return _cc_change(request, ticket_id, add=False)


@require_POST
@contact_required
def organisation_follow(request: PortalRequest) -> HttpResponse:
    """A named contact turns on or off getting the replies of all the organisation's tickets."""
    follows = request.POST.get("follows") == "1"
    try:
        contact_follow_organisation(
            contact=portal_contact(request),
            follows=follows,
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("You will get the replies of all your organisation's tickets by e-mail.")
            if follows
            else _("You no longer get the replies of all your organisation's tickets."),
        )
    return redirect("portal:list")


@contact_required
def ticket_history(request: PortalRequest, ticket_id: int) -> HttpResponse:
    """The ticket's full public history as a text file: description, actions, times."""
    ticket = get_ticket_for_contact(request, ticket_id)
    context = {
        "ticket": ticket,
        "timeline": services.ticket_timeline(ticket=ticket),
        "attachments": ticket.attachments.filter(message__is_public=True),
        "now": timezone.now(),
    }
    response = render(
        request, "portal/ticket_history.txt", context, content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{ticket.reference}-history.txt"'
    return response


@contact_required
def attachment_download(request: PortalRequest, attachment_id: int) -> HttpResponse:
    attachment = get_attachment_for_contact(request, attachment_id)
    return attachment_response(attachment)  # type: ignore[return-value]  # it streams


@contact_required
@require_GET
def attachment_preview(request: PortalRequest, attachment_id: int) -> HttpResponse:
    """An image or PDF shown in the browser; any other file is downloaded."""
    attachment = get_attachment_for_contact(request, attachment_id)
    return attachment_response(attachment, inline=True)  # type: ignore[return-value]


@contact_required
def contract_detail(request: PortalRequest) -> HttpResponse:
    """The organisation's contract: plan, features, named contacts, hours, how to reach us."""
    contact = portal_contact(request)
    context = services.contract_overview(contact=contact)
    return render(request, "portal/contract.html", {"overview": context})


def login_link_request(request: TenantRequest) -> HttpResponse:
    """Ask for a one-time login link by e-mail; the answer is the same for any address."""
    if request.tenant is None:
        raise Http404
    form = LoginLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.login_link_send(tenant=request.tenant, email=form.cleaned_data["email"])
        messages.success(
            request,
            _("If this address belongs to one of our customers, a login link is on its way."),
        )
        return redirect("portal:login-link-request")
    return render(request, "portal/login_link_request.html", {"form": form})


def login_link(request: TenantRequest, login_token: str) -> HttpResponse:
    """Log in with a link from an e-mail. Showing the page does not use the link up (mail
    scanners open links); pressing the button does."""
    if request.tenant is None:
        raise Http404
    contact = services.login_link_contact(tenant=request.tenant, login_token=login_token)
    if contact is None or contact.user is None:
        return render(request, "portal/login_link_invalid.html", status=404)
    if request.method == "POST":
        login(request, contact.user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(reverse("portal:list"))
    if request.method != "GET":
        return HttpResponse(status=405)
    return render(request, "portal/login_link.html", {"login_contact": contact})


@admin_required
@require_POST
def contact_invite(request: StaffRequest, contact_id: int) -> HttpResponse:
    """Give a contact a portal login (if they have none) and mail them a one-time link: the
    contact page's button (contracts owns the contact, the portal its login)."""
    contact = get_contact_for_admin(request, contact_id)
    services.login_link_send(tenant=request.tenant, email=contact.email)
    messages.success(
        request, _("A login link is on its way to %(email)s.") % {"email": contact.email}
    )
    return redirect("contracts:contact-edit", contact_id=contact.pk)
