"""The time report: logged time per agent and organisation in one month, on screen or as CSV.

Managers and admins read the whole tenant's time. An agent reads their own time only, on the
same URLs (as a Jira user reads their own worklogs in a Tempo timesheet and needs "view all
worklogs" for others'); the organisation totals then cover the agent's own work.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from supportdesk.access import has_role, staff_required
from supportdesk.exports import csv_response
from supportdesk.models import Role

from .forms import MonthForm
from .selectors import TimeReport, month_following, month_preceding, time_report_for_month


def _report_for(request: HttpRequest) -> tuple[TimeReport | None, MonthForm]:
    """The report of the month in the query, for whoever asks; None with the form's errors."""
    req: Any = request
    tenant = req.tenant
    form = MonthForm(request.GET, today=timezone.localdate(timezone=ZoneInfo(tenant.time_zone)))
    if not form.is_valid():
        return None, form
    sees_all = has_role(request, Role.ADMIN, Role.MANAGER)
    report = time_report_for_month(
        tenant=tenant, month=form.cleaned_data["month"], agent=None if sees_all else req.user
    )
    return report, form


@staff_required
@require_GET
def time_report_show(request: HttpRequest) -> HttpResponse:
    report, form = _report_for(request)
    context: dict[str, Any] = {
        "report": report,
        "form": form,
        "own_only": not has_role(request, Role.ADMIN, Role.MANAGER),
        "month_value": report.period_label if report else request.GET.get("month", "")[:7],
    }
    if report is not None:
        context["previous"] = month_preceding(report.month).strftime("%Y-%m")
        context["next"] = month_following(report.month).strftime("%Y-%m")
    return render(request, "reports/time.html", context, status=200 if report else 400)


@staff_required
@require_GET
def time_report_csv(request: HttpRequest) -> HttpResponse:
    report, form = _report_for(request)
    if report is None:
        text = " ".join(map(str, form.errors.get("month", [])))
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    month = report.period_label
    return csv_response(
        filename=f"time-report-{month}.csv",
        header=[
            "month", "agent", "organisation", "billable_minutes", "non_billable_minutes",
            "total_minutes", "entries",
        ],
        rows=[
            *(
                [month, r.agent, r.organisation, r.billable, r.non_billable, r.minutes, r.entries]
                for r in report.rows
            ),
            [
                month, report.total.label, "", report.total.billable, report.total.non_billable,
                report.total.minutes, report.total.entries,
            ],
        ],
    )  # fmt: skip
