"""Fetching SLA configuration for tenant admins: other tenants' rows are a plain 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import Http404, HttpRequest

from supportdesk.access import tenant_for_admin

from .models import Calendar, EscalationRule, Priority, SLAPolicy


def _for_admin(request: HttpRequest, model: type[Model], pk: int) -> Any:
    obj = model._default_manager.filter(tenant=tenant_for_admin(request), pk=pk).first()  # type: ignore[misc]
    if obj is None:
        raise Http404
    return obj


def get_calendar_for_admin(request: HttpRequest, calendar_id: int) -> Calendar:
    return _for_admin(request, Calendar, calendar_id)  # type: ignore[no-any-return]


def get_policy_for_admin(request: HttpRequest, policy_id: int) -> SLAPolicy:
    return _for_admin(request, SLAPolicy, policy_id)  # type: ignore[no-any-return]


def get_priority_for_admin(request: HttpRequest, priority_id: int) -> Priority:
    return _for_admin(request, Priority, priority_id)  # type: ignore[no-any-return]


def get_rule_for_admin(request: HttpRequest, rule_id: int) -> EscalationRule:
    return _for_admin(request, EscalationRule, rule_id)  # type: ignore[no-any-return]
