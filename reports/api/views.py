"""The reports through the API, for managers and admins: the billing export (GET
/api/v1/reports/billing/?month=YYYY-MM[&organisation=id]) and the monthly SLA report's
figures (GET /api/v1/reports/sla/?month=YYYY-MM[&organisation=id]), the same figures as
the page, the CSV, the mail and the PDF (``reports.services.sla_report_for``: frozen for a
closed month)."""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import ZoneInfo

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.models import Organisation
from supportdesk.access import IsTenantStaff
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffRequest
from supportdesk.models import Role

from ..billing import billing_export_for_query
from ..services import ReportRow, month_start, sla_report_for


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


class SLAOutcomeSerializer(serializers.Serializer[Any]):
    metric = serializers.CharField(help_text="The metric's key (sla.metrics.METRICS).")
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Share met in percent; null: none.")


class SLAReportRowSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(source="label", help_text="The organisation, or the total's.")
    received = serializers.IntegerField()
    questions = serializers.IntegerField()
    incidents = serializers.IntegerField()
    other = serializers.IntegerField()
    solved = serializers.IntegerField()
    outcomes = serializers.SerializerMethodField()
    rated_good = serializers.IntegerField()
    rated_bad = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(
        allow_null=True, help_text="Share rated good of the rated, in percent; null: none."
    )
    reviews_done = serializers.IntegerField()
    reviews_overdue = serializers.IntegerField()

    @extend_schema_field(SLAOutcomeSerializer(many=True))
    def get_outcomes(self, row: ReportRow) -> list[dict[str, Any]]:
        return [
            {"metric": key, "met": o.met, "missed": o.missed, "rate": o.rate}
            for key, o in row.outcomes.items()
        ]


class SLAReportSerializer(serializers.Serializer[Any]):
    month = serializers.CharField(source="period_label")
    organisation_id = serializers.IntegerField(source="organisation.pk", allow_null=True)
    version = serializers.IntegerField(
        allow_null=True,
        help_text="The frozen report's version; null: live figures of a month not yet over.",
    )
    made_at = serializers.DateTimeField(
        allow_null=True, help_text="When this version was frozen; null: live."
    )
    total = SLAReportRowSerializer()
    rows = SLAReportRowSerializer(many=True, help_text="Per organisation.")


@extend_schema(
    parameters=[
        OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM; the previous month."),
        OpenApiParameter("organisation", OpenApiTypes.INT, description="One organisation."),
    ],
    responses={200: SLAReportSerializer},
)
@api_view(["GET"])
@permission_classes([IsTenantManager])
def sla_report(request: Request) -> Response:
    """The monthly SLA report's figures, tenant-wide or of one organisation (unknown: 404)."""
    # IsTenantManager let the request in: it has a tenant and a manager's membership.
    tenant = cast(StaffRequest, request._request).tenant
    raw = request.GET.get("organisation", "")
    organisation = None
    if raw:
        organisation = (
            Organisation.objects.filter(pk=int(raw)).first() if is_plain_number(raw) else None
        )
        if organisation is None:
            raise Http404
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    try:
        month = month_start(request.GET.get("month"), tenant=tenant, today=today)
    except ValueError as exc:
        return Response({"month": [str(exc)]}, status=400)
    report = sla_report_for(tenant=tenant, month=month, organisation=organisation)
    return Response(SLAReportSerializer(report).data)
