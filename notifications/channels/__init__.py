"""Channels a notice goes out on, one sibling module each: ``email.py`` (over the mail outbox
of ``tickets/mail/``) and ``webhook.py``. A channel is an event handler registered from
:class:`notifications.apps.NotificationsConfig`: the event outbox gives it retries with
back-off, so a channel only has to be idempotent per event."""
