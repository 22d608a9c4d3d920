"""Agent pages under /agent/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views
from .followers import views as followers
from .major import views as major
from .quotes import views as quotes
from .reviews import views as reviews

app_name = "tickets"
urlpatterns: list[URLPattern | URLResolver] = [
    path("agent/queue/", views.queue, name="queue"),
    path("agent/queue/assign/", views.queue_assign, name="queue-assign"),
    path("agent/queue/my-line/", views.queue_my_line, name="queue-my-line"),
    path("agent/queue/columns/", views.queue_columns, name="queue-columns"),
    path("agent/queue/views/new/", views.queue_view_new, name="queue-view-new"),
    path(
        "agent/queue/views/<int:view_id>/delete/",
        views.queue_view_delete,
        name="queue-view-delete",
    ),
    path("agent/calls/new/", views.call_log, name="call-log"),
    path("manage/vendor/", views.vendor_settings, name="vendor-settings"),
    path("manage/reviews/", reviews.review_settings, name="review-settings"),
    path("agent/reviews/", reviews.review_list, name="reviews"),
    path("agent/tickets/<int:ticket_id>/review/", reviews.review_page, name="ticket-review"),
    path(
        "agent/tickets/<int:ticket_id>/review/open/",
        reviews.review_open_view,
        name="ticket-review-open",
    ),
    path(
        "agent/tickets/<int:ticket_id>/review/done/",
        reviews.review_done_view,
        name="ticket-review-done",
    ),
    path(
        "agent/tickets/<int:ticket_id>/review/actions/",
        reviews.review_action_view,
        name="ticket-review-action",
    ),
    path(
        "agent/tickets/<int:ticket_id>/review/actions/<int:action_id>/remove/",
        reviews.review_action_remove_view,
        name="ticket-review-action-remove",
    ),
    path("agent/tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("agent/tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket-reply"),
    path(
        "agent/tickets/<int:ticket_id>/reply/preview/",
        views.ticket_reply_preview,
        name="ticket-reply-preview",
    ),
    path("agent/tickets/<int:ticket_id>/presence/", views.ticket_presence, name="ticket-presence"),
    path("agent/tickets/<int:ticket_id>/status/", views.ticket_status, name="ticket-status"),
    path("agent/tickets/<int:ticket_id>/priority/", views.ticket_priority, name="ticket-priority"),
    path("agent/tickets/<int:ticket_id>/assign/", views.ticket_assign, name="ticket-assign"),
    path("agent/tickets/<int:ticket_id>/line/", views.ticket_line, name="ticket-line"),
    path("agent/tickets/<int:ticket_id>/vendor/", views.ticket_vendor, name="ticket-vendor"),
    path("agent/tickets/<int:ticket_id>/convert/", views.ticket_convert, name="ticket-convert"),
    path(
        "agent/tickets/<int:ticket_id>/request-type/",
        views.ticket_request_type,
        name="ticket-request-type",
    ),
    path("agent/tickets/<int:ticket_id>/time/", views.ticket_time, name="ticket-time"),
    path("agent/tickets/<int:ticket_id>/quote/", quotes.quote_new, name="ticket-quote"),
    path("agent/tickets/<int:ticket_id>/major/", major.major_declare, name="ticket-major"),
    path("agent/tickets/<int:ticket_id>/major/link/", major.major_link, name="ticket-major-link"),
    path("agent/tickets/<int:ticket_id>/major/end/", major.major_end, name="ticket-major-end"),
    path(
        "agent/tickets/<int:ticket_id>/major/update/",
        major.major_update,
        name="ticket-major-update",
    ),
    path("agent/tickets/<int:ticket_id>/links/", views.ticket_link, name="ticket-link"),
    path("agent/tickets/<int:ticket_id>/unlink/", views.ticket_unlink, name="ticket-unlink"),
    path("agent/tickets/<int:ticket_id>/merge/", views.ticket_merge, name="ticket-merge"),
    path("agent/tickets/<int:ticket_id>/follow/", views.ticket_follow_toggle, name="ticket-follow"),
    path("agent/tickets/<int:ticket_id>/cc/", followers.cc_add, name="ticket-cc"),
    path("agent/tickets/<int:ticket_id>/cc/remove/", followers.cc_remove, name="ticket-cc-remove"),
    path(
        "agent/tickets/<int:ticket_id>/followers/",
        followers.follower_add,
        name="ticket-follower-add",
    ),
    path(
        "agent/tickets/<int:ticket_id>/followers/remove/",
        followers.follower_remove,
        name="ticket-follower-remove",
    ),
    path(
        "agent/tickets/<int:ticket_id>/history.txt",
        views.ticket_history_export,
        name="ticket-history",
    ),
    path(
        "agent/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path(
        "attachments/<int:attachment_id>/inline/",
        views.attachment_inline,
        name="attachment-inline",
    ),
    path(
        "agent/attachments/<int:attachment_id>/preview/",
        views.attachment_preview,
        name="attachment-preview",
    ),
]
