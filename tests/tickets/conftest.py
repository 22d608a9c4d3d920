"""Tenant A with a business calendar, a priority scheme, an SLA policy and a contract, so
tickets filed by the cast's customers get clocks. Celery runs eagerly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from contracts.models import Contract, SupportPlan
from sla.models import Calendar, Metric, Priority, SLAPolicy, SLATarget, TargetUnit
from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tickets.choices import Category

STOCKHOLM = ZoneInfo("Europe/Stockholm")

OFFICE = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public"]},
}
ALWAYS = {"timezone": "Europe/Stockholm", "always_open": True}


def at(*args: int) -> dt.datetime:
    """A Stockholm wall-clock instant."""
    return dt.datetime(*args, tzinfo=STOCKHOLM)


@dataclass
class Desk:
    office: Calendar
    always: Calendar
    p1: Priority
    p2: Priority
    p3: Priority
    policy: SLAPolicy
    plan: SupportPlan
    contract: Contract


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


def build_desk(cast: Cast) -> Desk:
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        office = Calendar.objects.create(
            tenant=tenant, name="Office", config=OFFICE, is_default=True
        )
        always = Calendar.objects.create(tenant=tenant, name="24/7", config=ALWAYS)
        p1 = Priority.objects.create(tenant=tenant, key="P1", name="Critical", rank=1)
        p2 = Priority.objects.create(tenant=tenant, key="P2", name="High", rank=2)
        p3 = Priority.objects.create(
            tenant=tenant, key="P3", name="Normal", rank=3, is_default=True
        )
        policy = SLAPolicy.objects.create(tenant=tenant, name="Standard", calendar=office)
        targets = [
            (Metric.FIRST_RESPONSE, None, 4, TargetUnit.HOURS, None),
            (Metric.RESOLUTION, None, 2, TargetUnit.WORKING_DAYS, None),
            (Metric.FIRST_RESPONSE, p1, 60, TargetUnit.MINUTES, always),
            (Metric.RESOLUTION, p1, 8, TargetUnit.HOURS, always),
        ]
        for metric, priority, amount, unit, calendar in targets:
            SLATarget.objects.create(
                tenant=tenant,
                policy=policy,
                metric=metric,
                priority=priority,
                amount=amount,
                unit=unit,
                calendar=calendar,
            )
        plan = SupportPlan.objects.create(
            tenant=tenant,
            name="Gold",
            sla_policy=policy,
            included_categories=[c for c in Category.values if c != Category.OUT_OF_SCOPE],
        )
        contract = Contract.objects.create(
            tenant=tenant, organisation=cast.org_a, plan=plan, starts_on=dt.date(2020, 1, 1)
        )
    return Desk(office, always, p1, p2, p3, policy, plan, contract)


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)
