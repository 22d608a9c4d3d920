"""SLA API routes under /api/v1/sla/ (names api-sla-calendar-list, ...)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from .views import CalendarViewSet, PolicyViewSet, PriorityViewSet

router = SimpleRouter()
router.register("sla/calendars", CalendarViewSet, basename="api-sla-calendar")
router.register("sla/policies", PolicyViewSet, basename="api-sla-policy")
router.register("sla/priorities", PriorityViewSet, basename="api-sla-priority")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
