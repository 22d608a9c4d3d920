"""Tenant B's objects behind the portal's URL kwargs, for ``tests/test_leaks.py``."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.choices import Channel, Rating
from tickets.models import Attachment
from tickets.portal.services import login_link_token
from tickets.satisfaction.services import rating_link_token
from tickets.services import ticket_create


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        ticket = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Portal ticket {B_MARKER}",
            description=f"Secret {B_MARKER}",
            channel=Channel.PORTAL,
            attachments=[SimpleUploadedFile("secret.txt", B_MARKER.encode(), "text/plain")],
            enforce_entitlement=False,
        )
        attachment = Attachment.objects.get(ticket=ticket)
        token = login_link_token(tenant=cast.tenant_b, user=cast.contact_b_user)
    return {"attachment_id": attachment.pk, "login_token": token}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """The customer contact's ticket with an attachment and the customer's login link, for
    the role table (``tests/test_roles.py``); the ticket is also the agents' ``ticket_id``."""
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Printer on fire",
            description="It smokes.",
            channel=Channel.PORTAL,
            attachments=[SimpleUploadedFile("smoke.txt", b"smoke", "text/plain")],
            enforce_entitlement=False,
        )
        attachment = Attachment.objects.get(ticket=ticket)
        token = login_link_token(tenant=cast.tenant_a, user=cast.customer)
        # A valid link of a ticket not solved yet: every role gets the page's 400.
        rating = rating_link_token(ticket=ticket, contact=cast.customer_contact, rating=Rating.GOOD)
    return {
        "ticket_id": ticket.pk,
        "attachment_id": attachment.pk,
        "login_token": token,
        "rating_token": rating,
    }
