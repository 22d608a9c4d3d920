"""Managers read monthly SLA reports for the tenant or one organisation, on screen or as CSV."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from contracts.models import Organisation
from supportdesk.access import manager_required
from supportdesk.exports import csv_response
from supportdesk.forms import is_plain_number

from .services import SLAReport, month_start, sla_report_build


def _report_for(request: HttpRequest) -> tuple[SLAReport | None, str, Any]:
    """Parse ``month`` and ``organisation`` from the query; an unknown organisation is a 404."""
    req: Any = request
    tenant = req.tenant
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    organisation = None
    raw_org = request.GET.get("organisation", "")
    if raw_org:
        if not is_plain_number(raw_org):
            raise Http404
        organisation = Organisation.objects.filter(pk=int(raw_org)).first()
        if organisation is None:
            raise Http404
    try:
        month = month_start(request.GET.get("month"), tenant=tenant, today=today)
    except ValueError as exc:
        return None, str(exc), organisation
    return sla_report_build(tenant=tenant, month=month, organisation=organisation), "", organisation


@manager_required
@require_GET
def report_show(request: HttpRequest) -> HttpResponse:
    report, error, organisation = _report_for(request)
    organisations = Organisation.objects.order_by("name").only("pk", "name")
    return render(
        request,
        "reports/report.html",
        {
            "report": report,
            "error": error,
            "organisations": organisations,
            "selected": organisation,
            "month_value": report.period_label if report else request.GET.get("month", "")[:7],
        },
        status=400 if error else 200,
    )


@manager_required
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    report, error, _organisation = _report_for(request)
    if report is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    return csv_response(
        filename=f"sla-report-{report.period_label}.csv",
        header=[
            "organisation", "received", "questions", "incidents", "other", "solved",
            "first_response_met", "first_response_breached", "first_response_rate",
            "resolution_met", "resolution_breached", "resolution_rate",
            "rated_good", "rated_bad", "satisfaction_rate",
        ],
        rows=(
            [
                row.label, row.received, row.questions, row.incidents, row.other, row.solved,
                row.first_response_met, row.first_response_breached,
                "" if row.first_response_rate is None else f"{row.first_response_rate:.1f}",
                row.resolution_met, row.resolution_breached,
                "" if row.resolution_rate is None else f"{row.resolution_rate:.1f}",
                row.rated_good, row.rated_bad,
                "" if row.satisfaction_rate is None else f"{row.satisfaction_rate:.1f}",
            ]
            for row in [*report.rows, report.total]
        ),
    )  # fmt: skip
