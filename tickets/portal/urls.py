"""The customer portal's pages, under /portal/ (app_name "portal")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "portal"
urlpatterns: list[URLPattern | URLResolver] = [
    path("portal/", views.ticket_list, name="list"),
    path("portal/new/", views.ticket_new, name="ticket-new"),
    path("portal/new/preview/", views.ticket_preview, name="ticket-preview"),
    path("portal/tickets/<int:ticket_id>/", views.ticket_detail, name="ticket-detail"),
    path("portal/tickets/<int:ticket_id>/reply/", views.ticket_reply_add, name="ticket-reply"),
    path(
        "portal/tickets/<int:ticket_id>/reply/preview/",
        views.ticket_reply_preview,
        name="ticket-reply-preview",
    ),
    path(
        "portal/tickets/<int:ticket_id>/status/",
        views.ticket_status_change,
        name="ticket-status",
    ),
    path(
        "portal/tickets/<int:ticket_id>/billing/",
        views.ticket_billing_decide,
        name="ticket-billing",
    ),
    path(
        "portal/tickets/<int:ticket_id>/quote/",
        views.ticket_quote_decide,
        name="ticket-quote",
    ),
    path("portal/tickets/<int:ticket_id>/cc/", views.cc_add, name="ticket-cc-add"),
    path(
        "portal/tickets/<int:ticket_id>/cc/remove/",
        views.cc_remove,
        name="ticket-cc-remove",
    ),
    path("portal/following/", views.organisation_follow, name="follow-organisation"),
    path(
        "portal/tickets/<int:ticket_id>/history/",
        views.ticket_history,
        name="ticket-history",
    ),
    path(
        "portal/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
    path(
        "portal/attachments/<int:attachment_id>/preview/",
        views.attachment_preview,
        name="attachment-preview",
    ),
    path("portal/contract/", views.contract_detail, name="contract"),
    path("portal/login/", views.login_link_request, name="login-link-request"),
    # The admin's "invite to the portal" on a contact's page: the portal owns login links.
    path(
        "manage/contacts/<int:contact_id>/invite/",
        views.contact_invite,
        name="contact-invite",
    ),
    path("portal/login/<str:login_token>/", views.login_link, name="login-link"),
]
