"""Tenant B's macros behind the macro pages' URL kwargs, for ``tests/test_leaks.py``: a
shared one (``shared_macro_id``, the admin pages) and agent B's own (``macro_id``)."""

from __future__ import annotations

from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.choices import Status
from tickets.models import Macro


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        shared = Macro.objects.create(
            tenant=cast.tenant_b,
            name=f"Shared {B_MARKER}",
            body=f"Hello {{{{ requester.first_name }}}} {B_MARKER}",
            set_status=Status.PENDING,
            note=f"Note {B_MARKER}",
        )
        personal = Macro.objects.create(
            tenant=cast.tenant_b,
            owner=cast.agent_b,
            name=f"Mine {B_MARKER}",
            body=f"Personal {B_MARKER}",
        )
    return {"shared_macro_id": shared.pk, "macro_id": personal.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """A shared macro and the agent's own, for the role table: only the agent reaches their
    personal macro's pages (an admin is refused another agent's like anyone else)."""
    with scope(tenant=cast.tenant_a):
        shared = Macro.objects.create(
            tenant=cast.tenant_a, name="Waiting on you", body="Hej {{ requester.first_name }}"
        )
        personal = Macro.objects.create(
            tenant=cast.tenant_a, owner=cast.agent, name="My thanks", body="Tack!"
        )
    return {"shared_macro_id": shared.pk, "macro_id": personal.pk}
