"""URLs for a host that names no tenant: a tenant list in development, otherwise 404."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("", views.tenant_index, name="tenant-index"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", views.api_needs_token, name="api-needs-token"),
]

handler400 = "supportdesk.errors.bad_request"
handler403 = "supportdesk.errors.permission_denied"
handler404 = "supportdesk.errors.page_not_found"
handler500 = "supportdesk.errors.server_error"
