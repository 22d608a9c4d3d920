"""API authentication: the tenant middleware already resolved the token."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from .models import ApiToken


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
