"""The reports under /reports/: the SLA dashboard, the monthly SLA report and the time report.

Managers (and admins) open the dashboard at /reports/: charts for a period and filters, each
linking to the list of tickets behind it (docs/reports.md).

Managers read monthly SLA reports for the tenant or one organisation, on screen or as CSV.

The time report: logged time per agent and organisation in one month, on screen or as CSV.

Managers and admins read the whole tenant's time. An agent reads their own time only, on the
same URLs (as a Jira user reads their own worklogs in a Tempo timesheet and needs "view all
worklogs" for others'); the organisation totals then cover the agent's own work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contracts.models import Organisation
from contracts.services import organisation_has_feature
from sla.metrics import METRICS
from supportdesk.access import has_role, manager_required, staff_required
from supportdesk.exports import csv_response
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffRequest
from supportdesk.models import Role

from . import charts
from .billing import billing_export_for_query
from .dashboard import TICKETS_SHOWN, DrillDown, dashboard_build, dashboard_tickets
from .forms import DashboardForm, MonthForm, TicketListForm
from .pdf import report_pdf
from .selectors import (
    TimeReport,
    month_following,
    month_preceding,
    time_report_for_month,
)
from .services import (
    MONTHLY_REPORTS,
    RecomputeRefused,
    ReportRow,
    SLAReport,
    TicketLine,
    month_start,
    report_filename,
    report_recipients,
    report_recompute,
    report_ticket_lines,
    sla_report_for,
)


def _report_for(request: StaffRequest) -> tuple[TimeReport | None, MonthForm]:
    """The report of the month in the query, for whoever asks; None with the form's errors."""
    tenant = request.tenant
    form = MonthForm(request.GET, today=timezone.localdate(timezone=ZoneInfo(tenant.time_zone)))
    if not form.is_valid():
        return None, form
    sees_all = has_role(request, Role.ADMIN, Role.MANAGER)
    report = time_report_for_month(
        tenant=tenant, month=form.cleaned_data["month"], agent=None if sees_all else request.user
    )
    return report, form


@staff_required
@require_GET
def time_report_show(request: StaffRequest) -> HttpResponse:
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
def time_report_csv(request: StaffRequest) -> HttpResponse:
    report, form = _report_for(request)
    if report is None:
        text = " ".join(map(str, form.errors.get("month", [])))
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    month = report.period_label
    return csv_response(
        filename=f"time-report-{month}.csv",
        header=[
            _("Month"), _("Agent"), _("Organisation"), _("Billable minutes"),
            _("Non-billable minutes"), _("Total minutes"), _("Entries"),
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


TICKETS_PER_PAGE = 200
"""Tickets of the month per page of an organisation's report page."""


def _month_and_organisation(
    request: StaffRequest, query: QueryDict
) -> tuple[dt.date | None, str, Organisation | None]:
    """Parse ``month`` and ``organisation`` from ``query``; an unknown organisation is a 404,
    a bad month the reason (and no month)."""
    tenant = request.tenant
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    organisation = None
    raw_org = query.get("organisation", "")
    if raw_org:
        if not is_plain_number(raw_org):
            raise Http404
        organisation = Organisation.objects.filter(pk=int(raw_org)).first()
        if organisation is None:
            raise Http404
    try:
        return month_start(query.get("month"), tenant=tenant, today=today), "", organisation
    except ValueError as exc:
        return None, str(exc), organisation


def _monthly_report_for(request: StaffRequest) -> tuple[SLAReport | None, str, Any]:
    """The report of the month and organisation in the query: frozen for a closed month
    (``sla_report_for``), the live figures for the current one."""
    month, error, organisation = _month_and_organisation(request, request.GET)
    if month is None:
        return None, error, organisation
    report = sla_report_for(tenant=request.tenant, month=month, organisation=organisation)
    return report, "", organisation


@manager_required
@require_GET
def monthly_report_show(request: StaffRequest) -> HttpResponse:
    report, error, organisation = _monthly_report_for(request)
    return _monthly_report_page(request, report, error, organisation)


def _monthly_report_page(
    request: StaffRequest, report: SLAReport | None, error: str, organisation: Any
) -> HttpResponse:
    organisations = Organisation.objects.order_by("name").only("pk", "name")
    context: dict[str, Any] = {
        "report": report,
        "error": error,
        "organisations": organisations,
        "selected": organisation,
        "month_value": report.period_label if report else request.GET.get("month", "")[:7],
    }
    if report is not None and organisation is not None:
        # The page lists the month's tickets a page at a time: 18,000 rows took 45 s to
        # render (benchmarks/bench_dashboard.py). The CSV, the PDF and the mail keep all.
        context["ticket_page"] = Paginator(report.tickets, TICKETS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        now = timezone.now()
        today = timezone.localtime(now, ZoneInfo(request.tenant.time_zone)).date()
        context["entitled"] = organisation_has_feature(
            organisation=organisation, key=MONTHLY_REPORTS, at=now
        )
        context["recipients"] = report_recipients(organisation=organisation, day=today)
    return render(request, "reports/report.html", context, status=400 if error else 200)


@manager_required
@require_POST
def monthly_report_recompute(request: StaffRequest) -> HttpResponse:
    """A manager's "Recompute": the closed month's report from today's rows, stored as its
    next version (audited); refused for a month not yet over."""
    month, error, organisation = _month_and_organisation(request, request.POST)
    if month is None or not request.POST.get("month"):
        error = error or _("Choose the month to recompute.")
        return _monthly_report_page(request, None, error, organisation)
    try:
        report = report_recompute(
            tenant=request.tenant, month=month, organisation=organisation, actor=request.user
        )
    except RecomputeRefused as exc:
        live = sla_report_for(tenant=request.tenant, month=month, organisation=organisation)
        return _monthly_report_page(request, live, str(exc), organisation)
    messages.success(
        request, _("Figures recomputed: version %(version)d.") % {"version": report.version}
    )
    query = {"month": report.period_label}
    if organisation is not None:
        query["organisation"] = str(organisation.pk)
    return redirect(f"{reverse('reports:show')}?{urlencode(query)}")


@manager_required
@require_GET
def monthly_report_csv(request: StaffRequest) -> HttpResponse:
    report, error, _organisation = _monthly_report_for(request)
    if report is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    return csv_response(
        filename=f"sla-report-{report.period_label}.csv",
        header=_sla_csv_header(),
        rows=[
            *(
                _sla_csv_row(row, label=row.label if row.label != "—" else _("No organisation"))
                for row in report.rows
            ),
            _sla_csv_row(report.total, label=_("Total")),
        ],
    )


@manager_required
@require_GET
def monthly_report_pdf(request: StaffRequest) -> HttpResponse:
    """The monthly report as a PDF document (``reports.pdf``), of the organisation in the
    query, else of the whole tenant: the same figures as the page and its CSV."""
    report, error, _organisation = _monthly_report_for(request)
    if report is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_pdf(report=report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report)}"'
    return response


@manager_required
@require_GET
def monthly_report_tickets_csv(request: StaffRequest) -> HttpResponse:
    """The month's tickets, one row each, with every target's outcome, due and actual times
    and billable minutes: of the organisation in the query, else of the whole tenant."""
    report, error, organisation = _monthly_report_for(request)
    if report is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    lines = report.tickets
    if organisation is None and not report.frozen:  # a live tenant-wide report has none
        lines = report_ticket_lines(
            tenant=request.tenant, month=report.month, organisation=None, now=timezone.now()
        )
    zone = ZoneInfo(request.tenant.time_zone)
    return csv_response(
        filename=f"sla-report-tickets-{report.period_label}.csv",
        header=_tickets_csv_header(lines),
        rows=[_tickets_csv_row(line, zone) for line in lines],
    )


def _tickets_csv_header(lines: list[TicketLine]) -> list[str]:
    header = [_("Ticket"), _("Subject"), _("Organisation"), _("Category"), _("Priority")]
    header += [_("Status"), _("Received")]
    metrics = [label for label, _target in lines[0].targets] if lines else []
    for label in metrics:
        names = {"metric": label}
        header += [
            _("%(metric)s: outcome") % names,
            _("%(metric)s: due") % names,
            _("%(metric)s: done") % names,
            _("%(metric)s: business minutes late") % names,
        ]
    return [*header, _("Billable minutes")]


def _local(value: Any, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _tickets_csv_row(line: TicketLine, zone: ZoneInfo) -> list[object]:
    cells: list[object] = [line.reference, line.subject, line.organisation, line.category]
    cells += [line.priority, line.status, _local(line.received_at, zone)]
    for _label, target in line.targets:
        cells += [target.outcome_label, _local(target.due_at, zone), _local(target.done_at, zone)]
        cells.append("" if target.late_minutes is None else target.late_minutes)
    return [*cells, line.billable_minutes]


def _sla_csv_header() -> list[str]:
    """The SLA CSV's headings in the reader's language, a met, missed and share column per
    metric in the registry's order."""
    header = [_("Organisation"), _("Received"), _("Questions"), _("Incidents"), _("Other")]
    header.append(_("Solved"))
    for rule in METRICS.values():
        names = {"metric": rule.label}
        header += [
            _("%(metric)s: met") % names,
            _("%(metric)s: missed") % names,
            _("%(metric)s: share met (%%)") % names,
        ]
    header += [_("Rated good"), _("Rated bad"), _("Rated good (%)")]
    return [*header, _("Reviews done"), _("Reviews overdue")]


def _sla_csv_row(row: ReportRow, *, label: str) -> list[object]:
    cells: list[object] = [label, row.received, row.questions, row.incidents, row.other]
    cells.append(row.solved)
    for outcome in row.outcomes.values():
        cells += [outcome.met, outcome.missed, _percent(outcome.rate)]
    cells += [row.rated_good, row.rated_bad, _percent(row.satisfaction_rate)]
    return [*cells, row.reviews_done, row.reviews_overdue]


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1f}"


def _dashboard_form(request: StaffRequest, form_class: type[DashboardForm]) -> DashboardForm:
    tenant = request.tenant
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    return form_class(request.GET, tenant=tenant, today=today)


def _linker(form: DashboardForm) -> charts.Link:
    """Links to the tickets behind a chart: the form's period and filters, and ``changes``."""
    base = reverse("reports:tickets")
    return lambda **changes: f"{base}?{form.query(**changes)}"


@manager_required
@require_GET
def dashboard_show(request: StaffRequest) -> HttpResponse:
    form = _dashboard_form(request, DashboardForm)
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form}, status=400)
    dashboard = dashboard_build(
        tenant=request.tenant,
        period=form.period_value(),
        filters=form.filters_value(),
        now=timezone.now(),
    )
    figures = charts.dashboard_charts(dashboard, _linker(form))
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "dashboard": dashboard,
            "figures": figures,
            "totals": [(str(METRICS[k].met_label), o) for k, o in dashboard.total.items()],
        },
    )


@manager_required
@require_GET
def dashboard_tickets_show(request: StaffRequest) -> HttpResponse:
    form = _dashboard_form(request, TicketListForm)
    if not form.is_valid():
        return render(request, "reports/dashboard_tickets.html", {"form": form}, status=400)
    data = form.cleaned_data
    tickets = dashboard_tickets(
        tenant=request.tenant,
        period=form.period_value(),
        filters=form.filters_value(),
        drill=DrillDown(
            metric=data["metric"],
            missed=data["missed"],
            age=data["age"],
            band=data["band"],
            feedback=data["feedback"],
        ),
        now=timezone.now(),
    )
    return render(
        request,
        "reports/dashboard_tickets.html",
        {
            "form": form,
            "period": form.period_value(),
            "tickets": list(tickets[:TICKETS_SHOWN]),
            "count": tickets.count(),
            "shown": TICKETS_SHOWN,
            "back": form.query(metric="", missed="", age="", band="", feedback=""),
        },
    )


@manager_required
@require_GET
def billing_show(request: StaffRequest) -> HttpResponse:
    """Billable time and billable tickets per organisation in one month."""
    export, form = billing_export_for_query(tenant=request.tenant, query=request.GET)
    context: dict[str, Any] = {
        "export": export,
        "form": form,
        "month_value": export.period_label if export else request.GET.get("month", "")[:7],
        "organisations": Organisation.objects.order_by("name"),
        "organisation": request.GET.get("organisation", ""),
    }
    return render(request, "reports/billing.html", context, status=200 if export else 400)


@manager_required
@require_GET
def billing_csv(request: StaffRequest) -> HttpResponse:
    """The billing export as CSV: one row per billable ticket, and a total per organisation."""
    export, form = billing_export_for_query(tenant=request.tenant, query=request.GET)
    if export is None:
        text = " ".join(map(str, form.errors.get("month", [])))
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    month = export.period_label
    rows: list[list[object]] = []
    for org in export.organisations:
        for t in org.tickets:
            rows.append(
                [month, org.name, t.reference, t.subject, t.category, t.billable,
                 t.non_billable, "; ".join(t.quotes)]
            )  # fmt: skip
        rows.append([month, org.name, _("Total"), "", "", org.billable, org.non_billable, ""])
    return csv_response(
        filename=f"billing-{month}.csv",
        header=[
            _("Month"), _("Organisation"), _("Ticket"), _("Subject"), _("Category"),
            _("Billable minutes"), _("Non-billable minutes"), _("Accepted quotes"),
        ],
        rows=rows,
    )  # fmt: skip
