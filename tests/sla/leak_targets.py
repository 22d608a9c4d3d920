"""Tenant B's SLA configuration behind the /manage/sla/ URL kwargs."""

from __future__ import annotations

import datetime as dt

from django_scopes import scope

from sla.models import Calendar, EscalationRule, Metric, Priority, RecomputeJob, SLAPolicy
from tests.conftest import B_MARKER, Cast


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        calendar = Calendar.objects.create(
            tenant=cast.tenant_b,
            name=f"Hours {B_MARKER}",
            config={"timezone": "Europe/Brussels", "always_open": True},
        )
        policy = SLAPolicy.objects.create(
            tenant=cast.tenant_b, name=f"Policy {B_MARKER}", calendar=calendar
        )
        priority = Priority.objects.create(
            tenant=cast.tenant_b, key="P1", name=f"Urgent {B_MARKER}", rank=1
        )
        rule = EscalationRule.objects.create(
            tenant=cast.tenant_b,
            name=f"Rule {B_MARKER}",
            metric=Metric.RESOLUTION,
            threshold_percent=50,
        )
        # A recompute in progress on B's calendar: its progress is B's alone.
        RecomputeJob.objects.create(
            tenant=cast.tenant_b,
            object_type="sla.calendar",
            object_id=str(calendar.pk),
            at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            why={"kind": "calendar", "name": B_MARKER},
            state="running",
            total=777_777,
        )
    return {
        "calendar_id": calendar.pk,
        "policy_id": policy.pk,
        "priority_id": priority.pk,
        "rule_id": rule.pk,
    }


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's SLA configuration, for the role table (``tests/test_roles.py``)."""
    with scope(tenant=cast.tenant_a):
        calendar = Calendar.objects.create(
            tenant=cast.tenant_a,
            name="Hours A",
            config={"timezone": "Europe/Stockholm", "always_open": True},
        )
        policy = SLAPolicy.objects.create(tenant=cast.tenant_a, name="Policy A", calendar=calendar)
        priority = Priority.objects.create(tenant=cast.tenant_a, key="P1", name="Urgent", rank=1)
        rule = EscalationRule.objects.create(
            tenant=cast.tenant_a, name="Rule A", metric=Metric.RESOLUTION, threshold_percent=50
        )
    return {
        "calendar_id": calendar.pk,
        "policy_id": policy.pk,
        "priority_id": priority.pk,
        "rule_id": rule.pk,
    }
