"""Who may see what. Every view goes through one of these; "not yours" is a 404.

Views never answer 403 for another tenant's objects: a 404 tells an outsider nothing
about what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseBase
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from .http import MemberRequest, StaffRequest
from .models import AGENT_ROLES, Role, User

P = ParamSpec("P")
ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)
Guarded = TypeVar("Guarded", bound=MemberRequest, covariant=True)
Passed = TypeVar("Passed", bound=MemberRequest)


class Guard(Protocol[Guarded]):
    """A role guard's type: it takes a view of the request it guarantees (``StaffRequest``
    for the staff roles), or of any wider one, and gives Django a view of a plain request."""

    def __call__(
        self, view: Callable[Concatenate[Guarded, P], ResponseT]
    ) -> Callable[Concatenate[HttpRequest, P], ResponseT]: ...


class ContactGuard(Protocol):
    """``contact_required``'s type: the contact's request type is contracts'
    (``contracts.http.PortalRequest``), above this app, so this accepts a view of any
    :class:`MemberRequest` or narrower; a view of a plain request is refused."""

    def __call__(
        self, view: Callable[Concatenate[Passed, P], ResponseT]
    ) -> Callable[Concatenate[HttpRequest, P], ResponseT]: ...


STAFF_ROLES = (Role.ADMIN, Role.AGENT, Role.MANAGER)


def has_role(request: HttpRequest, *roles: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in roles


def tenant_for_admin(request: HttpRequest) -> Any:
    """The request's tenant when the signed-in user is its admin; else 404.

    The ``get_<noun>_for_admin`` fetchers filter by it, so they refuse an agent even when a
    view forgets ``@admin_required`` (inside a tenant, too, "not yours" is a 404).
    """
    tenant = getattr(request, "tenant", None)
    if tenant is None or not has_role(request, Role.ADMIN):
        raise Http404
    return tenant


def staff_user(request: HttpRequest) -> User:
    """The signed-in member behind a view that a role guard already let in; 404 otherwise."""
    user = request.user
    if not isinstance(user, User) or getattr(request, "membership", None) is None:
        raise Http404
    return user


def _guard(check: Callable[[HttpRequest], bool]) -> Any:
    """The decorator that answers 404 unless ``check``; typed by :class:`Guard` where used."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if getattr(request, "tenant", None) is None:
                raise Http404
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required: Guard[StaffRequest] = _guard(lambda r: has_role(r, *STAFF_ROLES))
"""Agents, managers and admins of the request's tenant."""

agent_required: Guard[StaffRequest] = _guard(lambda r: has_role(r, *AGENT_ROLES))
"""Those who work tickets: agents and admins."""

admin_required: Guard[StaffRequest] = _guard(lambda r: has_role(r, Role.ADMIN))
"""Tenant administrators only."""

manager_required: Guard[StaffRequest] = _guard(lambda r: has_role(r, Role.ADMIN, Role.MANAGER))
"""Those who read reports: managers and admins."""

contact_required: ContactGuard = _guard(lambda r: getattr(r, "contact", None) is not None)
"""Customer contacts with a portal login in the request's tenant."""

member_required: Guard[MemberRequest] = _guard(
    lambda r: has_role(r, *STAFF_ROLES) or getattr(r, "contact", None) is not None
)
"""Anyone who belongs to the tenant, staff or customer."""


def method_unsupported(request: Any, view: Any) -> bool:
    """A method the endpoint does not have: permissions let DRF answer 405, as the OpenAPI
    schema (public) already says which methods exist; nothing about any row is revealed."""
    return request.method not in getattr(view, "allowed_methods", [request.method])


class IsTenantStaff(BasePermission):
    """API: an authenticated agent, manager or admin of the request's tenant."""

    roles: tuple[str, ...] = STAFF_ROLES
    safe_roles: tuple[str, ...] | None = None

    def has_permission(self, request: Any, view: Any) -> bool:
        if method_unsupported(request, view):
            return True
        if getattr(request, "tenant", None) is None or not request.user.is_authenticated:
            return False  # DRF answers 401 and asks for credentials
        roles = self.roles
        if self.safe_roles is not None and request.method in ("GET", "HEAD", "OPTIONS"):
            roles = self.safe_roles
        if not has_role(request, *roles):
            # Signed in but not allowed: the same answer as "does not exist", never 403.
            raise NotFound
        return True


class IsTenantAgent(IsTenantStaff):
    """API: agents and admins write; managers may read."""

    roles = AGENT_ROLES
    safe_roles = STAFF_ROLES


class IsTenantAdmin(IsTenantStaff):
    """API: admins write; every staff member may read."""

    roles = (Role.ADMIN,)
    safe_roles = STAFF_ROLES
