"""Tenant B's contract objects, one per URL kwarg of the contracts app (see tests/test_leaks.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django_scopes import scope

from contracts.models import (
    Contract,
    Feature,
    NamedContact,
    PlanFeature,
    PlanRequestType,
    RequestType,
    SupportPlan,
)
from tests.conftest import B_MARKER, Cast


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        feature = Feature.objects.create(
            tenant=cast.tenant_b,
            key="b_feature",
            name=f"Feature {B_MARKER}",
            description=B_MARKER,
        )
        plan = SupportPlan.objects.create(
            tenant=cast.tenant_b,
            name=f"Plan {B_MARKER}",
            description=B_MARKER,
            price_licence=Decimal("100"),
            included_categories=["bug"],
        )
        PlanFeature.objects.create(tenant=cast.tenant_b, plan=plan, feature=feature, value=B_MARKER)
        request_type = RequestType.objects.create(
            tenant=cast.tenant_b, name=f"Type {B_MARKER}", description=B_MARKER
        )
        PlanRequestType.objects.create(
            tenant=cast.tenant_b, plan=plan, request_type=request_type, included=False
        )
        contract = Contract.objects.create(
            tenant=cast.tenant_b,
            organisation=cast.org_b,
            plan=plan,
            starts_on=dt.date(2026, 1, 1),
            notes=B_MARKER,
        )
        named = NamedContact.objects.create(
            tenant=cast.tenant_b, contract=contract, contact=cast.contact_b
        )
    return {
        "organisation_id": cast.org_b.pk,
        "contact_id": cast.contact_b.pk,
        "feature_id": feature.pk,
        "request_type_id": request_type.pk,
        "plan_id": plan.pk,
        "contract_id": contract.pk,
        "named_contact_id": named.pk,
    }


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's objects for the same kwargs, for the role table (``tests/test_roles.py``):
    Org A's contract on which the named contact is named."""
    with scope(tenant=cast.tenant_a):
        feature = Feature.objects.create(tenant=cast.tenant_a, key="a_feature", name="Feature A")
        plan = SupportPlan.objects.create(
            tenant=cast.tenant_a,
            name="Plan A",
            price_licence=Decimal("100"),
            included_categories=["bug", "question"],
        )
        PlanFeature.objects.create(tenant=cast.tenant_a, plan=plan, feature=feature, value="yes")
        request_type = RequestType.objects.create(tenant=cast.tenant_a, name="Type A")
        contract = Contract.objects.create(
            tenant=cast.tenant_a, organisation=cast.org_a, plan=plan, starts_on=dt.date(2026, 1, 1)
        )
        named = NamedContact.objects.create(
            tenant=cast.tenant_a, contract=contract, contact=cast.named_contact
        )
    return {
        "organisation_id": cast.org_a.pk,
        "contact_id": cast.customer_contact.pk,
        "feature_id": feature.pk,
        "request_type_id": request_type.pk,
        "plan_id": plan.pk,
        "contract_id": contract.pk,
        "named_contact_id": named.pk,
    }
