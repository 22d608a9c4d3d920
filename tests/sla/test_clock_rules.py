"""The pure clock rules: segments from history, and the bulk (numpy) path agreeing with the
exact scalar path on awkward calendars."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar
from sla.choices import Metric
from sla.clocks import (
    BulkRow,
    Change,
    Pause,
    clock_figures,
    clock_figures_many,
    to_epoch,
)
from sla.metrics import clock_timeline

TZ = ZoneInfo("Europe/Stockholm")
SOFTONE = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Stockholm",
        "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "SE", "categories": ["public"]},
        "eve_hours": ["08:00-13:00"],
    }
)


def t(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def test_pending_pauses_and_solving_stops_resolution_until_reopened() -> None:
    timeline = clock_timeline(
        metric=Metric.RESOLUTION,
        received_at=t(2026, 3, 2, 9),
        initial_status="new",
        changes=[
            Change(at=t(2026, 3, 2, 10), status="pending"),
            Change(at=t(2026, 3, 2, 11), status="open"),
            Change(at=t(2026, 3, 2, 12), status="solved"),
            Change(at=t(2026, 3, 3, 9), status="open"),
        ],
    )
    e = to_epoch
    assert timeline.segments == (
        (e(t(2026, 3, 2, 9)), e(t(2026, 3, 2, 10))),
        (e(t(2026, 3, 2, 11)), e(t(2026, 3, 2, 12))),
        (e(t(2026, 3, 3, 9)), None),
    )
    assert timeline.pauses == (
        Pause(e(t(2026, 3, 2, 10)), e(t(2026, 3, 2, 11)), "pending"),
        Pause(e(t(2026, 3, 2, 12)), e(t(2026, 3, 3, 9)), "solved"),
    )
    assert timeline.state == "running" and timeline.stopped_at is None


def test_the_first_response_clock_ends_for_good_at_the_first_staff_reply() -> None:
    timeline = clock_timeline(
        metric=Metric.FIRST_RESPONSE,
        received_at=t(2026, 3, 2, 9),
        initial_status="new",
        changes=[
            Change(at=t(2026, 3, 2, 10), responded=True),
            Change(at=t(2026, 3, 2, 11), status="pending"),
            Change(at=t(2026, 3, 2, 12), status="open"),
        ],
    )
    assert timeline.state == "stopped"
    assert timeline.stopped_at == to_epoch(t(2026, 3, 2, 10))
    assert len(timeline.segments) == 1


def test_a_clock_started_outside_hours_counts_from_the_next_opening_and_skips_lunch() -> None:
    timeline = clock_timeline(
        metric=Metric.FIRST_RESPONSE,
        received_at=t(2026, 3, 6, 18),
        initial_status="new",
        changes=[],
    )  # Friday evening
    figures = clock_figures(
        timeline=timeline, budget_seconds=5 * 3600, engine=SOFTONE, now=t(2026, 3, 6, 18)
    )
    assert figures.due_at == t(2026, 3, 9, 14)  # Mon 08-12, 13-14


def test_a_threshold_instant_is_reported_for_the_share_of_the_budget() -> None:
    timeline = clock_timeline(
        metric=Metric.FIRST_RESPONSE, received_at=t(2026, 3, 2, 8), initial_status="new", changes=[]
    )
    figures = clock_figures(
        timeline=timeline,
        budget_seconds=4 * 3600,
        engine=SOFTONE,
        now=t(2026, 3, 2, 8),
        thresholds=[0, 75, 100],
    )
    # 08-12 uses the 4 h exactly: due as lunch starts, not after it.
    assert figures.thresholds == {
        0: t(2026, 3, 2, 8),
        75: t(2026, 3, 2, 11),
        100: t(2026, 3, 2, 12),
    }
    assert figures.due_at == t(2026, 3, 2, 12)


STATUSES = ["open", "pending", "on_hold", "solved", "open", "pending"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[dt.datetime, list[Change]]:
    start = t(2025, 12, 20, 0) + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    moments = sorted(draw(st.lists(st.integers(1, 60 * 24 * 20), max_size=6)))
    changes = [
        Change(
            at=start + dt.timedelta(minutes=m),
            status=draw(st.sampled_from(STATUSES)),
            responded=draw(st.booleans()),
        )
        for m in moments
    ]
    return start, changes


@settings(max_examples=150, deadline=None)
@given(
    histories=st.lists(histories(), min_size=1, max_size=8),
    budgets=st.lists(st.integers(60, 40 * 3600), min_size=8, max_size=8),
    metric=st.sampled_from([Metric.FIRST_RESPONSE, Metric.RESOLUTION]),
)
def test_the_bulk_path_agrees_with_the_scalar_path(
    histories: list[tuple[dt.datetime, list[Change]]], budgets: list[int], metric: str
) -> None:
    now = t(2026, 2, 15, 12)
    timelines = [
        clock_timeline(metric=metric, received_at=start, initial_status="new", changes=changes)
        for start, changes in histories
    ]
    scalar = [
        clock_figures(
            timeline=tl, budget_seconds=budgets[i], engine=SOFTONE, now=now, thresholds=[100]
        )
        for i, tl in enumerate(timelines)
    ]
    bulk = clock_figures_many(
        rows=[
            BulkRow(segments=tl.as_json(), budget_seconds=budgets[i], next_threshold_percent=100)
            for i, tl in enumerate(timelines)
        ],
        engine=SOFTONE,
        now=now,
    )
    for i, (tl, one) in enumerate(zip(timelines, scalar, strict=True)):
        due = bulk.due_epoch[i]
        if tl.state == "paused":
            assert one.due_at is None
        elif one.due_at is None:
            assert math.isnan(due)
        else:
            assert due == one.due_at.timestamp()
        breached = bulk.breached_epoch[i]
        if one.breached_at is None:
            assert math.isnan(breached)
        else:
            assert breached == one.breached_at.timestamp()
        assert bulk.elapsed_seconds[i] == one.elapsed_seconds
        if tl.state == "stopped" and not tl.unanswered:  # the bulk path sees live clocks only
            assert bulk.met[i] == one.met
        if tl.state == "running":
            assert bulk.next_alert_epoch[i] == one.thresholds[100].timestamp()  # type: ignore[union-attr]
