"""Tenant B's webhook behind the webhook admin URLs, for ``tests/test_leaks.py``; tenant A's
own for the role table (``tests/test_roles.py``)."""

from __future__ import annotations

from django_scopes import scope

from notifications.models import Webhook
from tests.conftest import B_MARKER, Cast


def _webhook(tenant: object, name: str) -> Webhook:
    # TEST-NET-1 (RFC 5737): refused as not public before any connection is tried, so the
    # "Send a test" button answers at once.
    return Webhook.objects.create(
        tenant=tenant, name=name, url="http://192.0.2.1/hook", secret=f"secret-{name}"
    )


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        webhook = _webhook(cast.tenant_b, f"Webhook {B_MARKER}")
    return {"webhook_id": webhook.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_a):
        webhook = _webhook(cast.tenant_a, "Webhook A")
    return {"webhook_id": webhook.pk}
