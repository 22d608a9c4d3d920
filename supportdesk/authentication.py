"""Authentication: API tokens (resolved by the tenant middleware) and throttling.

Failed web logins are counted by django-axes per user name and IP address (settings
``AXES_*``); :func:`login_locked_out` is its answer. Password-reset requests and failed API
tokens are counted with DRF's cache-backed throttles (:class:`FailureThrottle`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .models import ApiToken


def client_ip(request: HttpRequest) -> str:
    """The client's address, by the same rule for axes and the throttles (``NUM_PROXIES``)."""
    # get_ident reads only META, which both request kinds have
    return BaseThrottle().get_ident(cast(Request, request))


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The user name axes counts failures under: "Admin " and "admin" are one account."""
    source = credentials if credentials is not None else request.POST
    return str(source.get("username") or "").strip().lower()


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Try again in %(minutes)d minute.",
        "Too many attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def too_many(response: HttpResponse, seconds: int) -> HttpResponse:
    """Mark ``response`` as a 429 that says when to come back."""
    response.status_code = 429
    response["Retry-After"] = str(max(1, math.ceil(seconds)))
    return response


def login_locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The login page again, answered 429 with ``Retry-After`` (``AXES_LOCKOUT_CALLABLE``)."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "registration/login.html",
        {"locked_out": wait_message(seconds), "next": request.POST.get("next", "")},
    )
    return too_many(response, seconds)


class FailureThrottle(SimpleRateThrottle):
    """Counts events (failures, requests) per key in the cache; ``blocked`` only peeks."""

    def __init__(self, *, scope: str, ident: str) -> None:
        self.scope, self.rate, self.ident = scope, settings.THROTTLE_RATES[scope], ident
        super().__init__()
        self.num_requests: int
        self.duration: int

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def blocked(self) -> bool:
        self.key = self.get_cache_key(None, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def count(self) -> None:
        nobody: Any = None  # the key does not depend on the request or the view
        self.allow_request(nobody, nobody)


def _hashed(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def token_failure_throttle(request: HttpRequest) -> FailureThrottle:
    """Failed API tokens per client address: beyond the rate, every token answers 429."""
    return FailureThrottle(scope="bad-api-key", ident=client_ip(request))


def password_reset_wait(request: HttpRequest, *, email: str) -> int | None:
    """Count a password-reset request per address and per client; seconds to wait when
    either is over its rate (nothing is counted then), else None."""
    return throttle_wait(
        FailureThrottle(scope="reset-per-ip", ident=client_ip(request)),
        FailureThrottle(scope="reset-per-address", ident=_hashed(email)),
    )


def throttle_wait(*throttles: FailureThrottle) -> int | None:
    """Count one event on each of ``throttles``; the seconds to wait when any is over its
    rate (nothing is counted then), else None."""
    waits = [t.wait() for t in throttles if t.blocked()]
    if waits:
        return int(max(w or 1 for w in waits))
    for throttle in throttles:
        throttle.count()
    return None


class TenantTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <key>``; the key was matched in :class:`TenantMiddleware`."""

    keyword = "Token"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        token: ApiToken | None = getattr(request._request, "api_token", None)
        if token is None:
            return None
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class TenantTokenScheme(OpenApiAuthenticationExtension):
    """Describe the token scheme in the OpenAPI schema."""

    target_class = "supportdesk.authentication.TenantTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create keys under 'API tokens'. "
            "The key decides the tenant.",
        }
