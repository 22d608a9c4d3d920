"""Ticket API routes under /api/v1/ (names api-ticket-list, api-ticket-detail, ...)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from .problems import ProblemViewSet
from .routing import RoutingRuleViewSet
from .views import TicketViewSet

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("problems", ProblemViewSet, basename="api-problem")
router.register("routing-rules", RoutingRuleViewSet, basename="api-routing-rule")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
