"""How views fetch contract objects: from the request's tenant only, 404 for anything else.

"Not yours" and "does not exist" get the same 404, so another tenant's ids reveal nothing.
The view decorators (``admin_required`` ...) decide the role, and these check it again
(``tenant_for_admin``) as they pick the rows.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from supportdesk.access import tenant_for_admin

from .models import (
    Contact,
    Contract,
    Feature,
    NamedContact,
    Organisation,
    RequestType,
    SupportPlan,
)


def get_organisation_for_admin(request: HttpRequest, organisation_id: int) -> Organisation:
    return get_object_or_404(
        Organisation.objects.filter(tenant=tenant_for_admin(request)), pk=organisation_id
    )


def get_contact_for_admin(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.filter(tenant=tenant_for_admin(request)).select_related("organisation"),
        pk=contact_id,
    )


def get_feature_for_admin(request: HttpRequest, feature_id: int) -> Feature:
    return get_object_or_404(
        Feature.objects.filter(tenant=tenant_for_admin(request)), pk=feature_id
    )


def get_request_type_for_admin(request: HttpRequest, request_type_id: int) -> RequestType:
    return get_object_or_404(
        RequestType.objects.filter(tenant=tenant_for_admin(request)), pk=request_type_id
    )


def get_plan_for_admin(request: HttpRequest, plan_id: int) -> SupportPlan:
    return get_object_or_404(
        SupportPlan.objects.filter(tenant=tenant_for_admin(request)), pk=plan_id
    )


def get_contract_for_admin(request: HttpRequest, contract_id: int) -> Contract:
    return get_object_or_404(
        Contract.objects.filter(tenant=tenant_for_admin(request)).select_related(
            "organisation", "plan", "plan__sla_policy", "suspended_by"
        ),
        pk=contract_id,
    )


def get_named_contact_for_admin(request: HttpRequest, named_contact_id: int) -> NamedContact:
    return get_object_or_404(
        NamedContact.objects.filter(tenant=tenant_for_admin(request)).select_related(
            "contract", "contact"
        ),
        pk=named_contact_id,
    )
