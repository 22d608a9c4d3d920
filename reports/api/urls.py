from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("reports/billing/", views.billing_export, name="api-billing-export"),
]
