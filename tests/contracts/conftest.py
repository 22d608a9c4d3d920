"""Plans and contracts for tenant A, built the way an admin would configure them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from contracts.models import Contract, Feature, Organisation, PlanFeature, SupportPlan
from sla.models import Calendar, SLAPolicy
from supportdesk.models import Tenant
from tests.conftest import Cast


def make_policy(tenant: Tenant, name: str = "Standard SLA") -> SLAPolicy:
    calendar, _ = Calendar.objects.get_or_create(
        tenant=tenant, name="Office hours", defaults={"config": {}}
    )
    return SLAPolicy.objects.create(tenant=tenant, name=name, calendar=calendar)


def make_plan(tenant: Tenant, name: str = "Standard", **fields: Any) -> SupportPlan:
    defaults: dict[str, Any] = {
        "included_categories": ["question", "incident", "bug"],
        "allowed_channels": ["email", "phone", "portal", "api", "chat"],
        "price_licence": Decimal("1000"),
        "price_non_licence": Decimal("2000"),
    }
    return SupportPlan.objects.create(tenant=tenant, name=name, **{**defaults, **fields})


def make_contract(organisation: Organisation, plan: SupportPlan, **fields: Any) -> Contract:
    defaults: dict[str, Any] = {"starts_on": dt.date(2026, 1, 1), "ends_on": dt.date(2026, 12, 31)}
    return Contract.objects.create(
        tenant=organisation.tenant, organisation=organisation, plan=plan, **{**defaults, **fields}
    )


def give_feature(plan: SupportPlan, key: str, value: str = "") -> PlanFeature:
    feature, _ = Feature.objects.get_or_create(
        tenant=plan.tenant, key=key, defaults={"name": key.replace("_", " ").capitalize()}
    )
    return PlanFeature.objects.create(tenant=plan.tenant, plan=plan, feature=feature, value=value)


@pytest.fixture
def plan_a(cast: Cast, in_tenant_a: Tenant) -> SupportPlan:
    """Tenant A's everyday plan: questions, incidents and bugs included, every channel."""
    return make_plan(cast.tenant_a, sla_policy=make_policy(cast.tenant_a))


@pytest.fixture
def contract_a(cast: Cast, plan_a: SupportPlan) -> Contract:
    """Org A's contract for 2026 on ``plan_a``."""
    return make_contract(cast.org_a, plan_a)
