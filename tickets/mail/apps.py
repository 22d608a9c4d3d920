from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    """The e-mail channel: mailboxes, inbound mail into tickets, outbound notifications."""

    name = "tickets.mail"
    label = "mail"
    verbose_name = _("E-mail")

    def ready(self) -> None:
        # Imported here: handlers import models, which need the app registry ready.
        from . import handlers

        handlers.register()
