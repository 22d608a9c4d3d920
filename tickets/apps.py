from __future__ import annotations

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before services import models.
        from contracts.services import entitlements_changed_subscribe

        # Imported here for the same reason: services import models.
        from .services import tickets_sla_policy_recompute_enqueue

        entitlements_changed_subscribe(tickets_sla_policy_recompute_enqueue)
