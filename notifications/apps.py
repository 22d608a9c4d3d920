from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Side effects of ticket events, stored with the change and delivered until done."""

    name = "notifications"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before services import models.
        from tickets.events import register_event_handler, register_event_outbox

        # Imported here for the same reason: these modules import models.
        from .channels.email import notify_by_mail
        from .channels.webhook import notify_by_webhook, webhooks_wanting  # (the same reason)
        from .services import deliveries_store  # (the same reason)

        register_event_outbox(deliveries_store)
        # Mail first: the relay runs an event's handlers in the order they were registered.
        register_event_handler(notify_by_mail)
        register_event_handler(notify_by_webhook, wants=webhooks_wanting)
