"""The request as views see it: what :class:`~supportdesk.tenancy.TenantMiddleware` sets.

These classes exist for type checking only. No request is ever an instance of them: Django
builds an ``HttpRequest`` (DRF wraps it in a ``Request``) and the middleware sets the
attributes declared here. A view annotates its ``request`` with the narrowest class its guard
guarantees and reads ``request.tenant`` directly, not through an untyped copy of the request.

- :class:`TenantRequest`: any request past the middleware (the tenant may be missing).
- :class:`MemberRequest`: behind ``member_required``: a tenant and a signed-in user.
- :class:`StaffRequest`: behind ``staff_required``, ``agent_required``, ``manager_required``
  or ``admin_required``: that, and the user's membership of the tenant.
- :class:`ApiRequest`, :class:`MemberApiRequest`, :class:`StaffApiRequest`: DRF's request
  around those (its ``_request``), behind ``IsTenantStaff`` and the like for the last two.

The customer contact is the contracts app's model, above this one, so here it is only an
object; ``contracts.http.PortalRequest`` (behind ``contact_required``) types it. A class
there rather than a lazy or ``TYPE_CHECKING`` import here: this layer never names a higher one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from .models import ApiToken, Membership, Tenant, User


class TenantRequest(HttpRequest):
    """A request the tenancy middleware has seen."""

    tenant: Tenant | None
    membership: Membership | None
    contact: object | None
    """The signed-in user's customer contact (``contracts.models.Contact``), for non-staff."""
    api_token: ApiToken | None
    htmx: HtmxDetails
    """django-htmx's middleware: whether (and how) htmx made the request."""
    urlconf: str
    """Django's own: set (to the public URLconf) when the host names no tenant."""


class MemberRequest(TenantRequest):
    """Behind a guard: the request's tenant and a signed-in user (staff or customer)."""

    tenant: Tenant
    user: User


class StaffRequest(MemberRequest):
    """Behind a staff role guard: also the signed-in user's membership of the tenant."""

    membership: Membership


class ApiRequest(Request):
    """DRF's request; the tenancy attributes are on the Django request it wraps."""

    _request: TenantRequest


class MemberApiRequest(Request):
    """DRF's request behind a permission that lets in only signed-in members of the tenant."""

    _request: MemberRequest

    if TYPE_CHECKING:  # DRF's own property answers at run time; this only narrows its type

        @property
        def user(self) -> User: ...

        @user.setter
        def user(self, value: User) -> None: ...


class StaffApiRequest(MemberApiRequest):
    """DRF's request behind ``IsTenantStaff`` (or a subclass): a signed-in staff member."""

    _request: StaffRequest
