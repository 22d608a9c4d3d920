"""Tenant B's logged time, for ``tests/test_leaks.py``: its agent's name carries the marker,
so a time report that forgot the tenant would show it. The report names no object."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_scopes import scope

from tests.conftest import B_MARKER, Cast
from tickets.choices import Channel
from tickets.services import ticket_create, time_entry_log


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        ticket = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject=f"Timed {B_MARKER}",
            description="",
            channel=Channel.EMAIL,
            enforce_entitlement=False,
        )
        today = timezone.localdate()
        for work_date in (today, today - dt.timedelta(days=31)):
            time_entry_log(
                ticket=ticket, agent=cast.agent_b, minutes=95, billable=True, work_date=work_date
            )
    return {}


def make_a_objects(cast: Cast) -> dict[str, object]:
    return {}
