"""Macro pages: an agent's own under /agent/macros/, the tenant's shared ones under
/manage/macros/ (admins), and the reply box's search. Each view: fetch with access check ->
parse -> one service -> render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from supportdesk.access import admin_required, agent_required
from supportdesk.forms import form_save
from supportdesk.http import StaffRequest
from supportdesk.models import AuditEvent
from tickets.access import get_ticket_for_agent
from tickets.models import Macro

from . import services
from .access import (
    get_own_macro_for_agent,
    get_shared_macro_for_admin,
    macros_usable_by_agent,
)
from .forms import MacroForm
from .sandbox import ALLOWED_FILTERS, macro_context, macro_render, variable_names

SEARCH_RESULTS = 10

# The two kinds of macro share their templates; these name each kind's pages.
PERSONAL = {
    "list": "macros:list",
    "new": "macros:new",
    "edit": "macros:edit",
    "delete": "macros:delete",
}
SHARED = {
    "list": "macros:shared-list",
    "new": "macros:shared-new",
    "edit": "macros:shared-edit",
    "delete": "macros:shared-delete",
}


def _form_page(request: StaffRequest, macro: Macro, urls: dict[str, str]) -> HttpResponse:
    form = MacroForm(request.POST or None, instance=macro)
    saved = form_save(
        request, form, lambda: services.macro_save(macro=form.instance, actor=request.user)
    )
    if saved is not None:
        messages.success(request, _("Macro saved."))
        return redirect(urls["list"])
    return render(
        request,
        "macros/macro_form.html",
        {
            "form": form,
            "macro": macro,
            "urls": urls,
            "shared": macro.owner_id is None,
            "variables": variable_names(),
            "syntax_help": _(
                "Also available: %(if)s … %(else)s … %(endif)s, and the filters %(filters)s, "
                "e.g. %(example)s."
            )
            % {
                "if": "{% if … %}",
                "else": "{% else %}",
                "endif": "{% endif %}",
                "filters": ", ".join(ALLOWED_FILTERS),
                "example": '{{ requester.first_name|default:"…" }}',
            },
        },
    )


# --- An agent's own ----------------------------------------------------------------------


@require_GET
@agent_required
def personal_list(request: StaffRequest) -> HttpResponse:
    """My macros to edit, and the shared ones I can use."""
    usable = macros_usable_by_agent(request).select_related("set_priority", "set_assignee")
    return render(
        request,
        "macros/macro_list.html",
        {
            "own": usable.filter(owner_id=request.user.pk),
            "shared_macros": usable.filter(owner__isnull=True),
            "urls": PERSONAL,
            "shared": False,
        },
    )


@agent_required
def personal_new(request: StaffRequest) -> HttpResponse:
    return _form_page(request, Macro(tenant=request.tenant, owner=request.user), PERSONAL)


@agent_required
def personal_edit(request: StaffRequest, macro_id: int) -> HttpResponse:
    return _form_page(request, get_own_macro_for_agent(request, macro_id), PERSONAL)


@agent_required
@require_POST
def personal_delete(request: StaffRequest, macro_id: int) -> HttpResponse:
    macro = get_own_macro_for_agent(request, macro_id)
    services.macro_delete(macro=macro, actor=request.user)
    messages.success(request, _("Macro deleted."))
    return redirect("macros:list")


# --- Shared by the tenant (admins) ---------------------------------------------------------


@admin_required
def shared_list(request: StaffRequest) -> HttpResponse:
    """The tenant's shared macros, how often each was used, and their latest changes."""
    macros = Macro.objects.filter(owner__isnull=True).select_related("set_priority", "set_assignee")
    changes = AuditEvent.objects.filter(object_type="tickets.macro").select_related("actor")
    return render(
        request,
        "macros/macro_list.html",
        {"shared_macros": macros, "urls": SHARED, "shared": True, "changes": changes[:20]},
    )


@admin_required
def shared_new(request: StaffRequest) -> HttpResponse:
    return _form_page(request, Macro(tenant=request.tenant, owner=None), SHARED)


@admin_required
def shared_edit(request: StaffRequest, shared_macro_id: int) -> HttpResponse:
    return _form_page(request, get_shared_macro_for_admin(request, shared_macro_id), SHARED)


@admin_required
@require_POST
def shared_delete(request: StaffRequest, shared_macro_id: int) -> HttpResponse:
    macro = get_shared_macro_for_admin(request, shared_macro_id)
    services.macro_delete(macro=macro, actor=request.user)
    messages.success(request, _("Macro deleted."))
    return redirect("macros:shared-list")


# --- The reply box ---------------------------------------------------------------------------


@require_GET
@agent_required
def search(request: StaffRequest, ticket_id: int) -> JsonResponse:
    """Macros whose name matches ``q``, each with its text rendered for this ticket."""
    ticket = get_ticket_for_agent(request, ticket_id)
    found = list(
        macros_usable_by_agent(request)
        .matching(request.GET.get("q", ""))
        .select_related("set_priority", "set_assignee")[:SEARCH_RESULTS]
    )
    context = macro_context(ticket=ticket, agent=request.user)
    return JsonResponse(
        {
            "macros": [
                {
                    "id": macro.pk,
                    "name": macro.name,
                    "shared": macro.is_shared,
                    "body": macro_render(macro.body, context),
                    "actions": macro.action_labels(),
                }
                for macro in found
            ]
        }
    )
