"""Fetching macros: another agent's personal macro, another tenant's, and one that does not
exist are the same 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from supportdesk.access import tenant_for_admin
from supportdesk.http import TenantRequest
from tickets.models import Macro, MacroQuerySet


def _agent_tenant(request: TenantRequest) -> Any:
    if request.membership is None or getattr(request, "tenant", None) is None:
        raise Http404
    return request.tenant


def macros_usable_by_agent(request: TenantRequest) -> MacroQuerySet:
    """The tenant's shared macros and the signed-in agent's own."""
    return Macro.objects.filter(tenant=_agent_tenant(request)).usable_by(request.user)


def get_usable_macro_for_agent(request: TenantRequest, macro_id: int) -> Macro:
    """A macro the agent may apply: shared, or their own."""
    macro = (
        macros_usable_by_agent(request)
        .select_related("set_priority", "set_assignee")
        .filter(pk=macro_id)
        .first()
    )
    if macro is None:
        raise Http404
    return macro


def get_own_macro_for_agent(request: TenantRequest, macro_id: int) -> Macro:
    """One of the signed-in agent's personal macros (to edit or delete)."""
    macro = Macro.objects.filter(
        tenant=_agent_tenant(request), owner_id=request.user.pk, pk=macro_id
    ).first()
    if macro is None:
        raise Http404
    return macro


def get_shared_macro_for_admin(request: TenantRequest, shared_macro_id: int) -> Macro:
    """A shared macro of the admin's tenant."""
    macro = Macro.objects.filter(
        tenant=tenant_for_admin(request), owner__isnull=True, pk=shared_macro_id
    ).first()
    if macro is None:
        raise Http404
    return macro
