"""Problem pages for staff under /agent/problems/ and the admin's suggestion rule under
/manage/problems/. Each view: fetch with access check -> parse -> one service -> render or
redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from supportdesk.access import admin_required, agent_required, staff_required, staff_user
from supportdesk.forms import add_service_messages, form_save
from supportdesk.http import StaffRequest

from ..access import get_ticket_for_agent
from ..choices import Channel
from ..models import Problem, Ticket
from ..views import form_errors, typed_ticket
from . import services
from .access import get_problem_for_staff
from .forms import (
    ProblemForm,
    ProblemLinkForm,
    ProblemResolveForm,
    ProblemSettingsForm,
    ProblemUnlinkForm,
)


@require_GET
@staff_required
def problem_list(request: StaffRequest) -> HttpResponse:
    """The tenant's problems, newest first, and the problems its recurring incidents suggest."""
    problems = (
        Problem.objects.filter(tenant=request.tenant)
        .select_related("organisation", "assignee")
        .annotate(incident_count=Count("incidents"))
        .order_by("-number")
    )
    return render(
        request,
        "tickets/problems/problem_list.html",
        {"problems": problems, "suggestions": services.problem_suggestions(tenant=request.tenant)},
    )


def _form_page(request: HttpRequest, problem: Problem) -> HttpResponse:
    form = ProblemForm(request.POST or None, instance=problem)
    saved = form_save(
        request,
        form,
        lambda: services.problem_save(problem=form.instance, actor=staff_user(request)),
    )
    if saved is not None:
        messages.success(request, _("Problem saved."))
        return redirect("problems:detail", problem_id=saved.pk)
    return render(request, "tickets/problems/problem_form.html", {"form": form, "problem": problem})


@agent_required
def problem_new(request: StaffRequest) -> HttpResponse:
    problem = Problem(tenant=request.tenant)
    if request.method == "GET" and "title" in request.GET:
        # "Open a problem" from a suggestion: the first incident's subject as its title.
        problem.title = request.GET["title"][:200]
    return _form_page(request, problem)


@agent_required
def problem_edit(request: StaffRequest, problem_id: int) -> HttpResponse:
    return _form_page(request, get_problem_for_staff(request, problem_id))


@require_GET
@staff_required
def problem_detail(request: StaffRequest, problem_id: int) -> HttpResponse:
    problem = get_problem_for_staff(request, problem_id)
    incidents = (
        Ticket.objects.filter(tenant_id=problem.tenant_id, problem=problem)
        .select_related("organisation", "requester")
        .order_by("-number")
    )
    return render(
        request,
        "tickets/problems/problem_detail.html",
        {
            "problem": problem,
            "incidents": incidents,
            # The knowledge-base articles published from it (their app links back by FK).
            "articles": problem.articles.filter(tenant_id=problem.tenant_id).only("id", "title"),
            "link_form": ProblemLinkForm(),
            "resolve_form": ProblemResolveForm(),
        },
    )


@require_POST
@agent_required
def problem_link(request: StaffRequest, problem_id: int) -> HttpResponse:
    problem = get_problem_for_staff(request, problem_id)
    form = ProblemLinkForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("problems:detail", problem_id=problem.pk)
    ticket = typed_ticket(request, form.cleaned_data["ticket"])
    if ticket is None:
        return redirect("problems:detail", problem_id=problem.pk)
    try:
        services.problem_link(
            problem=problem, ticket=ticket, actor=staff_user(request), channel=Channel.PORTAL
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("%(ref)s is linked.") % {"ref": ticket.reference})
    return redirect("problems:detail", problem_id=problem.pk)


@require_POST
@agent_required
def problem_unlink(request: StaffRequest, problem_id: int) -> HttpResponse:
    problem = get_problem_for_staff(request, problem_id)
    form = ProblemUnlinkForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("problems:detail", problem_id=problem.pk)
    ticket = get_ticket_for_agent(request, form.cleaned_data["ticket"])
    try:
        services.problem_unlink(
            problem=problem, ticket=ticket, actor=staff_user(request), channel=Channel.PORTAL
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("%(ref)s is unlinked.") % {"ref": ticket.reference})
    return redirect("problems:detail", problem_id=problem.pk)


@require_POST
@agent_required
def problem_resolve(request: StaffRequest, problem_id: int) -> HttpResponse:
    problem = get_problem_for_staff(request, problem_id)
    form = ProblemResolveForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("problems:detail", problem_id=problem.pk)
    data = form.cleaned_data
    try:
        outcome = services.problem_resolve(
            problem=problem, actor=staff_user(request), notify=data["notify"],
            message=data["message"], solve=data["solve"], channel=Channel.PORTAL,
        )  # fmt: skip
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(
            request,
            _("%(ref)s is resolved. Requesters told: %(told)s; incidents solved: %(solved)s.")
            % {
                "ref": problem.reference,
                "told": len(outcome.told),
                "solved": len(outcome.solved),
            },
        )
    return redirect("problems:detail", problem_id=problem.pk)


@admin_required
def problem_settings(request: StaffRequest) -> HttpResponse:
    """The tenant admin's rule for suggesting problems from recurring incidents."""
    tenant = request.tenant
    form = ProblemSettingsForm(request.POST or None, instance=tenant)
    saved = form_save(
        request,
        form,
        lambda: services.problem_settings_save(tenant=form.instance, actor=staff_user(request)),
    )
    if saved is not None:
        messages.success(request, _("Settings saved."))
        return redirect("problems:settings")
    return render(request, "tickets/problems/problem_settings.html", {"form": form})
