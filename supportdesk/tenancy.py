"""Which tenant a request belongs to, and the scope every query runs in.

The tenant comes from the request host (``<slug>.<TENANT_DOMAIN>`` or a custom
:class:`TenantHost`), or for the API from the presented token. A request with no tenant
gets the public URLconf (a tenant list in development, 404 in production) and no scope,
so any query on a tenant-owned model raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from .authentication import token_failure_throttle, too_many, wait_message
from .http import TenantRequest
from .models import ApiToken, Membership, Tenant, TenantHost

PUBLIC_URLCONF = "supportdesk.urls_public"

_contact_finders: list[Callable[[Any], Any]] = []


def contact_finder_register(finder: Callable[[Any], Any]) -> None:
    """Make ``finder(user)`` the way a signed-in user's customer contact (with its
    organisation) is found in the current tenant's scope, or None. Contacts are the
    contracts app's, above this one, so it registers the finder from its ``ready()``."""
    _contact_finders[:] = [finder]


def _contact_of(user: Any) -> Any:
    if not _contact_finders:
        raise ImproperlyConfigured(
            "no contact finder is registered: add 'contracts' to INSTALLED_APPS"
        )
    return _contact_finders[0](user)


def tenant_for_host(host: str, *, user: Any = None) -> Tenant | None:
    """The tenant a host name routes to, or None: one query on every request.

    A custom :class:`TenantHost` wins over the ``<slug>.<TENANT_DOMAIN>`` form when both match.
    Given a signed-in ``user``, the same query brings their membership of that tenant
    (``membership_id`` and ``membership_role``, None when they hold none).
    """
    hostname = host.split(":", 1)[0].lower().rstrip(".")
    custom = Exists(TenantHost.objects.filter(tenant=OuterRef("pk"), hostname=hostname))
    routed = Q(custom)
    suffix = "." + settings.TENANT_DOMAIN
    slug = hostname[: -len(suffix)] if hostname.endswith(suffix) else ""
    if slug and "." not in slug:
        routed |= Q(slug=slug)
    tenants = Tenant.objects.filter(routed).order_by(custom.desc(), "pk")
    if user is not None and user.is_authenticated:
        with scopes_disabled():  # limited to the routed tenant by the outer reference
            mine = Membership.objects.filter(tenant=OuterRef("pk"), user=user)
        tenants = tenants.annotate(
            membership_id=Subquery(mine.values("pk")[:1]),
            membership_role=Subquery(mine.values("role")[:1]),
        )
    return tenants.first()


def _membership_of(tenant: Tenant, user: Any) -> Membership | None:
    """The membership :func:`tenant_for_host` read along with the tenant, as a model."""
    pk = getattr(tenant, "membership_id", None)
    if pk is None:
        return None
    membership = Membership(pk=pk, tenant=tenant, user=user, role=tenant.membership_role)  # type: ignore[attr-defined]
    membership._state.adding = False
    membership._state.db = Tenant.objects.db
    return membership


def token_from_header(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, key = header.partition(" ")
    if kind.lower() == "token" and key.strip():
        return key.strip()
    return None


class TenantMiddleware:
    """Set ``request.tenant``, ``request.membership`` and ``request.contact``; enter the scope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        request.contact = None
        request.api_token = None

        key = token_from_header(request)
        host_tenant = tenant_for_host(request.get_host(), user=None if key else request.user)
        tenant = host_tenant
        if key is not None:
            failures = token_failure_throttle(request)
            if failures.blocked():
                seconds = int(failures.wait() or 1)
                return too_many(JsonResponse({"detail": wait_message(seconds)}), seconds)
            token = ApiToken.objects.find(key)
            if token is None or not token.user.is_active:
                failures.count()
                return JsonResponse({"detail": "Invalid token."}, status=401)
            if host_tenant is not None and host_tenant.pk != token.tenant_id:
                # A token of another tenant on this tenant's host: same answer as a miss.
                return JsonResponse({"detail": "Not found."}, status=404)
            request.api_token = token
            tenant = token.tenant

        if tenant is None:
            request.urlconf = PUBLIC_URLCONF
            return self.get_response(request)

        request.tenant = tenant
        with scope(tenant=tenant):
            user = request.api_token.user if request.api_token else request.user
            if user.is_authenticated:
                if request.api_token is None:
                    request.membership = _membership_of(tenant, user)
                else:
                    request.membership = Membership.objects.filter(
                        user=request.api_token.user
                    ).first()
                if request.membership is None:
                    # Staff of the tenant are never its customers: one query fewer for them.
                    contact = _contact_of(user)
                    request.contact = contact
                    if contact is not None:
                        # The scope's tenant is the contact's: reading it again is a query on
                        # every customer request (the plan lookup asks for it).
                        contact.tenant = tenant
                        if contact.organisation is not None:
                            contact.organisation.tenant = tenant
            return self.get_response(request)


class LanguageMiddleware:
    """Language from the user's preference, else the tenant's default, else English."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        token = getattr(request, "api_token", None)
        user = token.user if token else request.user
        language = getattr(user, "language", "") if user.is_authenticated else ""
        if not language:
            language = request.session.get("language", "") if hasattr(request, "session") else ""
        if not language and request.tenant is not None:
            language = request.tenant.default_language
        language = language or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class TimeZoneMiddleware:
    """Pages and forms in the tenant's time zone: a time on any page (the review's due
    time, a closure, a frozen report) reads as the tenant's wall clock, and a time typed
    into a form means that wall clock, without each template remembering a
    ``{% timezone %}`` block. The API keeps UTC (ISO 8601 with "Z"), like Zendesk's and
    JSM's, so a client never depends on the tenant's zone; so do pages with no tenant.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        tenant = request.tenant
        if tenant is None or request.path.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(ZoneInfo(tenant.time_zone)):
            return self.get_response(request)


def tenant_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the tenant and the viewer's role in it.

    The signed-in contact is ``signed_in_contact``, not ``contact``: a page about a contact
    (the admin's contact form) names its own ``contact``, which then showed the customer
    menu to the admin. ``works_tickets`` is the role of ``@agent_required``.
    """
    membership = getattr(request, "membership", None)
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership,
        "signed_in_contact": getattr(request, "contact", None),
        "is_staff_member": membership is not None,
        "works_tickets": membership is not None and membership.is_agent,
    }


def all_tenants() -> list[Tenant]:
    """Every tenant, for the development landing page and management commands."""
    return list(Tenant.objects.order_by("name"))
