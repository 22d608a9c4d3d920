"""Agent pages: the queue, a ticket, phone intake. Each view: fetch with access check ->
parse -> one service -> render or redirect."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from contracts.models import Contact
from sla.explanations import clock_explain
from sla.models import Priority
from sla.selectors import ticket_history
from supportdesk.access import (
    admin_required,
    agent_required,
    has_role,
    staff_required,
)
from supportdesk.authentication import FailureThrottle, throttle_wait, too_many
from supportdesk.forms import add_service_errors, add_service_messages, form_save, is_plain_number
from supportdesk.http import StaffRequest, TenantRequest
from supportdesk.models import AGENT_ROLES, Role

from . import services
from .access import (
    find_ticket_for_agent,
    get_attachment_for_agent,
    get_queue_view_for_agent,
    get_queue_view_to_delete,
    get_ticket_for_agent,
    queue_views_for_agent,
)
from .attachments import attachment_response
from .choices import Category, Channel, Status, SupportLine
from .filing import ticket_file
from .followers.services import (
    cc_candidates,
    copied_contacts,
    internal_followers,
    ticket_follow,
    ticket_unfollow,
)
from .forms import (
    MERGE,
    AssignForm,
    BulkAssignForm,
    CallLogForm,
    ConvertForm,
    LineForm,
    LinkForm,
    MergeForm,
    MyLineForm,
    PresenceForm,
    PreviewForm,
    PriorityForm,
    ReplyForm,
    RequestTypeForm,
    StatusForm,
    TimeEntryForm,
    UnlinkForm,
    VendorForm,
    VendorSettingsForm,
    agents,
)
from .links import services as link_services
from .macros.access import get_usable_macro_for_agent
from .macros.services import ticket_reply_with_macro
from .major.forms import MajorLinkForm, MajorUpdateForm
from .major.services import (
    major_incident_children,
    major_incident_reached,
    major_incident_refusal,
)
from .models import Macro, QueueView, SatisfactionRating, Ticket, TicketLink
from .portal.access import get_attachment_for_contact
from .presence import HEARTBEAT_EVERY, presence_list, presence_touch
from .queue import (
    COLUMN_SORTS,
    COLUMNS,
    DEFAULT_COLUMNS,
    SORTS,
    QueueFilters,
    columns_from_value,
    columns_with_ticket,
    queue_choices,
    queue_page,
    queue_queryset,
    queue_rows,
    queue_rows_context,
    queue_view_counts,
    sort_from_param,
)
from .quotes.forms import QuoteForm
from .richtext import markdown_render

PAGE_SIZE = 50


def typed_ticket(request: TenantRequest, reference: str) -> Ticket | None:
    """The tenant's ticket an agent typed (:func:`find_ticket_for_agent`); None, with the
    message saying so, when there is none."""
    other = find_ticket_for_agent(request, reference)
    if other is None:
        messages.error(request, _("There is no ticket %(reference)s.") % {"reference": reference})
    return other


def form_errors(request: HttpRequest, form: Any) -> None:
    """Each error of an invalid ``form`` as a message on the page the view redirects to."""
    for field_errors in form.errors.values():
        for text in field_errors:
            messages.error(request, text)


def _queue_params(request: TenantRequest) -> tuple[QueryDict, QueueView | None]:
    """The queue's parameters: a saved view's (``?saved=<id>``, 404 when not usable) under
    whatever the request says itself (its cursor, sort or columns), else the request's."""
    saved = request.GET.get("saved", "")
    if not saved:
        return request.GET, None
    if not is_plain_number(saved) or len(saved) > 12:
        raise Http404
    view = get_queue_view_for_agent(request, int(saved))
    params = QueryDict(mutable=True)
    params.update(view.filters)
    params["sort"] = view.sort
    for key in ("cursor", "sort", "saved"):
        if request.GET.get(key):
            params[key] = request.GET[key]
    if view.columns:
        params.setlist("columns", view.columns)
    if request.GET.getlist("columns"):
        params.setlist("columns", request.GET.getlist("columns"))
    return params, view


def _checked(request: HttpRequest) -> frozenset[int]:
    """The ticked rows a refresh sends back (``tickets``), so they stay ticked."""
    ids = request.GET.getlist("tickets")
    return frozenset(int(i) for i in ids[:500] if is_plain_number(i) and len(i) < 12)


@require_GET
@staff_required
def queue(request: StaffRequest) -> HttpResponse:
    """Open tickets in the chosen order (nearest due first), with filters, saved views and
    keyset pagination. An htmx refresh (every 30 s) gets the rows' ``<tbody>`` only."""
    params, saved = _queue_params(request)
    filters = QueueFilters.from_params(params)
    sort = sort_from_param(params.get("sort"))
    choices = queue_choices(user=request.user)
    columns = columns_from_value(params.getlist("columns")) or choices.my_columns or DEFAULT_COLUMNS
    qs = queue_queryset(filters=filters, user=request.user)
    priority_order = [pk for pk, _label, _definition in choices.priorities]
    page = queue_page(
        qs=qs,
        cursor=params.get("cursor"),
        size=PAGE_SIZE,
        sort=sort,
        priority_order=priority_order,
    )
    url_pattern = reverse("tickets:ticket", args=[0]).replace("/0/", "/{}/")
    rows = queue_rows(
        page, tz=ZoneInfo(request.tenant.time_zone), url_pattern=url_pattern, choices=choices
    )
    selectable = request.membership.is_agent
    context = {
        **queue_rows_context(
            rows, selectable=selectable, columns=columns, checked=_checked(request)
        ),
        "refresh_url": _refresh_url(request),
    }
    if request.htmx:
        return render(request, "tickets/_queue_rows.html", context)
    query = request.GET.copy()
    query.pop("cursor", None)
    views = list(queue_views_for_agent(request))
    counts = queue_view_counts(views=views, user=request.user)
    return render(
        request,
        "tickets/queue.html",
        {
            **context,
            "filters": filters,
            "sort": sort,
            "sort_label": SORTS[sort],
            "headers": _headers(columns, sort, query),
            "all_columns": [(c, label, c in columns) for c, label in COLUMNS.items()],
            "saved": saved,
            "save_params": [
                (key, params.get(key)) for key in services.QUEUE_VIEW_PARAMS if params.get(key)
            ],
            "saved_views": [(view, counts.get(view.pk, 0)) for view in views],
            "next_cursor": page.next_cursor,
            "query": query.urlencode(),
            "choices": choices,
            "statuses": Status.choices,
            "categories": Category.choices,
            "lines": SupportLine.choices,
        },
    )


def _refresh_url(request: HttpRequest) -> str:
    """This page without the ticked ids: each refresh sends the ones ticked then."""
    query = request.GET.copy()
    query.pop("tickets", None)
    return request.path + (f"?{query.urlencode()}" if query else "")


def _headers(columns: list[str] | tuple[str, ...], sort: str, query: QueryDict) -> list[Any]:
    """(label, link to sort by the column or "", aria-sort) of each shown column's header."""
    headers = []
    for column in columns_with_ticket(columns):
        orders = COLUMN_SORTS.get(column, ())
        link, state = "", "none"
        if orders:
            target = orders[(orders.index(sort) + 1) % len(orders)] if sort in orders else orders[0]
            params = query.copy()
            params.pop("cursor", None)
            params["sort"] = target
            link = "?" + params.urlencode()
            if sort in orders:
                state = "descending" if sort.startswith("-") else "ascending"
        headers.append((COLUMNS[column], link, state))
    return headers


@require_POST
@agent_required
def queue_assign(request: StaffRequest) -> HttpResponse:
    """Bulk assign the ticked tickets."""
    form = BulkAssignForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("tickets:queue")
    try:
        count = services.tickets_assign_bulk(
            tenant=request.tenant,
            ticket_ids=form.cleaned_data["tickets"],
            assignee=form.cleaned_data["assignee"],
            actor=request.user,
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("%(n)d tickets assigned.") % {"n": count})
    return redirect(_back(request, "tickets:queue"))


@require_POST
@agent_required
def queue_my_line(request: StaffRequest) -> HttpResponse:
    """Remember which support line I work."""
    form = MyLineForm(request.POST)
    if form.is_valid():
        services.agent_line_set(
            tenant=request.tenant, user=request.user, support_line=form.cleaned_data["support_line"]
        )
    else:
        form_errors(request, form)
    return redirect(_back(request, "tickets:queue"))


@require_POST
@agent_required
def queue_view_new(request: StaffRequest) -> HttpResponse:
    """Save the queue as it is filtered, sorted and laid out, as my view or (admins) shared."""
    shared = request.POST.get("shared") == "1"
    if shared and request.membership.role != Role.ADMIN:
        raise Http404
    try:
        view = services.queue_view_save(
            tenant=request.tenant,
            actor=request.user,
            name=request.POST.get("name", ""),
            params=request.POST,
            shared=shared,
            sort=request.POST.get("sort", "") or "due",
            columns=request.POST.getlist("columns"),
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
        return redirect(_back(request, "tickets:queue"))
    messages.success(request, _("View saved."))
    return redirect(reverse("tickets:queue") + f"?saved={view.pk}")


@require_POST
@agent_required
def queue_view_delete(request: StaffRequest, view_id: int) -> HttpResponse:
    """Delete my saved view, or (admins) a shared one."""
    view = get_queue_view_to_delete(request, view_id)
    services.queue_view_delete(view=view, actor=request.user)
    messages.success(request, _("View deleted."))
    return redirect("tickets:queue")


@require_POST
@agent_required
def queue_columns(request: StaffRequest) -> HttpResponse:
    """Remember which columns I want in the queue."""
    try:
        services.agent_columns_set(
            tenant=request.tenant, user=request.user, columns=request.POST.getlist("columns")
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    return redirect(_back(request, "tickets:queue"))


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return reverse(default)


@agent_required
def call_log(request: StaffRequest) -> HttpResponse:
    """Log a phone call as a ticket; refused with the reason when the plan has no phone."""
    form = CallLogForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filing = ticket_file(
            tenant=request.tenant,
            requester=data["contact"],
            subject=data["subject"],
            description=data["description"],
            channel=Channel.PHONE,
            category=data["category"],
            request_type=data.get("request_type"),
            priority=data["priority"],
            actor=request.user,
            accepted_billable=data["accepted_billable"],
        )
        if filing.ticket is not None:
            reference = filing.ticket.reference
            messages.success(request, _("%(reference)s logged.") % {"reference": reference})
            return redirect("tickets:ticket", ticket_id=filing.ticket.pk)
        if filing.requires_acceptance:
            form.add_error(
                "accepted_billable",
                _("This request is billable: %(reasons)s Ask the caller to accept the charge.")
                % {"reasons": filing.reasons_text},
            )
        elif filing.refused:
            form.add_error(None, _("Refused: %(reasons)s") % {"reasons": filing.reasons_text})
        if filing.errors is not None:
            add_service_errors(form, filing.errors)
    contacts = Contact.objects.only("email", "name").order_by("name")[:500]
    return render(request, "tickets/call_log.html", {"form": form, "contacts": contacts})


@require_GET
@staff_required
def ticket_detail(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Everything about one ticket: timeline, SLA clocks explained, and the agent's tools.

    A merged duplicate's page leads to the ticket it was merged into (``?stay=1`` shows the
    duplicate's own history)."""
    ticket = get_ticket_for_agent(request, ticket_id)
    if ticket.merged_into_id is not None and "stay" not in request.GET:
        messages.info(
            request,
            _("%(reference)s was merged into this ticket.") % {"reference": ticket.reference},
        )
        return redirect("tickets:ticket", ticket_id=ticket.merged_into_id)
    return _ticket_page(request, ticket)


def _ticket_page(
    request: StaffRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    stale: bool = False,
    picked_macro: Macro | None = None,
) -> HttpResponse:
    """The ticket page; after a stale reply, with the agent's text kept and the warning."""
    initial, changes = ticket_history(ticket)
    clocks = [
        (clock, clock_explain(clock, changes=changes, initial=initial))
        for clock in ticket.clocks.select_related("calendar", "target__policy", "target__priority")
    ]
    if reply_form is None:
        reply_form = ReplyForm(initial={"version": ticket.version})
    followers = internal_followers(ticket=ticket)
    major_children = major_incident_children(ticket=ticket) if ticket.major_incident_at else []
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "timeline": ticket.timeline(),
            "clocks": clocks,
            "time_entries": ticket.time_entries.select_related("agent"),
            "cc": copied_contacts(ticket=ticket),
            "cc_candidates": cc_candidates(ticket=ticket),
            "followers": followers,
            # Colleagues to add; the agent follows themselves with the Follow button.
            "follower_candidates": agents(tenant_id=ticket.tenant_id).exclude(
                pk__in=[request.user.pk, *(f.pk for f in followers)]
            ),
            "satisfaction": SatisfactionRating.objects.filter(ticket=ticket)
            .select_related("contact")
            .first(),
            "reply_form": reply_form,
            "stale": stale,
            "picked_macro": picked_macro,
            "presence_every": HEARTBEAT_EVERY,
            "status_form": StatusForm(initial={"status": ticket.status}),
            "priority_form": PriorityForm(initial={"priority": ticket.priority_id}),
            "assign_form": AssignForm(initial={"assignee": ticket.assignee_id}),
            "line_form": LineForm(initial={"support_line": ticket.support_line}),
            "vendor_form": VendorForm(
                initial={
                    "vendor_state": ticket.vendor_state,
                    "vendor_reference": ticket.vendor_reference,
                }
            ),
            "convert_form": ConvertForm(initial={"category": ticket.category}),
            "request_type_form": RequestTypeForm(
                initial={"request_type": ticket.request_type_id},
                tenant=request.tenant,
            ),
            "time_form": TimeEntryForm(),
            "quotes": ticket.quotes.select_related("proposed_by", "decided_by"),
            "quote_form": QuoteForm(),
            "links": TicketLink.objects.rows_for(ticket),
            "link_form": LinkForm(),
            "major_children": major_children,
            "major_reached": len(major_incident_reached(major_children)),
            "major_refusal": major_incident_refusal(ticket=ticket),
            "major_update_form": MajorUpdateForm(),
            "major_link_form": MajorLinkForm(),
            "allowed_statuses": [
                (value, label)
                for value, label in Status.choices
                if value in services.TRANSITIONS[ticket.status]
            ],
            "status_targets": services.TRANSITIONS[ticket.status],
            "priorities": Priority.objects.all(),
        },
    )


@require_POST
@agent_required
def ticket_reply(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Public reply or internal note, with attachments. A reply written on a page that is
    out of date (the ticket's version moved since) is not sent: the page comes back with the
    text kept, the news in the timeline and a "Send anyway" button."""
    ticket = get_ticket_for_agent(request, ticket_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    data = form.cleaned_data
    macro_id = data["macro"]
    # Another agent's personal macro, or another tenant's, is a 404 like a missing one.
    macro = get_usable_macro_for_agent(request, macro_id) if macro_id else None
    expected = None if data["send_anyway"] else data["version"]
    try:
        if macro is not None:
            ticket_reply_with_macro(
                ticket=ticket,
                macro=macro,
                body=data["body"],
                public=data["public"],
                actor=request.user,
                attachments=request.FILES.getlist("attachments"),
                expected_version=expected,
                markdown=True,
            )
        else:
            services.ticket_reply(
                ticket=ticket,
                body=data["body"],
                public=data["public"],
                channel=Channel.PORTAL,
                author=request.user,
                attachments=request.FILES.getlist("attachments"),
                expected_version=expected,
                markdown=True,
            )
    except services.VersionConflict as exc:
        # The form comes back as typed, now at the current version: sending it again after
        # reading the news is a deliberate choice, like "Send anyway".
        kept = request.POST.copy()
        kept["version"] = str(exc.current)
        ticket.refresh_from_db()
        return _ticket_page(
            request,
            ticket,
            reply_form=ReplyForm(kept),
            stale=True,
            picked_macro=macro,
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Sent.") if data["public"] else _("Note added."))
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_reply_preview(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """The reply box's live preview: the Markdown typed so far as the message will show,
    through the same renderer the reply is stored with (:func:`richtext.markdown_render`)."""
    get_ticket_for_agent(request, ticket_id)
    return reply_preview_render(request)


def reply_preview_render(request: HttpRequest) -> HttpResponse:
    """The preview fragment of the posted Markdown (400 with the form's message when it is
    too long; 429 with a wait past ``THROTTLE_RATES["reply-preview"]`` per user); the agent
    page's and the portal's preview views check access, then call this."""
    wait = throttle_wait(FailureThrottle(scope="reply-preview", ident=str(request.user.pk)))
    if wait is not None:  # the pane says so; the reply itself is never throttled
        minutes = max(1, math.ceil(wait / 60))
        paused = ngettext(
            "Too many previews in a row: the preview resumes in %(minutes)d minute.",
            "Too many previews in a row: the preview resumes in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        context = {"form": PreviewForm(), "html": "", "wait": paused}
        return too_many(render(request, "tickets/_reply_preview.html", context), wait)
    form = PreviewForm(request.POST)
    valid = form.is_valid()
    html = markdown_render(form.cleaned_data["body"]) if valid else ""
    return render(
        request,
        "tickets/_reply_preview.html",
        {"form": form, "html": html},
        status=200 if valid else 400,
    )


@require_POST
@staff_required
def ticket_presence(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """A heartbeat of the ticket page: records that the sender is here (typing or not) and
    answers with who else is, and whether the ticket moved past the page's ``version``.

    Managers read tickets without replying: they are listed as viewing, never as typing.
    """
    ticket = get_ticket_for_agent(request, ticket_id)
    form = PresenceForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    typing = form.cleaned_data["typing"] and has_role(request, *AGENT_ROLES)
    presence_touch(ticket=ticket, user=request.user, typing=typing)
    version = form.cleaned_data["version"]
    return render(
        request,
        "tickets/_presence.html",
        {
            "ticket": ticket,
            "others": [p for p in presence_list(ticket=ticket) if p.user_id != request.user.pk],
            "moved": version is not None and version != ticket.version,
        },
    )


def _change(
    request: TenantRequest,
    ticket_id: int,
    form_class: Callable[[QueryDict], Any],
    apply: Callable[[Ticket, dict[str, Any]], Any],
) -> HttpResponse:
    """The shared shape of the small one-field forms on the ticket page."""
    ticket = get_ticket_for_agent(request, ticket_id)
    form = form_class(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    try:
        apply(ticket, form.cleaned_data)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Saved."))
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_status(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        StatusForm,
        lambda t, d: (
            t  # the select starts on the current status: pressing "Change" as is changes nothing
            if d["status"] in ("", t.status)
            else services.ticket_change_status(
                ticket=t,
                status=d["status"],
                actor=request.user,
                channel=Channel.PORTAL,
            )
        ),
    )


@require_POST
@agent_required
def ticket_priority(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        PriorityForm,
        lambda t, d: services.ticket_change_priority(
            ticket=t,
            priority=d["priority"],
            actor=request.user,
        ),
    )


@require_POST
@agent_required
def ticket_assign(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        AssignForm,
        lambda t, d: services.ticket_assign(ticket=t, assignee=d["assignee"], actor=request.user),
    )


@require_POST
@agent_required
def ticket_line(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        LineForm,
        lambda t, d: services.ticket_change_line(
            ticket=t,
            support_line=d["support_line"],
            actor=request.user,
        ),
    )


@require_POST
@agent_required
def ticket_vendor(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        VendorForm,
        lambda t, d: services.ticket_vendor_escalate(
            ticket=t,
            state=d["vendor_state"] or None,
            reference=d["vendor_reference"],
            actor=request.user,
        ),
    )


@admin_required
def vendor_settings(request: StaffRequest) -> HttpResponse:
    """The tenant admin's rules for tickets waiting on the vendor."""
    tenant = request.tenant
    form = VendorSettingsForm(request.POST or None, instance=tenant)
    if form_save(request, form, lambda: services.vendor_settings_save(tenant=form.instance)):
        messages.success(request, _("Settings saved."))
        return redirect("tickets:vendor-settings")
    return render(request, "tickets/vendor_settings.html", {"form": form})


@require_POST
@agent_required
def ticket_convert(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        ConvertForm,
        lambda t, d: services.ticket_convert(ticket=t, category=d["category"], actor=request.user),
    )


@require_POST
@agent_required
def ticket_request_type(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Say what the request is in the tenant's terms; billing follows the scope table."""
    return _change(
        request,
        ticket_id,
        partial(RequestTypeForm, tenant=request.tenant),
        lambda t, d: services.ticket_change_request_type(
            ticket=t, request_type=d["request_type"], actor=request.user
        ),
    )


@require_POST
@agent_required
def ticket_time(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        TimeEntryForm,
        lambda t, d: services.time_entry_log(
            ticket=t,
            agent=request.user,
            minutes=d["minutes"],
            billable=d["billable"],
            note=d["note"],
            work_date=d["work_date"],
        ),
    )


@require_POST
@agent_required
def ticket_follow_toggle(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Follow the ticket (mail about its replies and internal notes), or stop following."""
    ticket = get_ticket_for_agent(request, ticket_id)
    user = request.user
    follow = request.POST.get("follow") == "1"
    change = ticket_follow if follow else ticket_unfollow
    try:
        change(ticket=ticket, agent=user, actor=user, channel=Channel.PORTAL)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(
            request,
            _("You follow this ticket.") if follow else _("You no longer follow this ticket."),
        )
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_GET
@staff_required
def ticket_history_export(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """The full history as text: description, actions, timestamps and resolution, for a
    customer who asks for it (ITSL's promise). Internal notes are left out."""
    ticket = get_ticket_for_agent(request, ticket_id)
    text = render_to_string(
        "tickets/history.txt",
        {"ticket": ticket, "timeline": ticket.timeline(public_only=True)},
        request=request,
    )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ticket.reference}-history.txt"'
    return response


@require_GET
@staff_required
def attachment_download(request: StaffRequest, attachment_id: int) -> FileResponse:
    return attachment_response(get_attachment_for_agent(request, attachment_id))


@require_GET
@staff_required
def attachment_preview(request: StaffRequest, attachment_id: int) -> FileResponse:
    """An image or PDF shown in the browser; any other file is downloaded."""
    return attachment_response(get_attachment_for_agent(request, attachment_id), inline=True)


@require_GET  # type: ignore[type-var]  # login_required is typed for HttpResponse; this streams
@login_required
def attachment_inline(request: TenantRequest, attachment_id: int) -> FileResponse:
    """An image shown inside a message (a rich reply's pasted image): one URL for whoever
    reads the message, so the stored HTML is the same for staff and customers. Staff get it
    through the agent check, a contact through the portal's (public messages of tickets they
    may see); anyone else, and a file the bytes do not show to be an image, gets a 404
    or a download, never an inline page."""
    if request.membership is not None:
        attachment = get_attachment_for_agent(request, attachment_id)
    elif getattr(request, "contact", None) is not None:
        attachment = get_attachment_for_contact(request, attachment_id)
    else:
        raise Http404
    return attachment_response(attachment, inline=True)


@require_POST
@agent_required
def ticket_link(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """Link another ticket of the tenant; "merge" leads to the merge confirmation."""
    ticket = get_ticket_for_agent(request, ticket_id)
    form = LinkForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    other = typed_ticket(request, form.cleaned_data["other"])
    if other is None:
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    if form.cleaned_data["kind"] == MERGE:
        url = reverse("tickets:ticket-merge", args=[ticket.pk])
        return redirect(f"{url}?{urlencode({'into': other.reference})}")
    try:
        link_services.ticket_link(
            ticket=ticket,
            other=other,
            kind=form.cleaned_data["kind"],
            actor=request.user,
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Linked."))
    return redirect("tickets:ticket", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_unlink(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _change(
        request,
        ticket_id,
        UnlinkForm,
        lambda t, d: link_services.ticket_unlink(
            ticket=t,
            link_id=d["link"],
            actor=request.user,
        ),
    )


@agent_required
def ticket_merge(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """The merge's second step: what will happen, and a box to tick; POST merges."""
    ticket = get_ticket_for_agent(request, ticket_id)
    form = MergeForm(request.POST or request.GET or None)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    target = find_ticket_for_agent(request, form.cleaned_data["into"])
    if target is None:
        messages.error(
            request,
            _("There is no ticket %(reference)s.") % {"reference": form.cleaned_data["into"]},
        )
        return redirect("tickets:ticket", ticket_id=ticket.pk)
    if request.method == "POST" and form.cleaned_data["confirm_merge"]:
        try:
            link_services.ticket_merge(ticket=ticket, into=target, actor=request.user)
        except ValidationError as exc:
            add_service_messages(request, exc)
            return redirect("tickets:ticket", ticket_id=ticket.pk)
        messages.success(
            request,
            _("%(old)s merged into %(new)s.") % {"old": ticket.reference, "new": target.reference},
        )
        return redirect("tickets:ticket", ticket_id=target.pk)
    if request.method == "POST":
        messages.error(request, _("Merging is final. Tick the box to confirm the merge."))
    context = {
        "ticket": ticket,
        "target": target,
        "refusal": link_services.ticket_merge_check(ticket=ticket, into=target),
        "form": MergeForm(initial={"into": target.reference}),
    }
    return render(request, "tickets/merge_confirm.html", context)
