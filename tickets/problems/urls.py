"""Problem pages: /agent/problems/ (staff) and /manage/problems/ (tenant admins)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "problems"
urlpatterns: list[URLPattern | URLResolver] = [
    path("agent/problems/", views.problem_list, name="list"),
    path("agent/problems/new/", views.problem_new, name="new"),
    path("agent/problems/<int:problem_id>/", views.problem_detail, name="detail"),
    path("agent/problems/<int:problem_id>/edit/", views.problem_edit, name="edit"),
    path("agent/problems/<int:problem_id>/link/", views.problem_link, name="link"),
    path("agent/problems/<int:problem_id>/unlink/", views.problem_unlink, name="unlink"),
    path("agent/problems/<int:problem_id>/resolve/", views.problem_resolve, name="resolve"),
    path("manage/problems/", views.problem_settings, name="settings"),
]
