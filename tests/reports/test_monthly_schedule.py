"""When the monthly reports go out and which month they cover.

The month comes from each tenant's time zone (tenants west and east of UTC), is fixed when
the task is queued, and a run missed while beat was down is made up once after a restart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.signals import before_task_publish
from django_scopes import scope, scopes_disabled

from reports.services import month_bounds
from reports.tasks import sla_reports_monthly_send, sla_reports_tenant_send
from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tests.tickets.conftest import build_desk
from tickets.mail.models import OutboundEmail

MONTHLY = "sla-reports-monthly"
ZONES = [
    "Pacific/Pago_Pago",  # UTC-11
    "America/Los_Angeles",
    "Europe/Stockholm",
    "Asia/Tokyo",
    "Pacific/Kiritimati",  # UTC+14
]


def _beat_run_after(moment: dt.datetime) -> dt.datetime:
    """When beat next runs the monthly reports after ``moment``, from the real schedule."""
    schedule = celery_app.conf.beat_schedule[MONTHLY]["schedule"]
    with time_machine.travel(moment, tick=False):
        return (moment + schedule.remaining_estimate(moment)).astimezone(dt.UTC)


def _periods(cast: Cast) -> set[str]:
    with scope(tenant=cast.tenant_a):
        keys = OutboundEmail.objects.filter(key__startswith="sla-report:").values_list("key")
    return {key.split(":")[1] for (key,) in keys}


@pytest.fixture
def eager() -> Iterator[None]:
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


@pytest.mark.parametrize("zone", ZONES)
def test_each_tenant_is_sent_the_month_that_has_ended_where_it_is(
    cast: Cast, eager: None, zone: str
) -> None:
    build_desk(cast)
    with scopes_disabled():
        cast.tenant_a.time_zone = zone
        cast.tenant_a.save()
    run_at = _beat_run_after(dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
    _start, february_ends = month_bounds(tenant=cast.tenant_a, month=dt.date(2026, 2, 1))
    assert run_at >= february_ends, "beat would report a month not yet over in this zone"
    with time_machine.travel(run_at, tick=False):
        sla_reports_monthly_send()
    assert _periods(cast) == {"2026-02"}


@pytest.fixture
def published() -> Iterator[list[tuple[str, Any]]]:
    """Tasks really published to the broker (not run), purged afterwards."""
    messages: list[tuple[str, Any]] = []

    def record(headers: dict[str, Any], body: Any, **kwargs: Any) -> None:
        messages.append((headers["task"], body[0]))

    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    before_task_publish.connect(record, weak=False)
    try:
        yield messages
    finally:
        before_task_publish.disconnect(record)
        celery_app.conf.task_always_eager = old
        celery_app.control.purge()


def test_a_report_task_run_after_a_month_boundary_reports_the_month_it_was_queued_for(
    cast: Cast, published: list[tuple[str, Any]]
) -> None:
    build_desk(cast)
    with time_machine.travel(dt.datetime(2026, 3, 31, 20, tzinfo=dt.UTC), tick=False):
        sla_reports_monthly_send()  # a late run, on the last evening of March
    (task, args), *others = [m for m in published if m[0] == "sla.reports_tenant_send"]
    with time_machine.travel(dt.datetime(2026, 4, 1, 1, tzinfo=dt.UTC), tick=False):
        sla_reports_tenant_send.apply(args=args)  # the worker gets to it after midnight
    assert _periods(cast) == {"2026-02"}


class RecordingScheduler(PersistentScheduler):
    """The real persistent scheduler; it records what it would send instead of sending."""

    sent: list[str]

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        self.sent.append(entry.name)


def _run_beat(schedule_file: Path, at: dt.datetime) -> list[str]:
    """Start beat at ``at``, let it send what is due, stop it."""
    with time_machine.travel(at, tick=False):
        beat = RecordingScheduler(app=celery_app, schedule_filename=str(schedule_file))
        beat.sent = []
        for _ in range(len(celery_app.conf.beat_schedule) + 2):
            beat.tick()
        beat.close()
        return [name for name in beat.sent if name == MONTHLY]


def test_a_missed_first_of_month_run_is_made_up_once_after_a_restart(tmp_path: Path) -> None:
    kept = tmp_path / "volume" / "celerybeat-schedule"
    kept.parent.mkdir()
    assert _run_beat(kept, dt.datetime(2026, 2, 27, 9, tzinfo=dt.UTC)) == []
    # Beat is down over March 1st; it starts again on the 3rd with its schedule file kept.
    assert _run_beat(kept, dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)) == [MONTHLY]
    assert _run_beat(kept, dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)) == []
    assert _run_beat(kept, dt.datetime(2026, 3, 20, 10, tzinfo=dt.UTC)) == []
    # Without the kept file (a schedule in the container's /tmp) the run is skipped.
    lost = tmp_path / "tmp" / "celerybeat-schedule"
    lost.parent.mkdir()
    assert _run_beat(lost, dt.datetime(2026, 2, 27, 9, tzinfo=dt.UTC)) == []
    lost_again = tmp_path / "tmp2" / "celerybeat-schedule"
    lost_again.parent.mkdir()
    assert _run_beat(lost_again, dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)) == []
