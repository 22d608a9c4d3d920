"""Macro pages: an agent's own under /agent/macros/, shared ones under /manage/macros/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "macros"
urlpatterns: list[URLPattern | URLResolver] = [
    path("agent/macros/", views.personal_list, name="list"),
    path("agent/macros/new/", views.personal_new, name="new"),
    path("agent/macros/<int:macro_id>/", views.personal_edit, name="edit"),
    path("agent/macros/<int:macro_id>/delete/", views.personal_delete, name="delete"),
    path("agent/tickets/<int:ticket_id>/macros/", views.search, name="search"),
    path("manage/macros/", views.shared_list, name="shared-list"),
    path("manage/macros/new/", views.shared_new, name="shared-new"),
    path("manage/macros/<int:shared_macro_id>/", views.shared_edit, name="shared-edit"),
    path(
        "manage/macros/<int:shared_macro_id>/delete/",
        views.shared_delete,
        name="shared-delete",
    ),
]
