"""The time report beside the monthly SLA report, under /reports/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "time_report"
urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/time/", views.time_report_show, name="show"),
    path("reports/time/export.csv", views.time_report_csv, name="csv"),
]
