"""The reports under /reports/: the SLA dashboard and the monthly SLA report (namespace
``reports``), and the time report (namespace ``time_report``, included beside it by
supportdesk/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import portal, views

app_name = "reports"
urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/", views.dashboard_show, name="dashboard"),
    path("reports/tickets/", views.dashboard_tickets_show, name="tickets"),
    path("reports/monthly/", views.monthly_report_show, name="show"),
    path("reports/export.csv", views.monthly_report_csv, name="csv"),
    path("reports/billing/", views.billing_show, name="billing"),
    path("reports/billing/export.csv", views.billing_csv, name="billing-csv"),
    path("reports/monthly/tickets.csv", views.monthly_report_tickets_csv, name="tickets-csv"),
    path("reports/monthly/report.pdf", views.monthly_report_pdf, name="pdf"),
    path("reports/monthly/recompute/", views.monthly_report_recompute, name="recompute"),
    # The customer's side: their organisation's reports, in the portal.
    path("portal/reports/", portal.portal_reports, name="portal"),
    path("portal/reports/report.pdf", portal.portal_report_pdf, name="portal-pdf"),
]

time_report_patterns: tuple[list[URLPattern | URLResolver], str] = (
    [
        path("reports/time/", views.time_report_show, name="show"),
        path("reports/time/export.csv", views.time_report_csv, name="csv"),
    ],
    "time_report",
)
