from __future__ import annotations

from supportdesk.celery import app


def test_every_beat_entry_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    app.autodiscover_tasks(["sla.reports"], force=True)
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
    expected = {"sla.tasks.sla_sweep_run", "mail.mailboxes_poll", "sla.reports_monthly_send"}
    assert expected <= scheduled


def test_tasks_acknowledge_late_so_a_killed_worker_loses_nothing() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
