"""How views fetch contract objects: from the request's tenant only, 404 for anything else.

"Not yours" and "does not exist" get the same 404, so another tenant's ids reveal nothing.
The view decorators (``admin_required`` ...) decide the role; these decide the rows.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .models import Contact, Contract, Feature, NamedContact, Organisation, SupportPlan


def _tenant(request: HttpRequest) -> Any:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise Http404
    return tenant


def get_organisation_for_admin(request: HttpRequest, organisation_id: int) -> Organisation:
    return get_object_or_404(
        Organisation.objects.filter(tenant=_tenant(request)), pk=organisation_id
    )


def get_contact_for_admin(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.filter(tenant=_tenant(request)).select_related("organisation"),
        pk=contact_id,
    )


def get_feature_for_admin(request: HttpRequest, feature_id: int) -> Feature:
    return get_object_or_404(Feature.objects.filter(tenant=_tenant(request)), pk=feature_id)


def get_plan_for_admin(request: HttpRequest, plan_id: int) -> SupportPlan:
    return get_object_or_404(SupportPlan.objects.filter(tenant=_tenant(request)), pk=plan_id)


def get_contract_for_admin(request: HttpRequest, contract_id: int) -> Contract:
    return get_object_or_404(
        Contract.objects.filter(tenant=_tenant(request)).select_related(
            "organisation", "plan", "plan__sla_policy", "suspended_by"
        ),
        pk=contract_id,
    )


def get_named_contact_for_admin(request: HttpRequest, named_contact_id: int) -> NamedContact:
    return get_object_or_404(
        NamedContact.objects.filter(tenant=_tenant(request)).select_related("contract", "contact"),
        pk=named_contact_id,
    )
