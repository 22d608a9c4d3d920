"""How the webhook pages fetch webhooks: the request's tenant, its admin only; 404 otherwise."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from supportdesk.access import tenant_for_admin

from .models import Webhook


def get_webhook_for_admin(request: HttpRequest, webhook_id: int) -> Webhook:
    return get_object_or_404(
        Webhook.objects.filter(tenant=tenant_for_admin(request)), pk=webhook_id
    )
