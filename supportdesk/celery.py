"""The Celery app. Tasks take ids and re-enter the tenant scope themselves."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

# Flags for every worker we start (compose, `make run`, the tests). Gossip and mingle swap
# worker state over broadcast queues nothing here reads. On Redis, closing the Gossip channel
# after the broker stopped raised inside kombu in 6 of 14 outages ("Error on restarting
# Gossip", AttributeError on a connection already torn down: the path of kombu #582/#970,
# which ended a worker in issue 13); without gossip, 0 of 8: that path does not exist.
# Figures in docs/operations.md, "Brokers".
WORKER_FLAGS = ("--without-gossip", "--without-mingle")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat only enqueues; every task it names is idempotent, so a late or repeated tick is harmless.
# Run exactly one beat (docker-compose.yml does).
app.conf.beat_schedule = {
    # The event outbox's relay: every due delivery of a ticket event (notifications), also
    # those whose after-commit kick was lost with the broker. No expiry: behind a backlog of
    # kicks (make run after seed_demo: 569) every tick expired before a worker reached it;
    # a tick with nothing due costs one query.
    "notifications-relay": {"task": "notifications.deliveries_relay", "schedule": 5.0},
    "notifications-purge": {
        "task": "notifications.deliveries_purge",
        "schedule": crontab(minute=40, hour=3),
    },
    # One index range scan over running clocks: warnings and breach notices, exactly once.
    "sla-sweep": {"task": "sla.tasks.sla_sweep_run", "schedule": 60.0},
    # Tickets waiting on the vendor whose customer is owed an update: one notice to the
    # assignee per ticket and period (exactly once by the notice key), hourly is enough for
    # periods counted in business days.
    "tickets-vendor-updates": {
        "task": "tickets.vendor_updates_remind_all",
        "schedule": crontab(minute=5),
    },
    # Post-incident reviews in their last working day: one warning to the assignee each
    # (exactly once by the notice key and the review's warned_at).
    "tickets-reviews-warn": {
        "task": "tickets.reviews_warn_all",
        "schedule": crontab(minute=10),
    },
    # Fetch new mail from every active mailbox.
    "mail-poll": {"task": "mail.mailboxes_poll", "schedule": 60.0},
    # Re-send work a lost task left behind: mail stored but not processed, or not sent, or
    # left "sending" by a killed worker. Every 30 s so a kill is recovered in under 2 min.
    "mail-requeue-stuck": {"task": "mail.requeue_stuck", "schedule": 30.0},
    # Entitlement changes (plan, contract status) whose tickets' move was lost or failed.
    "contracts-entitlement-replay": {
        "task": "contracts.entitlement_changes_replay",
        "schedule": 60.0,
    },
    # Contracts whose end date has passed become expired (they already count as expired).
    "contracts-expire": {
        "task": "contracts.contracts_expire_all",
        "schedule": crontab(minute=15, hour=0),
    },
    # Last month's SLA reports on the 1st at 12:00 UTC, when the 1st has begun in every time
    # zone; a run missed while beat was down is made up once when it starts again (its
    # schedule file is kept on a volume, see docker-compose.yml).
    "sla-reports-monthly": {
        "task": "sla.reports_monthly_send",
        "schedule": crontab(minute=0, hour=12, day_of_month="1"),
    },
}
