"""Tenant admin pages for SLA configuration, under /manage/sla/. Each view: fetch with
access check -> parse -> one service -> render or redirect."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from supportdesk.access import admin_required
from supportdesk.forms import add_service_errors
from supportdesk.http import StaffRequest
from supportdesk.models import AuditEvent

from . import services
from .access import (
    get_calendar_for_admin,
    get_policy_for_admin,
    get_priority_for_admin,
    get_rule_for_admin,
)
from .calendar import BusinessCalendar
from .explanations import deadline_preview, holiday_sets, moment_words, special_days, week_table
from .forms import (
    EXAMPLE_CONFIG,
    CalendarForm,
    EscalationRuleForm,
    PolicyForm,
    PriorityForm,
    TargetGridForm,
)
from .models import Calendar, EscalationRule, Priority, SLAPolicy
from .templatetags.sla_recompute import recompute_context


def _saved_message(count: int) -> str:
    if count > services.recompute.RECOMPUTE_INLINE_MAX:
        return _("Saved; %(n)d live SLA clocks are being recomputed.") % {"n": count}
    return _("Saved; %(n)d live SLA clocks recomputed.") % {"n": count}


@admin_required
def index(request: StaffRequest) -> HttpResponse:
    """Calendars, policies with their targets, priorities, escalation rules, recent edits."""
    return render(
        request,
        "sla/index.html",
        {
            "calendars": Calendar.objects.all(),
            "policies": SLAPolicy.objects.select_related("calendar").prefetch_related(
                "targets__priority", "targets__calendar"
            ),
            "priorities": Priority.objects.all(),
            "rules": EscalationRule.objects.select_related("policy", "priority"),
            "changes": AuditEvent.objects.filter(object_type__startswith="sla.").select_related(
                "actor"
            )[:20],
        },
    )


def _calendar_context(calendar: Calendar | None, config: dict[str, Any]) -> dict[str, Any]:
    """Weekly view, upcoming closed days and the deadline preview of a configuration."""
    try:
        engine = BusinessCalendar.from_dict(config)
    except ValueError:
        return {}
    now = timezone.now()
    today = timezone.localtime(now, engine.timezone).date()
    return {
        "week": week_table(config),
        "eve_hours": config.get("eve_hours"),
        "holiday_sets": holiday_sets(engine.to_dict()),
        "special_days": special_days(engine, today, today + dt.timedelta(days=365)),
        "now_words": moment_words(now, engine),
        "preview": deadline_preview(calendar=calendar, engine=engine, now=now) if calendar else [],
    }


@admin_required
def calendar_new(request: StaffRequest) -> HttpResponse:
    initial = {"config": json.dumps(EXAMPLE_CONFIG, indent=2)}
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            calendar = services.calendar_create(
                tenant=request.tenant,
                name=form.cleaned_data["name"],
                config=form.cleaned_data["config"],
                is_default=form.cleaned_data["is_default"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Calendar created."))
            return redirect("sla:calendar", calendar_id=calendar.pk)
    return render(request, "sla/calendar_form.html", {"form": form, "calendar": None})


@admin_required
def calendar_edit(request: StaffRequest, calendar_id: int) -> HttpResponse:
    """Edit the calendar as fields (or its JSON) with errors on the field; "Preview" shows the
    effect without saving, and an invalid edit shows no preview."""
    calendar = get_calendar_for_admin(request, calendar_id)
    initial = {
        "name": calendar.name,
        "is_default": calendar.is_default,
        "config": json.dumps(calendar.config, indent=2, ensure_ascii=False),
    }
    form = CalendarForm(request.POST or None, initial=initial)
    config = calendar.config
    if request.method == "POST" and form.is_valid():
        config = form.cleaned_data["config"]
        if "preview" in request.POST:
            # The fields and the JSON both show the edit being previewed.
            form = CalendarForm(
                initial={
                    "name": form.cleaned_data["name"],
                    "is_default": form.cleaned_data["is_default"],
                    "config": json.dumps(config, indent=2, ensure_ascii=False),
                }
            )
        else:
            try:
                count = services.calendar_update(
                    calendar=calendar,
                    name=form.cleaned_data["name"],
                    config=config,
                    is_default=form.cleaned_data["is_default"],
                    actor=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _saved_message(count))
                return redirect("sla:calendar", calendar_id=calendar.pk)
    valid = not (form.is_bound and not form.is_valid())
    context = {
        "form": form,
        "calendar": calendar,
        "previewing": "preview" in request.POST and valid,
    }
    context.update(recompute_context(calendar))
    if not valid:
        # A preview of the calendar as saved would read as the edit's effect: withheld.
        context["preview_withheld"] = True
    else:
        context.update(_calendar_context(calendar, config))
    return render(request, "sla/calendar_form.html", context)


@admin_required
def policy_new(request: StaffRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = services.policy_save(
                tenant=request.tenant, policy=None, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Policy created; now set its targets."))
            return redirect("sla:policy", policy_id=policy.pk)
    return render(request, "sla/policy_form.html", {"form": form, "policy": None})


@admin_required
def policy_edit(request: StaffRequest, policy_id: int) -> HttpResponse:
    """Name and calendar, and the grid of targets per priority and metric."""
    policy = get_policy_for_admin(request, policy_id)
    priorities = list(Priority.objects.all())
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(
        data,
        initial={
            "name": policy.name,
            "description": policy.description,
            "calendar": policy.calendar_id,
        },
    )
    grid = TargetGridForm(data, priorities=priorities, initial=TargetGridForm.initial_for(policy))
    if request.method == "POST" and form.is_valid() and grid.is_valid():
        try:
            count = services.policy_update(
                tenant=request.tenant,
                policy=policy,
                targets=grid.specs(),
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _saved_message(count))
            return redirect("sla:policy", policy_id=policy.pk)
    context = {"form": form, "grid": grid, "policy": policy, **recompute_context(policy)}
    return render(request, "sla/policy_form.html", context)


def _priority_form(request: StaffRequest, priority: Priority | None) -> HttpResponse:
    initial = (
        {
            "key": priority.key,
            "name": priority.name,
            "rank": priority.rank,
            "definition": priority.definition,
            "examples": priority.examples,
            "is_default": priority.is_default,
        }
        if priority
        else {}
    )
    form = PriorityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.priority_save(
                tenant=request.tenant, priority=priority, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Priority saved."))
            return redirect("sla:index")
    return render(request, "sla/priority_form.html", {"form": form, "priority": priority})


@admin_required
def priority_new(request: StaffRequest) -> HttpResponse:
    return _priority_form(request, None)


@admin_required
def priority_edit(request: StaffRequest, priority_id: int) -> HttpResponse:
    return _priority_form(request, get_priority_for_admin(request, priority_id))


def _rule_form(request: StaffRequest, rule: EscalationRule | None) -> HttpResponse:
    initial = EscalationRuleForm.initial_for(rule) if rule else {"is_active": True}
    form = EscalationRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "notify_users"}
        try:
            services.escalation_rule_save(
                tenant=request.tenant,
                rule=rule,
                values=values,
                notify_users=list(form.cleaned_data["notify_users"]),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Escalation rule saved."))
            return redirect("sla:index")
    return render(request, "sla/rule_form.html", {"form": form, "rule": rule})


@admin_required
def rule_new(request: StaffRequest) -> HttpResponse:
    return _rule_form(request, None)


@admin_required
def rule_edit(request: StaffRequest, rule_id: int) -> HttpResponse:
    return _rule_form(request, get_rule_for_admin(request, rule_id))
