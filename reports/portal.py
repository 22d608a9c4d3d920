"""The monthly SLA report for the customer (issue #17): a named contact of an organisation
whose plan has the *monthly reports* feature downloads their organisation's report as PDF
from the portal, for each closed month. Anyone else gets 404, as for every portal page they
may not use."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contracts.http import PortalRequest
from contracts.models import Contact, NamedContact
from contracts.services import contract_for_organisation, organisation_has_feature
from supportdesk.access import contact_required

from .pdf import report_pdf
from .selectors import month_following
from .services import MONTHLY_REPORTS, month_start, report_filename, sla_report_for

MONTHS_LISTED = 12


def _reader(request: HttpRequest) -> tuple[Contact, dt.date]:
    """The contact, if they may read their organisation's reports (named on its contract in
    force, the plan with monthly reports), and today in the tenant; else 404."""
    contact: Any = getattr(request, "contact", None)
    if contact is None or contact.organisation is None:
        raise Http404
    now = timezone.now()
    today = timezone.localtime(now, ZoneInfo(contact.tenant.time_zone)).date()
    contract = contract_for_organisation(organisation=contact.organisation, day=today)
    named = (
        contract is not None
        and NamedContact.objects.filter(contract=contract, contact=contact).exists()
    )
    if not named or not organisation_has_feature(
        organisation=contact.organisation, key=MONTHLY_REPORTS, at=now
    ):
        raise Http404
    return contact, today


@contact_required
@require_GET
def portal_reports(request: PortalRequest) -> HttpResponse:
    """The closed months whose report the contact may download, newest first."""
    contact, today = _reader(request)
    months = [today.replace(day=1)]
    for _month in range(MONTHS_LISTED):
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    closed = [m.strftime("%Y-%m") for m in months[1:]]
    return render(
        request,
        "reports/portal_reports.html",
        {"organisation": contact.organisation, "months": closed},
    )


@contact_required
@require_GET
def portal_report_pdf(request: PortalRequest) -> HttpResponse:
    """One closed month's report of the contact's organisation as PDF; 400 for a month that
    is not a closed month (with the reason)."""
    contact, today = _reader(request)
    try:
        month = month_start(request.GET.get("month"), tenant=contact.tenant, today=today)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if month_following(month) > today:
        return HttpResponse(
            _("The report of a month is ready once the month is over."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    report = sla_report_for(tenant=contact.tenant, month=month, organisation=contact.organisation)
    response = HttpResponse(report_pdf(report=report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report)}"'
    return response
