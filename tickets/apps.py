from __future__ import annotations

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before services import models.
        from contracts.services import entitlements_changed_subscribe
        from sla.services import line_mover_subscribe  # (the same reason)

        # Imported here for the same reason: services import models.
        from .escalation import ticket_line_raise
        from .events import register_event_handler  # (the same reason)
        from .reviews.services import review_open_on_close, reviews_wanted  # (the same reason)
        from .services import tickets_sla_policy_recompute_enqueue  # (the same reason)

        entitlements_changed_subscribe(tickets_sla_policy_recompute_enqueue)
        # SLA escalation rules move tickets up a line through this app's service.
        line_mover_subscribe(ticket_line_raise)
        # A closed ticket of a priority the tenant picked gets its post-incident review.
        register_event_handler(review_open_on_close, wants=reviews_wanted)
