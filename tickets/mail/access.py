"""How the mailbox admin pages fetch mailboxes: the request's tenant only, 404 otherwise."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from supportdesk.access import tenant_for_admin

from .models import InboundEmail, Mailbox


def get_mailbox_for_admin(request: HttpRequest, mailbox_id: int) -> Mailbox:
    return get_object_or_404(
        Mailbox.objects.filter(tenant=tenant_for_admin(request)), pk=mailbox_id
    )


def get_inbound_for_admin(request: HttpRequest, inbound_id: int) -> InboundEmail:
    return get_object_or_404(
        InboundEmail.objects.filter(tenant=tenant_for_admin(request)).defer("raw"),
        pk=inbound_id,
    )
