"""URLs of a tenant's site. Each app mounts its own pages; the API lives under /api/v1/."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reports.urls import time_report_patterns

from . import views
from .forms import TenantPasswordResetForm

api_v1: list[URLPattern | URLResolver] = [
    path("", include("contracts.api.urls")),
    path("", include("sla.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("tickets.portal.api.urls")),
    path("", include("knowledgebase.api.urls")),
    path("", include("reports.api.urls")),
    path("me/", views.api_me, name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/v1/ (an id with a dot, a typo): a JSON 404, not an HTML page.
    re_path(r"^", views.api_not_found, name="api-not-found"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("manage/", views.manage_index, name="manage-index"),
    path("manage/audit/", views.audit_list, name="audit-list"),
    path("language/", views.language_set, name="language-set"),
    path("account/tokens/", views.token_list, name="token-list"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        views.PasswordResetView.as_view(form_class=TenantPasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("api/v1/", include(api_v1)),
    path("", include("contracts.urls")),
    path("", include("sla.urls")),
    path("", include("reports.urls")),
    path("", include(time_report_patterns)),
    path("", include("tickets.urls")),
    path("", include("tickets.portal.urls")),
    path("", include("tickets.macros.urls")),
    path("", include("tickets.routing.urls")),
    path("", include("tickets.problems.urls")),
    path("", include("tickets.satisfaction.urls")),
    path("", include("tickets.mail.urls")),
    path("", include("notifications.urls")),
    path("", include("knowledgebase.urls")),
]

handler400 = "supportdesk.errors.bad_request"
handler403 = "supportdesk.errors.permission_denied"
handler404 = "supportdesk.errors.page_not_found"
handler500 = "supportdesk.errors.server_error"
