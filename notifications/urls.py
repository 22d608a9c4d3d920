"""Tenant admins' webhook pages, under /manage/webhooks/ (app_name "notifications")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "notifications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("manage/webhooks/", views.webhook_list, name="webhook-list"),
    path("manage/webhooks/<int:webhook_id>/", views.webhook_edit, name="webhook-edit"),
    path("manage/webhooks/<int:webhook_id>/test/", views.webhook_test, name="webhook-test"),
    path("manage/webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="webhook-delete"),
]
