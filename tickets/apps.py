from __future__ import annotations

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before services import models.
        from contracts.services import entitlements_changed_subscribe
        from sla.services import calendars_changed_subscribe, line_mover_subscribe  # (the same)

        # Imported here for the same reason: services import models.
        from .escalation import ticket_line_raise
        from .events import register_event_handler  # (the same reason)
        from .reviews.services import (  # (the same reason)
            review_open_on_close,
            reviews_calendars_changed,
            reviews_wanted,
        )
        from .services import tickets_sla_policy_recompute_enqueue  # (the same reason)

        entitlements_changed_subscribe(tickets_sla_policy_recompute_enqueue)
        # SLA escalation rules move tickets up a line through this app's service.
        line_mover_subscribe(ticket_line_raise)
        # A closed ticket of a priority the tenant picked gets its post-incident review.
        register_event_handler(review_open_on_close, wants=reviews_wanted)
        # An SLA calendar edit moves the due times of the reviews counted on it.
        calendars_changed_subscribe(reviews_calendars_changed)
