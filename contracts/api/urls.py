"""API routes of contracts, mounted under /api/v1/ (names ``api-<noun>-list`` etc.)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet, basename="api-organisation")
router.register("contacts", views.ContactViewSet, basename="api-contact")
router.register("features", views.FeatureViewSet, basename="api-feature")
router.register("request-types", views.RequestTypeViewSet, basename="api-request-type")
router.register("plans", views.SupportPlanViewSet, basename="api-plan")
router.register("contracts", views.ContractViewSet, basename="api-contract")
router.register("named-contacts", views.NamedContactViewSet, basename="api-named-contact")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "entitlements/check/",
        views.EntitlementCheckView.as_view(),
        name="api-entitlement-check",
    ),
    *router.urls,
]
