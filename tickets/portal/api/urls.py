from __future__ import annotations

from rest_framework.routers import SimpleRouter

from .views import PortalTicketViewSet

router = SimpleRouter()
router.register("portal/tickets", PortalTicketViewSet, basename="api-portal-ticket")

urlpatterns = router.urls
