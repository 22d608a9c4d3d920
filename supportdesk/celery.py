"""The Celery app. Tasks take ids and re-enter the tenant scope themselves."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Only enqueues the idempotent sweep; the sweep does one index range scan.
    "sla-sweep": {"task": "sla.tasks.sla_sweep_run", "schedule": 60.0},
}
