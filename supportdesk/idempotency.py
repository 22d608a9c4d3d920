"""``Idempotency-Key`` on API POSTs: a repeat returns the first response, never a second effect.

As Stripe does it: the key is kept per tenant and per token (or signed-in user) for 24 hours;
the same key with the same request answers the stored status and body again (marked
``Idempotent-Replayed: true``); the same key with a different request is a 422.

The request runs in one transaction with the stored response, so a request that failed
(any 5xx, a lost connection) left no effect and no key, and its retry runs afresh. On
PostgreSQL a concurrent repeat waits on the key's unique index until the first commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .http import TenantRequest
from .models import IdempotencyKey, Tenant

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _owner(request: TenantRequest) -> str | None:
    if request.api_token is not None:
        return f"token:{request.api_token.pk}"
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256(request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def idempotency_key_claim(
    *, tenant: Tenant, owner: str, key: str, fingerprint: str
) -> tuple[IdempotencyKey, bool]:
    """The key's row and whether this request claimed it (True) or it was used before.

    Caller holds an open transaction that also covers the request's effects and
    :func:`idempotency_key_record`; the owner's expired keys are dropped on the way.
    """
    IdempotencyKey.objects.filter(
        tenant=tenant, owner=owner, created_at__lt=timezone.now() - KEEP_FOR
    ).delete()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                tenant=tenant, owner=owner, key=key, fingerprint=fingerprint
            )
        return row, True
    except IntegrityError:
        return IdempotencyKey.objects.get(tenant=tenant, owner=owner, key=key), False


def idempotency_key_record(*, row: IdempotencyKey, response: HttpResponse) -> None:
    """Store the response a claimed key answered; caller's transaction is still open."""
    row.status_code = response.status_code
    row.content_type = response.get("Content-Type", "")
    row.body = response.content
    row.save(update_fields=["status_code", "content_type", "body"])


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status_code)
    if row.content_type:
        response["Content-Type"] = row.content_type
    else:  # as the first answer was (a 204 has no body and no type), not text/html
        del response["Content-Type"]
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    """Apply ``Idempotency-Key`` to POSTs under /api/; after the tenant middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        tenant: Tenant | None = getattr(request, "tenant", None)
        owner = _owner(request) if tenant is not None else None
        if key is None or request.method != "POST" or tenant is None or owner is None:
            return self.get_response(request)
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            message = _("The Idempotency-Key header must be 1 to 255 characters.")
            return JsonResponse({"detail": message}, status=400)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            row, claimed = idempotency_key_claim(
                tenant=tenant, owner=owner, key=key, fingerprint=fingerprint
            )
            if not claimed:
                if row.fingerprint != fingerprint:
                    message = _("This Idempotency-Key was used with a different request.")
                    return JsonResponse({"detail": message}, status=422)
                return _replay(row)
            response = self.get_response(request)
            if response.status_code >= 500 or response.streaming:
                transaction.set_rollback(True)  # nothing happened: the retry runs afresh
            else:
                idempotency_key_record(row=row, response=response)
        return response
