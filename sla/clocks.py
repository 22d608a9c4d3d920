"""How a clock's figures follow from a ticket's history: pure computation, no database.

Two steps, each a pure function:

1. :func:`run_timeline` turns the history (received at, status changes, public staff
   replies) into the real-time *segments* in which the clock ran. Segments do not depend on
   the calendar, the priority or the plan. Which history a metric's clock runs on, and
   whether a reply stops it, is the metric's rule (:mod:`sla.metrics`).
2. :func:`clock_figures` (one clock, exact scalar engine calls) and :func:`clock_figures_many`
   (many clocks on one calendar, the engine's numpy bulk path) turn segments, a business-time
   budget and a calendar into due time, breach, met, and threshold instants.

Rules: a clock runs from its start; it pauses while the ticket waits on the customer
(``pending``), and a clock whose rule says so (resolution) while it waits on the vendor where
the tenant chose that; a response clock stops for good at the first public staff reply or when the
ticket is solved or closed; other clocks stop when the ticket is solved or closed and resume
with the remaining time if it is reopened. Instants are taken to the whole second, so the
scalar and bulk paths agree exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calendar import BusinessCalendar

PAUSE_STATUSES = frozenset({"pending"})
PAUSE_REASONS = frozenset({"pending", "vendor"})
"""Why a paused clock waits: on the customer (pending) or on the vendor (a tenant setting)."""
DONE_STATUSES = frozenset({"solved", "closed"})

RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"

UTC = dt.UTC


def to_epoch(moment: dt.datetime) -> int:
    """Whole epoch seconds (floored) of an aware datetime."""
    return math.floor(moment.timestamp())


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Change:
    """One point of the history that matters to clocks."""

    at: dt.datetime
    status: str = ""  # the new status, when the status changed
    responded: bool = False  # a public reply by staff
    customer: bool = False  # a message from the customer
    # The ticket started (True) or stopped (False) waiting on the vendor in a way that pauses
    # the clocks whose rule says so (the resolution clock); None: no vendor change here.
    vendor_wait: bool | None = None


@dataclass(frozen=True)
class Pause:
    start: int  # epoch seconds
    end: int | None  # None while still paused
    reason: str  # "pending", "vendor" or "solved"


@dataclass(frozen=True)
class Timeline:
    """Where a clock ran, in real time. ``segments``' last end is None while running."""

    segments: tuple[tuple[int, int | None], ...]
    stopped_at: int | None
    pauses: tuple[Pause, ...]
    # The first-response clock stopped by a solve or close with no public staff reply: the
    # response was not needed (neither met nor missed, unless it had breached before).
    unanswered: bool = False
    # Where the clock started (epoch seconds): None for receipt. A cycle metric's clock
    # starts again at each cycle; ``cycle`` numbers it from 1 (0: a single-shot metric) and
    # ``past`` holds the timelines of the cycles before it.
    started: int | None = None
    cycle: int = 0
    past: tuple[Timeline, ...] = ()

    @property
    def state(self) -> str:
        if self.segments and self.segments[-1][1] is None:
            return RUNNING
        return STOPPED if self.stopped_at is not None else PAUSED

    def as_json(self) -> list[list[int | None]]:
        return [[s, e] for s, e in self.segments]


def clip(
    segments: Sequence[Sequence[Any]], since: int | None
) -> tuple[tuple[int, int | None], ...]:
    """The parts of ``segments`` after ``since`` (the last rule change), or all of them.

    Forward-only recompute: the business time before a change was counted under the rules of
    the time and is carried as a number; only what follows is counted under the new rules.
    """
    if since is None:
        return tuple((int(s), None if e is None else int(e)) for s, e in segments)
    return tuple(
        (max(int(s), since), None if e is None else int(e))
        for s, e in segments
        if e is None or e > since
    )


def used_until(
    *,
    segments: Sequence[Sequence[Any]],
    carried_seconds: float,
    carried_at: int | None,
    engine: BusinessCalendar,
    at: int,
) -> float:
    """Business seconds the clock had used by ``at`` under ``engine`` (the rules in force
    until then): the carried time plus what ran after ``carried_at``."""
    used = carried_seconds
    for s, e in clip(segments, carried_at):
        end = at if e is None else min(e, at)
        if end > s:
            used += engine.between(from_epoch(s), from_epoch(end)).total_seconds()
    return used


def used_until_many(
    *,
    segments: Sequence[Sequence[Sequence[Any]]],
    carried_seconds: np.ndarray,
    carried_at: np.ndarray,
    engine: BusinessCalendar,
    at: int,
) -> np.ndarray:
    """:func:`used_until` for many clocks on one calendar: one ``between_many`` for all.

    ``carried_at`` holds NaN where a clock carries nothing."""
    owner: list[int] = []
    a: list[float] = []
    b: list[float] = []
    for i, segs in enumerate(segments):
        since = carried_at[i]
        for s, e in clip(segs, None if since != since else int(since)):
            end = at if e is None else min(e, at)
            if end > s:
                owner.append(i)
                a.append(s)
                b.append(end)
    used = np.array(carried_seconds, dtype=np.float64, copy=True)
    if owner:
        np.add.at(used, np.array(owner), engine.between_many(np.array(a), np.array(b)))
    return used


def run_timeline(
    *,
    received_at: dt.datetime,
    initial_status: str,
    changes: Iterable[Change],
    stops_on_response: bool,
    pauses_on_vendor: bool = False,
) -> Timeline:
    """The running segments of a clock started at ``received_at``, over the history that
    follows (sorted by time). ``stops_on_response``: a public staff reply, a solve or a close
    stops it for good (a response clock); else a reopen resumes it. ``pauses_on_vendor``:
    it also pauses while the ticket waits on the vendor (changes with ``vendor_wait``)."""
    segments: list[tuple[int, int | None]] = []
    pauses: list[Pause] = []
    done_for_good = False  # a response clock after a response or a solve
    answered = False
    status = initial_status
    run_start: int | None = None
    idle_start: int | None = None
    idle_reason = ""  # "pending" or "vendor" (paused) or "stopped"
    vendor_waiting = False

    def idle_reason_now() -> str:
        if done_for_good or status in DONE_STATUSES:
            return "stopped"
        if status in PAUSE_STATUSES:
            return "pending"
        return "vendor" if vendor_waiting else ""

    def step(at: int) -> None:
        nonlocal run_start, idle_start, idle_reason
        reason = idle_reason_now()
        if run_start is not None:
            if reason:
                segments.append((run_start, max(at, run_start)))
                run_start, idle_start, idle_reason = None, at, reason
            return
        since = at if idle_start is None else idle_start
        if not reason:  # resumes: a pause ends, or a solved ticket is reopened
            pauses.append(
                Pause(
                    since,
                    max(at, since),
                    "solved" if idle_reason == "stopped" else idle_reason,
                )
            )
            run_start, idle_start, idle_reason = at, None, ""
        elif reason != idle_reason:
            if idle_reason in PAUSE_REASONS:
                pauses.append(Pause(since, max(at, since), idle_reason))
            idle_start, idle_reason = at, reason

    received = to_epoch(received_at)
    if idle_reason_now():
        idle_start, idle_reason = received, idle_reason_now()
    else:
        run_start = received
    for change in changes:
        vendor_moves = pauses_on_vendor and change.vendor_wait is not None
        if not (change.status or change.responded or vendor_moves):
            continue  # a customer message moves no clock of its own
        at = max(to_epoch(change.at), received)
        if vendor_moves:
            vendor_waiting = bool(change.vendor_wait)
        if stops_on_response and change.responded:
            answered = answered or not done_for_good
            done_for_good = True
        if change.status:
            status = change.status
            if stops_on_response and status in DONE_STATUSES:
                done_for_good = True
        step(at)
    if run_start is not None:
        segments.append((run_start, None))
    elif idle_reason in PAUSE_REASONS:
        pauses.append(Pause(idle_start or received, None, idle_reason))
    stopped_at = idle_start if idle_reason == "stopped" else None
    unanswered = stops_on_response and stopped_at is not None and not answered
    return Timeline(tuple(segments), stopped_at, tuple(pauses), unanswered)


@dataclass(frozen=True)
class Figures:
    """A clock's derived figures at ``now``; instants as aware UTC datetimes."""

    state: str
    due_at: dt.datetime | None  # running/stopped: the deadline; paused: None
    elapsed_seconds: float  # business seconds used (to now, the pause, or the stop)
    breached_at: dt.datetime | None
    met: bool | None  # stopped clocks only
    thresholds: dict[int, dt.datetime | None] = field(default_factory=dict)
    # business seconds used before the last (open or final) segment began
    elapsed_before_last: float = 0.0


def clock_figures(
    *,
    timeline: Timeline,
    budget_seconds: float,
    engine: BusinessCalendar,
    now: dt.datetime,
    thresholds: Sequence[int] = (),
    carried_seconds: float = 0.0,
    carried_at: int | None = None,
) -> Figures:
    """Due time, breach and threshold crossings of one clock (exact scalar engine calls).

    ``carried_seconds`` used before ``carried_at`` (the last change of the clock's rules)
    are taken as counted then; only the time after it is counted on ``engine``. A budget the
    carried time already reaches was used up at the change: due at ``carried_at``.
    """
    segments = clip(timeline.segments, carried_at)
    state = timeline.state
    starts = [from_epoch(s) for s, _e in segments]
    closed = [
        engine.between(starts[i], from_epoch(e)).total_seconds()
        for i, (_s, e) in enumerate(segments)
        if e is not None
    ]
    cum = [carried_seconds if carried_at is not None else 0.0]
    for seconds in closed:
        cum.append(cum[-1] + seconds)

    def instant(amount: float, *, open_last: bool) -> dt.datetime | None:
        """When ``amount`` business seconds had been used; None if not (yet) reached.

        The earliest such instant: a budget that runs out exactly when a segment's business
        time does is due at that moment (the closing time), not at the next segment's start.
        A budget the carried time already reaches ran out at the change.
        """
        if carried_at is not None and amount <= cum[0]:
            return from_epoch(carried_at)
        for i, seconds in enumerate(closed):
            if amount <= cum[i] + seconds:
                return engine.add(starts[i], dt.timedelta(seconds=amount - cum[i]))
        if open_last and segments:
            last = len(segments) - 1
            base = cum[last] if last < len(closed) else cum[-1]
            if amount >= base:
                return engine.add(starts[last], dt.timedelta(seconds=amount - base))
        return None

    used = cum[-1]
    if state == RUNNING:
        used += engine.between(starts[-1], max(now, starts[-1])).total_seconds()
    elapsed_before_last = cum[len(segments) - 1] if segments else cum[0]
    due_at = None if state == PAUSED else instant(budget_seconds, open_last=True)
    # One rule for every state: breached when the clock was still running after the instant
    # its budget ran out (``now`` for a running clock, else when it last stopped running).
    crossing = instant(budget_seconds, open_last=state == RUNNING)
    last_end = segments[-1][1] if segments else None
    ran_until = now if state == RUNNING else (None if last_end is None else from_epoch(last_end))
    breached_at = crossing if crossing is not None and ran_until and crossing < ran_until else None
    met = (breached_at is None) if state == STOPPED else None
    if met and timeline.unanswered:
        met = None  # solved before the response was due and without one: not needed
    marks = {p: instant(budget_seconds * p / 100, open_last=state == RUNNING) for p in thresholds}
    return Figures(
        state=state,
        due_at=_utc(due_at),
        elapsed_seconds=used if state != RUNNING else cum[-1],
        breached_at=_utc(breached_at),
        met=met,
        thresholds={p: _utc(t) for p, t in marks.items()},
        elapsed_before_last=elapsed_before_last,
    )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class BulkRow:
    """One clock for :func:`clock_figures_many`: its cached segments and budget."""

    segments: Sequence[Sequence[Any]]
    budget_seconds: float
    next_threshold_percent: int | None = None  # the lowest threshold not yet acted on
    carried_seconds: float = 0.0  # used before ``carried_at`` (the last rule change)
    carried_at: int | None = None


@dataclass(frozen=True)
class BulkFigures:
    due_epoch: np.ndarray  # NaN where paused
    elapsed_seconds: np.ndarray  # as :attr:`Figures.elapsed_seconds` (running: before resume)
    breached_epoch: np.ndarray  # NaN where not breached
    met: list[bool | None]
    next_alert_epoch: np.ndarray  # NaN where none


def clock_figures_many(
    *, rows: Sequence[BulkRow], engine: BusinessCalendar, now: dt.datetime
) -> BulkFigures:
    """:func:`clock_figures` for many clocks on one calendar, with the numpy bulk path.

    Closed segments go through one ``between_many``; the open (or last) segment of every
    clock through ``add_many``. The rare clock whose budget ran out in an earlier segment is
    finished with exact scalar calls.
    """
    n = len(rows)
    seg_clock: list[int] = []
    seg_a: list[float] = []
    seg_b: list[float] = []
    last_start = np.zeros(n)
    running = np.zeros(n, dtype=bool)
    stopped = np.zeros(n, dtype=bool)
    budgets = np.array([r.budget_seconds for r in rows], dtype=np.float64)
    carried = np.array(
        [r.carried_seconds if r.carried_at is not None else 0.0 for r in rows], dtype=np.float64
    )
    clipped = [clip(r.segments, r.carried_at) for r in rows]
    for i, segs in enumerate(clipped):
        for s, e in segs[:-1]:
            seg_clock.append(i)
            seg_a.append(s)
            seg_b.append(e)  # type: ignore[arg-type]  # only the last segment is open
        if segs:
            s, e = segs[-1]
            last_start[i] = s
            if e is None:
                running[i] = True
            else:
                seg_clock.append(i)
                seg_a.append(s)
                seg_b.append(e)
                stopped[i] = True  # refined below: paused vs stopped is the caller's state
    before_last = np.zeros(n)
    closed_total = np.zeros(n)
    if seg_clock:
        seconds = engine.between_many(np.array(seg_a), np.array(seg_b))
        idx = np.array(seg_clock)
        np.add.at(closed_total, idx, seconds)
        # The last closed segment of a stopped/paused clock is not "before the last".
        last_closed = np.zeros(n)
        is_last = np.zeros(len(seg_clock), dtype=bool)
        for j in range(len(seg_clock)):
            if j + 1 == len(seg_clock) or seg_clock[j + 1] != seg_clock[j]:
                is_last[j] = not running[seg_clock[j]]
        np.add.at(last_closed, idx[is_last], seconds[is_last])
        before_last = closed_total - last_closed
    closed_total += carried
    before_last += carried
    now_epoch = now.timestamp()
    remaining = budgets - before_last
    has_segments = np.array([bool(segs) for segs in clipped], dtype=bool)
    # remaining == 0 with earlier segments: the budget ran out when one of them ended, which
    # the scalar crossing finds (not the last segment's start).
    ok = (remaining > 0) & has_segments
    due = np.full(n, np.nan)
    if ok.any():
        due[ok] = engine.add_many(last_start[ok], remaining[ok])
    for i in np.flatnonzero(~ok & has_segments).tolist():
        # Ran out in an earlier segment: find the crossing exactly.
        due[i] = _scalar_crossing(clipped[i], budgets[i], engine, rows[i])
    used = np.where(running, before_last, closed_total)
    breached = np.full(n, np.nan)
    run_breach = running & (due < now_epoch)
    breached[run_breach] = due[run_breach]
    # Stopped or paused: breached when it ran on after its budget ran out (the rule of
    # :func:`clock_figures`); used == budget is a breach only if it ran past that instant.
    done_breach = ~running & has_segments & (closed_total >= budgets)
    for i in np.flatnonzero(done_breach).tolist():
        crossing = _scalar_crossing(clipped[i], budgets[i], engine, rows[i])
        if crossing < clipped[i][-1][1]:  # type: ignore[operator]  # closed: not running
            breached[i] = crossing
    met: list[bool | None] = [None] * n
    next_alert = np.full(n, np.nan)
    pct = np.array(
        [np.nan if r.next_threshold_percent is None else r.next_threshold_percent for r in rows]
    )
    want = running & ~np.isnan(pct)
    if want.any():
        amount = budgets[want] * pct[want] / 100 - before_last[want]
        starts = last_start[want]
        result = np.zeros(len(amount))
        pos = amount > 0
        if pos.any():
            result[pos] = engine.add_many(starts[pos], amount[pos])
        # A threshold passed in an earlier segment: find that crossing exactly (rare).
        rows_wanted = np.flatnonzero(want)
        for k in np.flatnonzero(~pos):
            i = rows_wanted[k]
            result[k] = _scalar_crossing(clipped[i], budgets[i] * pct[i] / 100, engine, rows[i])
        next_alert[want] = result
    for i in range(n):
        if not running[i]:
            met[i] = bool(math.isnan(breached[i]))
    return BulkFigures(
        due_epoch=due,
        elapsed_seconds=used,
        breached_epoch=breached,
        met=met,
        next_alert_epoch=next_alert,
    )


def _scalar_crossing(
    segments: Sequence[Sequence[Any]], budget: float, engine: BusinessCalendar, row: BulkRow
) -> float:
    """When ``budget`` was reached over the (clipped) segments, after the row's carry."""
    used = 0.0
    if row.carried_at is not None:
        used = row.carried_seconds
        if budget <= used:
            return float(row.carried_at)
    for s, e in segments:
        start = from_epoch(s)
        if e is None:
            return engine.add(start, dt.timedelta(seconds=budget - used)).timestamp()
        seconds = engine.between(start, from_epoch(e)).total_seconds()
        if budget <= used + seconds:
            return engine.add(start, dt.timedelta(seconds=budget - used)).timestamp()
        used += seconds
    return math.nan
