from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("reports/billing/", views.billing_export, name="api-billing-export"),
    path("reports/sla/", views.sla_report, name="api-sla-report"),
]
