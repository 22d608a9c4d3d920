"""The post-incident review pages: the review of one ticket (agents), the list of open
reviews (staff), the tenant admin's rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from supportdesk.access import admin_required, agent_required, has_role, staff_required
from supportdesk.forms import add_service_messages, form_save
from supportdesk.http import StaffRequest
from supportdesk.models import AGENT_ROLES

from ..access import get_ticket_for_agent
from ..choices import Channel
from ..models import PostIncidentReview, ReviewStatus
from .forms import ReviewActionForm, ReviewForm, ReviewPolicyForm
from .services import (
    review_action_add,
    review_action_remove,
    review_done,
    review_explain,
    review_open,
    review_policy,
    review_policy_save,
    review_refusal,
    review_save,
)

MAX_LISTED = 200
"""Reviews the list shows at most (the draft ones first, the nearest due first)."""


def _review_of(ticket: Any) -> PostIncidentReview | None:
    review = (
        PostIncidentReview.objects.filter(ticket=ticket)
        .select_related("assignee")
        .prefetch_related("actions__owner")
        .first()
    )
    if review is not None:
        review.ticket = ticket  # the one read with the access check, not read again
    return review


@staff_required
def review_page(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """The review of one ticket: its form, its actions, done; or why it has none.

    A manager reads it (the text, the actions and their owners) without the forms: managers
    follow reviews up, agents write them (as the review list and the monthly report count).
    """
    ticket = get_ticket_for_agent(request, ticket_id)
    review = _review_of(ticket)
    if not has_role(request, *AGENT_ROLES):
        if request.method != "GET":
            raise Http404
        return render(
            request,
            "tickets/review.html",
            {
                "ticket": ticket, "review": review, "read_only": True,
                "overdue": review is not None and review.is_overdue(),
                "due_words": review_explain(review) if review is not None else [],
            },
        )  # fmt: skip
    if review is None:
        if request.method == "POST":
            messages.error(request, review_refusal(ticket=ticket) or _("Open the review first."))
            return redirect("tickets:ticket-review", ticket_id=ticket.pk)
        return render(
            request,
            "tickets/review.html",
            {"ticket": ticket, "review": None, "refusal": review_refusal(ticket=ticket)},
        )
    form = ReviewForm(request.POST or None, instance=review)
    user = request.user

    def save() -> PostIncidentReview:
        data = form.cleaned_data
        return review_save(
            review=review, actor=user, impact=data["impact"], timeline=data["timeline"],
            root_cause=data["root_cause"], shared_with_customer=data["shared_with_customer"],
            assignee=data["assignee"],
        )  # fmt: skip

    if form_save(request, form, save):
        messages.success(request, _("Review saved."))
        return redirect("tickets:ticket-review", ticket_id=ticket.pk)
    return render(
        request,
        "tickets/review.html",
        {
            "ticket": ticket, "review": review, "form": form,
            "action_form": ReviewActionForm(), "overdue": review.is_overdue(),
            "due_words": review_explain(review),
        },
    )  # fmt: skip


@require_POST
@agent_required
def review_open_view(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_agent(request, ticket_id)
    user = request.user
    try:
        review_open(ticket=ticket, actor=user, channel=Channel.PORTAL)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Post-incident review opened."))
    return redirect("tickets:ticket-review", ticket_id=ticket.pk)


def _on_review(
    request: StaffRequest,
    ticket_id: int,
    act: Callable[[PostIncidentReview], object],
    done: str,
) -> HttpResponse:
    """The review page's buttons: ``act`` on the ticket's review, then back to its page with
    ``done`` or the reason it was refused (no review yet, or the service's answer)."""
    ticket = get_ticket_for_agent(request, ticket_id)
    review = _review_of(ticket)
    try:
        if review is None:
            raise ValidationError({"ticket": review_refusal(ticket=ticket) or ""})
        act(review)
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, done)
    return redirect("tickets:ticket-review", ticket_id=ticket.pk)


@require_POST
@agent_required
def review_done_view(request: StaffRequest, ticket_id: int) -> HttpResponse:
    return _on_review(
        request,
        ticket_id,
        lambda review: review_done(review=review, actor=request.user, channel=Channel.PORTAL),
        _("Review done."),
    )


@require_POST
@agent_required
def review_action_view(request: StaffRequest, ticket_id: int) -> HttpResponse:
    form = ReviewActionForm(request.POST)

    def add(review: PostIncidentReview) -> object:
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())  # type: ignore[arg-type]
        data = form.cleaned_data
        return review_action_add(
            review=review, actor=request.user, description=data["description"],
            owner=data["owner"], due_on=data["due_on"],
        )  # fmt: skip

    return _on_review(request, ticket_id, add, _("Action added."))


@require_POST
@agent_required
def review_action_remove_view(
    request: StaffRequest, ticket_id: int, action_id: int
) -> HttpResponse:
    return _on_review(
        request,
        ticket_id,
        lambda review: review_action_remove(review=review, action_id=action_id, actor=request.user),
        _("Action removed."),
    )


@require_GET
@staff_required
def review_list(request: StaffRequest) -> HttpResponse:
    """Reviews still in draft (the nearest due first, overdue marked), then the latest done."""
    now = timezone.now()
    rows = list(
        PostIncidentReview.objects.select_related("ticket", "assignee").order_by(
            "-status", "due_at", "id"
        )[:MAX_LISTED]
    )
    drafts = [r for r in rows if r.status == ReviewStatus.DRAFT]
    return render(
        request,
        "tickets/review_list.html",
        {
            "drafts": [(r, r.is_overdue(now)) for r in drafts],
            "done": [r for r in rows if r.status == ReviewStatus.DONE],
        },
    )


@admin_required
def review_settings(request: StaffRequest) -> HttpResponse:
    """The tenant admin's review rule."""
    tenant = request.tenant
    policy = review_policy(tenant=tenant)
    form = ReviewPolicyForm(request.POST or None, instance=policy)

    def save() -> Any:
        data = form.cleaned_data
        return review_policy_save(
            policy=policy, priorities=list(data["priorities"]),
            due_working_days=data["due_working_days"],
        )  # fmt: skip

    if form_save(request, form, save):
        messages.success(request, _("Settings saved."))
        return redirect("tickets:review-settings")
    return render(request, "tickets/review_settings.html", {"form": form})
