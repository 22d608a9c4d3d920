"""A breach is a breach: one rule for running, paused and stopped clocks.

The convention (docs/sla.md): a clock's due time is the *earliest* instant at which its
business time used reaches the budget; it is breached when it was still running after that
instant; a stopped clock is met when ``stopped_at <= due_at``. So a budget running out at
closing time is due at closing time, an answer at or before it is met and one after it is
missed, even with no business time in between.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar
from sla.choices import Metric
from sla.clocks import (
    RUNNING,
    STOPPED,
    BulkRow,
    Change,
    clock_figures,
    clock_figures_many,
)
from sla.metrics import clock_timeline

from .test_calendar import configs, examples, split
from .test_clock_rules import SOFTONE, t

PROPS = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STATUSES = ["open", "pending", "on_hold", "solved", "closed", "open", "pending", "open"]


def _figures(
    changes: list[Change], start: dt.datetime, budget: float, engine: BusinessCalendar, **kw: Any
) -> Any:
    metric = kw.pop("metric", Metric.FIRST_RESPONSE)
    timeline = clock_timeline(
        metric=metric, received_at=start, initial_status="new", changes=changes
    )
    return clock_figures(timeline=timeline, budget_seconds=budget, engine=engine, **kw), timeline


def test_a_budget_ending_at_closing_time_is_due_at_closing_time_even_after_a_pause() -> None:
    start = t(2026, 3, 2, 15, 0)  # Monday; SoftOne closes at 16:00
    pending = Change(at=t(2026, 3, 2, 16, 30), status="pending")
    reopened = Change(at=t(2026, 3, 3, 9, 0), status="open")
    figures, _tl = _figures(
        [pending, reopened], start, 3600, SOFTONE, now=t(2026, 3, 3, 10), metric=Metric.RESOLUTION
    )
    assert figures.due_at == t(2026, 3, 2, 16, 0)
    assert figures.breached_at == t(2026, 3, 2, 16, 0)


def test_an_answer_after_closing_on_the_due_day_is_missed_and_one_at_closing_is_met() -> None:
    start = t(2026, 3, 2, 15, 0)
    late, _ = _figures(
        [Change(at=t(2026, 3, 2, 16, 30), responded=True)], start, 3600, SOFTONE, now=t(2026, 3, 3)
    )
    assert (late.due_at, late.met, late.breached_at) == (
        t(2026, 3, 2, 16, 0),
        False,
        t(2026, 3, 2, 16, 0),
    )
    on_time, _ = _figures(
        [Change(at=t(2026, 3, 2, 16, 0), responded=True)], start, 3600, SOFTONE, now=t(2026, 3, 3)
    )
    assert (on_time.met, on_time.breached_at) == (True, None)


def test_going_pending_after_the_due_time_keeps_the_breach() -> None:
    start = t(2026, 3, 2, 15, 0)
    figures, _ = _figures(
        [Change(at=t(2026, 3, 2, 16, 30), status="pending")],
        start,
        3600,
        SOFTONE,
        now=t(2026, 3, 3),
        metric=Metric.RESOLUTION,
    )
    assert figures.state == "paused"
    assert figures.breached_at == t(2026, 3, 2, 16, 0)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, dt.datetime, list[Change], int, str]:
    """A random calendar, a receipt time, a history and a budget, on a 15-minute grid so
    that changes and due times often fall exactly on opening and closing times."""
    raw, base = split(draw(configs()))
    engine = BusinessCalendar.from_dict(raw)
    zone = ZoneInfo(raw["timezone"])
    origin = dt.datetime.combine(base, dt.time(), zone) - dt.timedelta(days=2)
    start = origin + dt.timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 4)))
    # A grid instant the history gathers around; when it lies outside the hours, a budget
    # of the business time up to it runs out exactly at a closing time.
    focus = draw(st.integers(1, 4 * 24 * 10))
    near = st.integers(-2, 4).map(lambda k: max(focus + k, 0))
    steps = sorted(draw(st.lists(st.integers(0, 4 * 24 * 10) | near, max_size=7)))
    changes = [
        Change(
            at=start + dt.timedelta(minutes=15 * k),
            status=draw(st.sampled_from([*STATUSES, ""])),
            responded=draw(st.booleans()),
        )
        for k in steps
    ]
    budget = 15 * 60 * draw(st.integers(1, 4 * 30))
    if draw(st.booleans()):
        until = start + dt.timedelta(minutes=15 * focus)
        budget = max(int(engine.between(start, until).total_seconds()), 60)
    return (
        engine,
        start,
        changes,
        budget,
        draw(st.sampled_from([Metric.FIRST_RESPONSE, Metric.RESOLUTION])),
    )


@PROPS
@given(scenario=scenarios())
def test_met_is_stopped_at_or_before_due_and_a_breach_is_never_undone(
    scenario: tuple[BusinessCalendar, dt.datetime, list[Change], int, str],
) -> None:
    engine, start, changes, budget, metric = scenario
    end = start + dt.timedelta(days=40)
    final, timeline = _figures(changes, start, budget, engine, now=end, metric=metric)
    if final.state == STOPPED:
        # The instant the clock stopped counting: ``stopped_at``, or for a clock stopped
        # while paused (solved while pending) the start of that pause.
        last_ran = timeline.segments[-1][1] if timeline.segments else timeline.stopped_at
        stopped_at = dt.datetime.fromtimestamp(last_ran or 0, dt.UTC)
        assert final.due_at is not None
        on_time = stopped_at <= final.due_at
        # Solved in time without a reply: the response was not needed (neither met nor missed).
        assert final.met == (None if on_time and timeline.unanswered else on_time)
        assert (final.met is False) == (final.breached_at is not None)
    for k in range(len(changes) + 1):
        # As the clock stood just before change k was applied (and time had passed to it).
        moment = changes[k].at if k < len(changes) else end
        earlier, _tl = _figures(changes[:k], start, budget, engine, now=moment, metric=metric)
        if earlier.breached_at is not None:
            assert final.breached_at == earlier.breached_at, k
            assert final.met in (False, None)
        if earlier.state == RUNNING and earlier.due_at is not None and earlier.due_at <= moment:
            # Already due: nothing that happens later moves the due time.
            if final.due_at is not None:
                assert final.due_at == earlier.due_at, k


@PROPS
@given(scenarios=st.lists(scenarios(), min_size=1, max_size=1), more=st.data())
def test_the_bulk_path_decides_breach_and_met_like_the_scalar_path(
    scenarios: list[tuple[BusinessCalendar, dt.datetime, list[Change], int, str]],
    more: st.DataObject,
) -> None:
    engine, start, changes, budget, metric = scenarios[0]
    now = start + dt.timedelta(minutes=15 * more.draw(st.integers(0, 4 * 24 * 12)))
    changes = [c for c in changes if c.at <= now]
    one, timeline = _figures(
        changes, start, budget, engine, now=now, metric=metric, thresholds=[100]
    )
    bulk = clock_figures_many(
        rows=[BulkRow(timeline.as_json(), budget, 100)], engine=engine, now=now
    )
    breached = bulk.breached_epoch[0]
    if one.breached_at is None:
        assert math.isnan(breached)
    else:
        assert breached == one.breached_at.timestamp()
    if one.state != "paused":
        assert one.due_at is not None
        assert bulk.due_epoch[0] == one.due_at.timestamp()
    if one.state == STOPPED and not timeline.unanswered:
        assert bulk.met[0] == one.met
