"""The billing export through the API: GET /api/v1/reports/billing/?month=YYYY-MM
[&organisation=id], for managers and admins."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.access import IsTenantStaff
from supportdesk.http import StaffRequest
from supportdesk.models import Role

from ..billing import billing_export_for_query


class IsTenantManager(IsTenantStaff):
    """Managers and admins read the billing export."""

    roles = (Role.ADMIN, Role.MANAGER)
    safe_roles = (Role.ADMIN, Role.MANAGER)


class BillingTicketSerializer(serializers.Serializer[Any]):
    ticket_id = serializers.IntegerField()
    reference = serializers.CharField()
    subject = serializers.CharField()
    category = serializers.CharField()
    billable = serializers.IntegerField(help_text="Billable minutes in the month.")
    non_billable = serializers.IntegerField(help_text="Non-billable minutes in the month.")
    quotes = serializers.ListField(child=serializers.CharField())


class BillingOrganisationSerializer(serializers.Serializer[Any]):
    organisation_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    billable = serializers.IntegerField()
    non_billable = serializers.IntegerField()
    tickets = BillingTicketSerializer(many=True)


class BillingExportSerializer(serializers.Serializer[Any]):
    month = serializers.CharField(source="period_label")
    billable = serializers.IntegerField()
    organisations = BillingOrganisationSerializer(many=True)


@extend_schema(
    parameters=[
        OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM; the current month."),
        OpenApiParameter("organisation", OpenApiTypes.INT, description="One organisation."),
    ],
    responses={200: BillingExportSerializer},
)
@api_view(["GET"])
@permission_classes([IsTenantManager])
def billing_export(request: Request) -> Response:
    """Billable time and billable (out-of-scope) tickets per organisation in one month."""
    # @api_view types its view's argument as DRF's Request; IsTenantManager let it in.
    staff = cast(StaffRequest, request._request)
    export, form = billing_export_for_query(tenant=staff.tenant, query=request.GET)
    if export is None:
        return Response(form.errors, status=400)
    return Response(BillingExportSerializer(export).data)
