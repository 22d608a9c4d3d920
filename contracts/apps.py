from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before models are imported.
        from supportdesk.tenancy import contact_finder_register

        from .models import Contact  # (the same reason)

        def signed_in_contact(user: Any) -> Contact | None:
            """The user's contact in the current tenant's scope, with its organisation."""
            return Contact.objects.select_related("organisation").filter(user=user).first()

        contact_finder_register(signed_in_contact)
