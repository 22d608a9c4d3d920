"""Routing rule pages under /manage/routing/ (tenant admins)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "routing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("manage/routing/", views.rule_list, name="list"),
    path("manage/routing/new/", views.rule_new, name="new"),
    path("manage/routing/<int:routing_rule_id>/", views.rule_edit, name="edit"),
    path("manage/routing/<int:routing_rule_id>/delete/", views.rule_delete, name="delete"),
    path("manage/routing/<int:routing_rule_id>/move/", views.rule_move, name="move"),
]
