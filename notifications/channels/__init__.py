"""Channels a notice goes out on, one sibling module each (``webhook.py``; e-mail is still
``tickets/mail/handlers.py``, issue #14). A channel is an event handler registered from
:class:`notifications.apps.NotificationsConfig`: the event outbox gives it retries with
back-off, so a channel only has to be idempotent per event."""
