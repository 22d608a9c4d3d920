from __future__ import annotations

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.report_show, name="show"),
    path("reports/export.csv", views.report_csv, name="csv"),
]
