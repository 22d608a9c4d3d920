"""Routing rule pages under /manage/routing/ (admins). Each view: fetch with access check ->
parse -> one service -> render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supportdesk.access import admin_required, staff_user
from supportdesk.forms import add_service_messages, form_save
from supportdesk.http import StaffRequest
from supportdesk.models import AuditEvent
from tickets.models import RoutingRule

from . import services
from .access import get_routing_rule_for_admin
from .forms import RoutingRuleForm, RoutingRuleMoveForm


@admin_required
def rule_list(request: StaffRequest) -> HttpResponse:
    """The tenant's rules in the order they are tried, and their latest changes."""
    changes = AuditEvent.objects.filter(object_type="tickets.routingrule").select_related("actor")
    return render(
        request,
        "routing/rule_list.html",
        {"rules": services.tenant_rules(request.tenant), "changes": changes[:20]},
    )


def _form_page(request: HttpRequest, rule: RoutingRule) -> HttpResponse:
    form = RoutingRuleForm(request.POST or None, instance=rule)
    saved = form_save(
        request,
        form,
        lambda: services.routing_rule_save(rule=form.instance, actor=staff_user(request)),
    )
    if saved is not None:
        messages.success(request, _("Routing rule saved."))
        return redirect("routing:list")
    return render(request, "routing/rule_form.html", {"form": form, "rule": rule})


@admin_required
def rule_new(request: StaffRequest) -> HttpResponse:
    return _form_page(request, RoutingRule(tenant=request.tenant))


@admin_required
def rule_edit(request: StaffRequest, routing_rule_id: int) -> HttpResponse:
    return _form_page(request, get_routing_rule_for_admin(request, routing_rule_id))


@admin_required
@require_POST
def rule_delete(request: StaffRequest, routing_rule_id: int) -> HttpResponse:
    rule = get_routing_rule_for_admin(request, routing_rule_id)
    services.routing_rule_delete(rule=rule, actor=staff_user(request))
    messages.success(request, _("Routing rule deleted."))
    return redirect("routing:list")


@admin_required
@require_POST
def rule_move(request: StaffRequest, routing_rule_id: int) -> HttpResponse:
    """Move a rule to another place in the order (the list's up and down buttons)."""
    rule = get_routing_rule_for_admin(request, routing_rule_id)
    form = RoutingRuleMoveForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("routing:list")
    try:
        services.routing_rule_move(
            rule=rule, position=form.cleaned_data["position"], actor=staff_user(request)
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    return redirect("routing:list")
