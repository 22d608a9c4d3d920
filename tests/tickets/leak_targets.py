"""Tenant B's objects behind the agent pages' and ticket API's URL kwargs
(``attachment_id`` comes from ``tests/portal/leak_targets.py``)."""

from __future__ import annotations

from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.choices import Channel
from tickets.models import QueueView
from tickets.services import ticket_create, ticket_reply


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        ticket = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Agent ticket {B_MARKER}",
            description=f"Description {B_MARKER}",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        ticket_reply(
            ticket=ticket,
            body=f"Internal {B_MARKER}",
            public=False,
            channel=Channel.PORTAL,
            author=cast.agent_b,
        )
        view = QueueView.objects.create(
            tenant=cast.tenant_b,
            owner=cast.agent_b,
            name=f"View {B_MARKER}",
            filters={"q": B_MARKER},
        )
    return {"ticket_id": ticket.pk, "view_id": view.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's ``ticket_id`` (and ``attachment_id``) come from ``tests/portal/leak_targets.py``:
    one ticket of the customer contact serves the agent pages and the portal. ``view_id`` is
    the agent's own saved view."""
    with scope(tenant=cast.tenant_a):
        view = QueueView.objects.create(
            tenant=cast.tenant_a, owner=cast.agent, name="Mine, 2nd line", filters={"line": "2"}
        )
    return {"view_id": view.pk}
