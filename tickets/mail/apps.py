from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    """The e-mail channel: mailboxes, inbound mail into tickets, the outbox of outbound mail
    (which notifications/channels/email.py fills from ticket events)."""

    name = "tickets.mail"
    label = "mail"
    verbose_name = _("E-mail")
