"""Tenant admins' mailbox pages, under /manage/mailboxes/ (app_name "mail")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "mail"
urlpatterns: list[URLPattern | URLResolver] = [
    path("manage/mailboxes/", views.mailbox_list, name="mailbox-list"),
    path("manage/mailboxes/settings/", views.mail_settings, name="mail-settings"),
    path("manage/mailboxes/<int:mailbox_id>/", views.mailbox_edit, name="mailbox-edit"),
    path("manage/mailboxes/<int:mailbox_id>/check/", views.mailbox_check, name="mailbox-check"),
    path(
        "manage/mailboxes/inbound/<int:inbound_id>/retry/",
        views.inbound_retry,
        name="inbound-retry",
    ),
    path(
        "manage/mailboxes/inbound/<int:inbound_id>/discard/",
        views.inbound_discard,
        name="inbound-discard",
    ),
]
