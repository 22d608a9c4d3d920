"""Every write of the e-mail channel, in three modules by direction.

- :mod:`.inbound`: storing and processing received mail (``mailbox_poll``, ``email_ingest``,
  ``email_process``).
- :mod:`.outbox`: queueing and sending our mail (``mail_enqueue``, ``mail_send``).
- :mod:`.notifications`: which mail a ticket or a login request causes.

Callers import from here; nobody talks SMTP or IMAP themselves.
"""

from __future__ import annotations

from .inbound import (
    email_ingest,
    email_process,
    inbound_discard,
    inbound_pending,
    inbound_retry,
    mail_settings_save,
    mailbox_check,
    mailbox_connections_check,
    mailbox_poll,
    mailbox_save,
)
from .notifications import (
    agents_to_notify,
    login_link_mail,
    ticket_mail_to_agents,
    ticket_mail_to_contact,
)
from .outbox import (
    CLAIM_GRACE,
    MAX_AUTO_REPLIES_PER_HOUR,
    SEND_TIME_LIMIT,
    MailAttachment,
    MailDeliveryError,
    contact_language,
    mail_enqueue,
    mail_give_up,
    mail_retry_at,
    mail_send,
    outbound_pending,
    outbound_requeued,
    own_addresses,
    tenant_sender,
)

__all__ = [
    "CLAIM_GRACE",
    "MAX_AUTO_REPLIES_PER_HOUR",
    "SEND_TIME_LIMIT",
    "MailDeliveryError",
    "agents_to_notify",
    "contact_language",
    "email_ingest",
    "email_process",
    "inbound_discard",
    "inbound_pending",
    "inbound_retry",
    "login_link_mail",
    "MailAttachment",
    "mail_enqueue",
    "mail_give_up",
    "mail_retry_at",
    "mail_send",
    "mail_settings_save",
    "mailbox_check",
    "mailbox_connections_check",
    "mailbox_poll",
    "mailbox_save",
    "outbound_pending",
    "outbound_requeued",
    "own_addresses",
    "tenant_sender",
    "ticket_mail_to_agents",
    "ticket_mail_to_contact",
]
