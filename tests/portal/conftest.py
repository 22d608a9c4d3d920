"""Tenant A set up like SoftOne: office hours with Swedish holidays, priorities with written
definitions, an SLA policy, a Gold plan, and Org A's contract naming Nils as named contact.

Celery runs eagerly; tests that need the after-commit work (event handlers, mail sending)
wrap the request in ``django_capture_on_commit_callbacks(execute=True)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from contracts.models import Contract, Feature, NamedContact, PlanFeature, SupportPlan
from sla.models import Calendar, Metric, Priority, SLAPolicy, SLATarget, TargetUnit
from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tickets.choices import Category

STOCKHOLM = ZoneInfo("Europe/Stockholm")

OFFICE_HOURS = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public"]},
    "eve_hours": ["08:00-13:00"],
}


def stockholm(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A Stockholm wall-clock instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


@dataclass
class Desk:
    calendar: Calendar
    p1: Priority
    p2: Priority
    p3: Priority
    policy: SLAPolicy
    plan: SupportPlan
    contract: Contract


def build_desk(cast: Cast) -> Desk:
    tenant = cast.tenant_a
    tenant.support_email = "support@tenant-a.example.test"
    tenant.support_phone = "+46 8 555 010 00"
    tenant.time_zone = "Europe/Stockholm"
    tenant.save()
    with scope(tenant=tenant):
        calendar = Calendar.objects.create(
            tenant=tenant, name="Office", config=OFFICE_HOURS, is_default=True
        )
        p1 = Priority.objects.create(
            tenant=tenant,
            key="P1",
            name="Critical",
            rank=1,
            definition="The whole system is down for everyone.",
            examples="Nobody can log in; payroll cannot be run.",
        )
        p2 = Priority.objects.create(
            tenant=tenant,
            key="P2",
            name="High",
            rank=2,
            definition="An important function fails and there is no workaround.",
            examples="Invoices cannot be exported.",
        )
        p3 = Priority.objects.create(
            tenant=tenant,
            key="P3",
            name="Normal",
            rank=3,
            is_default=True,
            definition="A function fails but there is a workaround.",
            examples="A report shows the wrong column order.",
        )
        policy = SLAPolicy.objects.create(tenant=tenant, name="Standard", calendar=calendar)
        for priority, hours in ((None, 12), (p1, 2), (p2, 4)):
            SLATarget.objects.create(
                tenant=tenant,
                policy=policy,
                metric=Metric.FIRST_RESPONSE,
                priority=priority,
                amount=hours,
                unit=TargetUnit.HOURS,
            )
        plan = SupportPlan.objects.create(
            tenant=tenant,
            name="Gold",
            description="Our best plan.",
            sla_policy=policy,
            included_categories=[c for c in Category.values if c != Category.OUT_OF_SCOPE],
        )
        feature = Feature.objects.create(
            tenant=tenant, key="knowledge_centre", name="Knowledge centre access"
        )
        PlanFeature.objects.create(tenant=tenant, plan=plan, feature=feature, value="full")
        contract = Contract.objects.create(
            tenant=tenant, organisation=cast.org_a, plan=plan, starts_on=dt.date(2020, 1, 1)
        )
        NamedContact.objects.create(tenant=tenant, contract=contract, contact=cast.named_contact)
    return Desk(calendar, p1, p2, p3, policy, plan, contract)


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old
