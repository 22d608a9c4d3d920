"""Pages that belong to no single app: landing, language, API tokens, health."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_stubs_ext import StrOrPromise
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.forms import is_plain_number

from .access import admin_required, member_required
from .audit import audit_rows, kind_label
from .authentication import password_reset_wait, too_many, wait_message
from .http import MemberRequest, StaffRequest, TenantRequest
from .models import ApiToken, AuditEvent, Language
from .tenancy import all_tenants


def _first_url(*names: str) -> str | None:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def home(request: TenantRequest) -> HttpResponse:
    """Send each person to where their work is: queue, portal, or the login page."""
    if not request.user.is_authenticated:
        return redirect("login")
    if request.membership is not None:
        target = _first_url("tickets:queue")
    elif request.contact is not None:
        target = _first_url("portal:list")
    else:
        target = None
    if target:
        return redirect(target)
    return render(
        request, "home.html", {"no_access": request.membership is None and request.contact is None}
    )


# The administration index: (section, [(url name, label, help)]); a link whose URL is not
# installed is left out, so the page never breaks when an app is absent.
MANAGE_SECTIONS: list[tuple[StrOrPromise, list[tuple[str, StrOrPromise, StrOrPromise]]]] = [
    (
        gettext_lazy("Customers"),
        [
            (
                "contracts:organisation-list",
                gettext_lazy("Organisations"),
                gettext_lazy("Customer organisations, account managers, service owners"),
            ),
            (
                "contracts:contact-list",
                gettext_lazy("Contacts"),
                gettext_lazy("People at customer organisations; CSV import"),
            ),
            (
                "contracts:contract-list",
                gettext_lazy("Contracts"),
                gettext_lazy("Validity, suspension, named contacts"),
            ),
            (
                "contracts:entitlement-check",
                gettext_lazy("Entitlement check"),
                gettext_lazy("May this contact ask this, by this channel?"),
            ),
        ],
    ),
    (
        gettext_lazy("Plans"),
        [
            (
                "contracts:plan-list",
                gettext_lazy("Support plans"),
                gettext_lazy("Tiers, prices, channels, scope, named-contact rules"),
            ),
            (
                "contracts:feature-list",
                gettext_lazy("Feature matrix"),
                gettext_lazy("The features plans include"),
            ),
        ],
    ),
    (
        gettext_lazy("Service levels"),
        [
            (
                "sla:index",
                gettext_lazy("Calendars, priorities and SLA policies"),
                gettext_lazy("Opening hours, holidays, targets, escalation rules"),
            ),
            (
                "tickets:vendor-settings",
                gettext_lazy("Vendor escalation"),
                gettext_lazy("Pausing the resolution clock, customer updates while waiting"),
            ),
            (
                "problems:settings",
                gettext_lazy("Problem suggestions"),
                gettext_lazy("When recurring incidents suggest opening a problem"),
            ),
            (
                "tickets:review-settings",
                gettext_lazy("Post-incident reviews"),
                gettext_lazy("Which closed tickets get a review, and within how many days"),
            ),
        ],
    ),
    (
        gettext_lazy("Channels and self-service"),
        [
            (
                "mail:mailbox-list",
                gettext_lazy("Mailboxes"),
                gettext_lazy("IMAP mailboxes polled for new tickets"),
            ),
            (
                "notifications:webhook-list",
                gettext_lazy("Webhooks"),
                gettext_lazy("Ticket events posted to Slack, Teams or your own systems"),
            ),
            (
                "routing:list",
                gettext_lazy("Routing rules"),
                gettext_lazy("Who gets a new ticket, and who hears about it"),
            ),
            (
                "macros:shared-list",
                gettext_lazy("Macros"),
                gettext_lazy("Saved replies every agent can use, with their actions"),
            ),
            (
                "knowledgebase:manage-list",
                gettext_lazy("Knowledge base"),
                gettext_lazy("Articles and who may read them"),
            ),
            (
                "token-list",
                gettext_lazy("API tokens"),
                gettext_lazy("Keys for scripts and integrations"),
            ),
            (
                "audit-list",
                gettext_lazy("Audit trail"),
                gettext_lazy("Who changed which setting, and when"),
            ),
        ],
    ),
]


@admin_required
def manage_index(request: StaffRequest) -> HttpResponse:
    """Where a tenant admin configures everything, one link per task."""
    sections = []
    for title, links in MANAGE_SECTIONS:
        present = [
            (url, label, help_text) for name, label, help_text in links if (url := _first_url(name))
        ]
        if present:
            sections.append((title, present))
    return render(request, "manage_index.html", {"sections": sections})


@admin_required
def audit_list(request: StaffRequest) -> HttpResponse:
    """The latest configuration changes: who changed what, when, from what to what."""
    events = AuditEvent.objects.select_related("actor")
    kind = request.GET.get("type", "")
    if kind:
        events = events.filter(object_type=kind)
    types = AuditEvent.objects.order_by().values_list("object_type", flat=True).distinct()
    kinds = sorted(((t, kind_label(t)) for t in types), key=lambda pair: pair[1])
    return render(
        request,
        "audit_list.html",
        {"rows": audit_rows(events[:200]), "kinds": kinds, "kind": kind},
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever the page links: the SVG icon."""
    path = finders.find("favicon.svg")
    if not path:
        raise Http404
    with open(path, "rb") as icon:  # noqa: PTH123 - a path from the static finders
        response = HttpResponse(icon.read(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def tenant_index(request: HttpRequest) -> HttpResponse:
    """Development only: the tenants this installation serves, with their addresses."""
    if not settings.DEBUG:
        raise Http404
    return render(request, "tenant_index.html", {"tenants": all_tenants()})


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Remember the chosen language on the user (or the session when anonymous)."""
    language = request.POST.get("language", "")
    if language not in Language.values:
        messages.error(request, _("Unknown language."))
        return redirect("home")
    if request.user.is_authenticated:
        user: Any = request.user
        user.language = language
        user.save(update_fields=["language"])
    request.session["language"] = language
    next_url = request.POST.get("next") or "/"
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else "/")


@member_required
def token_list(request: MemberRequest) -> HttpResponse:
    """Staff and customers create API tokens for scripts; the key is shown once.

    A customer's token reaches only the customer API (/api/v1/portal/...), and filing by
    API still needs a plan that includes the API channel.
    """
    if request.membership is None and request.contact is None:
        raise Http404
    new_key = None
    user = request.user
    if request.method == "POST":
        revoke = request.POST.get("revoke", "")
        if revoke:
            if is_plain_number(revoke):
                ApiToken.objects.filter(tenant=request.tenant, user=user, pk=int(revoke)).delete()
            messages.success(request, _("Token revoked."))
            return redirect("token-list")
        name = request.POST.get("name", "").strip()[:100]
        if not name:
            messages.error(request, _("Give the token a name."))
        else:
            _token, new_key = ApiToken.issue(tenant=request.tenant, user=user, name=name)
    tokens = ApiToken.objects.filter(tenant=request.tenant, user=user).order_by("-created_at")
    return render(request, "token_list.html", {"tokens": tokens, "new_key": new_key})


@csrf_exempt  # answers 404 to any method and changes nothing; no CSRF page in the API
def api_not_found(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"detail": _("Not found.")}, status=404)


def api_needs_token(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {"detail": "Authenticate with 'Authorization: Token <key>' or use your tenant's host."},
        status=401,
    )


@extend_schema(
    responses=inline_serializer(
        "Me",
        {
            "username": serializers.CharField(),
            "tenant": serializers.CharField(),
            "role": serializers.CharField(allow_null=True),
        },
    )
)
@api_view(["GET"])
def api_me(request: Request) -> Response:
    """Who the token (or session) belongs to, and in which tenant."""
    # @api_view types its view's argument as DRF's Request; IsTenantStaff (the default) let it in.
    staff = cast(StaffRequest, request._request)
    membership = staff.membership
    return Response(
        {
            "username": request.user.get_username(),
            "tenant": staff.tenant.slug,
            "role": membership.role if membership else None,
        }
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, counted per client address and per e-mail address: beyond
    the rate the form says when to try again (429 with ``Retry-After``) and sends nothing."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        seconds = password_reset_wait(self.request, email=form.cleaned_data["email"])
        if seconds is None:
            return super().form_valid(form)
        form.add_error(None, wait_message(seconds))
        return too_many(self.form_invalid(form), seconds)
