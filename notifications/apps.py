from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Side effects of ticket events, stored with the change and delivered until done; staff
    notices of SLA crossings and out-of-scope requests, batched per person."""

    name = "notifications"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before services import models.
        from supportdesk.notices import notice_sink_register
        from tickets.events import register_event_handler, register_event_outbox  # (the same)

        # Imported here for the same reason: these modules import models.
        from .channels.email import notify_by_mail
        from .channels.webhook import notify_by_webhook, webhooks_wanting  # (the same reason)
        from .notices import Notices  # (the same reason)
        from .services import deliveries_store  # (the same reason)

        register_event_outbox(deliveries_store)
        notice_sink_register(Notices())
        # Mail first: the relay runs an event's handlers in the order they were registered.
        register_event_handler(notify_by_mail)
        register_event_handler(notify_by_webhook, wants=webhooks_wanting)
