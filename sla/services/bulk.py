"""Bulk recomputation after a calendar or target edit: set-based, batch by batch."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, FloatField, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.utils import timezone

from tickets.models import ACTIVE_STATUSES, Ticket, TicketSchedule

from .. import clocks as engine_rules
from ..calendar import BusinessCalendar
from ..clocks import BulkRow
from ..models import (
    Alert,
    Calendar,
    Clock,
    ClockState,
    EscalationRule,
    Metric,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)
from .escalation import BREACH_PERCENT
from .refresh import engine_of, sla_refresh, thresholds_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rebase:
    """A change of the rules at ``at`` (forward-only recompute): each live clock carries the
    business time it used until then, counted on the calendar it was on; ``old_configs``
    gives a calendar's hours before an edit (by calendar id). ``why`` is what the
    explanation names ("calendar Office edited")."""

    at: dt.datetime
    why: dict[str, Any]
    old_configs: dict[int, dict[str, Any]] = field(default_factory=dict)


# Positions in the rows the bulk recompute reads.
_ID, _TICKET, _METRIC, _TARGET, _POLICY, _PRIORITY, _STARTED, _TENANT = range(8)
_CALENDAR, _CARRIED, _CARRIED_AT, _CYCLE, _STATE, _SEGMENTS = range(8, 14)


def clocks_recompute_bulk(
    *,
    clocks: QuerySet[Clock],
    now: dt.datetime | None = None,
    batch: int = 200_000,
    rebase: Rebase | None = None,
) -> int:
    """Recompute due times of many live clocks from their cached segments, in bulk.

    Budget, calendar and thresholds come from each clock's current target; segments (real
    time, independent of calendar and target) are reused, so no event is read. The common
    clock, running since receipt (or since its last rule change) without a pause, needs not
    even its segments: one numpy call per calendar covers them all. With ``rebase`` the
    rules changed at ``rebase.at``: the time each clock used until then is carried first
    (:func:`sla.clocks.used_until_many`, the rule :func:`sla_refresh` follows too). Clocks
    whose target is gone are left to :func:`sla_refresh`. Returns how many clocks were
    written. Caller is inside a transaction and the tenant's scope.
    """
    now = now or timezone.now()
    live = clocks.filter(
        state__in=[ClockState.RUNNING, ClockState.PAUSED], target__isnull=False
    ).annotate(seg_count=_json_length("segments"))
    live = live.annotate(started=_epoch("started_at"), carried=_epoch("carried_at"))
    columns = ("id", "ticket_id", "metric", "target_id", "ticket__sla_policy_id",
               "ticket__priority_id", "started", "tenant_id", "calendar_id", "carried_seconds",
               "carried", "cycle")  # fmt: skip
    simple = _raw_rows(
        live.filter(state=ClockState.RUNNING, seg_count=1).order_by().values_list(*columns)
    )
    general = [
        (*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1])
        for row in _raw_rows(
            live.exclude(state=ClockState.RUNNING, seg_count=1)
            .order_by()
            .values_list(*columns, "state", "segments")
        )
    ]
    if not simple and not general:
        return 0
    rebased: set[int] = set()
    if rebase is not None:
        simple, general, rebased = _rebase_rows(simple, general, rebase)
    targets = {t.pk: t for t in SLATarget.objects.select_related("policy__calendar", "calendar")}
    rules = list(EscalationRule.objects.filter(is_active=True))
    ticket_ids = {r[_TICKET] for r in simple} | {r[_TICKET] for r in general}
    # Keyed by (ticket, metric, cycle): a cycle metric acts on its thresholds once per cycle.
    fired: dict[tuple[int, str, int], set[int]] = defaultdict(set)
    recorded: dict[tuple[int, str, int], float] = {}  # breaches recorded: never undone
    alerts = Alert.objects.filter(ticket__status__in=ACTIVE_STATUSES)
    if ticket_ids:
        # The task's batches cover a range of ticket ids: read only that range's alerts
        # (read whole, every batch parsed all the tenant's alert times again).
        alerts = alerts.filter(ticket_id__gte=min(ticket_ids), ticket_id__lte=max(ticket_ids))
    for ticket_id, metric, cycle, percent, alert_due in _raw_rows(
        alerts.annotate(due=_epoch("due_at"))
        .order_by()
        .values_list("ticket_id", "metric", "cycle", "threshold_percent", "due")
    ):
        if ticket_id in ticket_ids:
            fired[(ticket_id, metric, cycle)].add(percent)
            if percent == BREACH_PERCENT and alert_due is not None:
                recorded[(ticket_id, metric, cycle)] = float(alert_due)
    rule_cache: dict[tuple[int | None, int | None, str], list[int]] = {}

    def next_threshold(row: Sequence[Any]) -> int | None:
        _id, ticket_id, metric, _target, policy_id, priority_id = row[:6]
        key = (policy_id, priority_id, metric)
        if key not in rule_cache:
            rule_cache[key] = thresholds_of(
                r
                for r in rules
                if r.applies_to(policy_id=policy_id, priority_id=priority_id, metric=metric)
            )
        done = fired.get((ticket_id, metric, row[_CYCLE]), ())
        return next((p for p in rule_cache[key] if p not in done), None)

    by_calendar: dict[int, tuple[Calendar, list[Any], list[Any]]] = {}
    calendar_of = {pk: target.effective_calendar() for pk, target in targets.items()}
    for kind, rows in ((0, simple), (1, general)):
        for row in rows:
            calendar = calendar_of[row[_TARGET]]
            entry = by_calendar.setdefault(calendar.pk, (calendar, [], []))
            (entry[1] if kind == 0 else entry[2]).append(row)
    parts: list[_ClockFigures] = []
    for calendar_id, (calendar, simple_rows, general_rows) in by_calendar.items():
        engine = engine_of(calendar)
        parts.append(_bulk_simple(simple_rows, calendar_id, engine, targets, next_threshold, now))
        parts.append(_bulk_general(general_rows, calendar_id, engine, targets, next_threshold, now))
    # In id order, each batch's UPDATE walks the table (and its primary key) forwards once.
    figures = _ClockFigures.concatenate(parts).sorted_by_id()
    if recorded:
        kept = [
            (r[_ID], recorded[(r[_TICKET], r[_METRIC], r[_CYCLE])])
            for r in (*simple, *general)
            if (r[_TICKET], r[_METRIC], r[_CYCLE]) in recorded
        ]
        at = np.searchsorted(figures.ids, np.array([k[0] for k in kept], dtype=np.int64))
        undone = np.isnan(figures.breached[at])
        figures.breached[at[undone]] = np.array([k[1] for k in kept])[undone]
    changed_tickets: set[int] = set()
    why = rebase.why if rebase is not None else None
    for start in range(0, len(figures.ids), batch):
        changed_tickets |= _write_clock_figures(
            figures.take(slice(start, start + batch)), now, rebased=rebased, why=why
        )
    tenant_id = (simple or general)[0][_TENANT]
    # A ticket's nearest due time follows from its clocks: unchanged clocks, unchanged ticket.
    _refresh_next_due(changed_tickets, tenant_id)
    return len(figures.ids)


def _rebase_rows(
    simple: list[tuple[Any, ...]], general: list[tuple[Any, ...]], rebase: Rebase
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], set[int]]:
    """The rows with the time each clock used until ``rebase.at`` carried (counted on the
    calendar it was on, before the edit); clocks carried at or after it already are kept.
    Returns the rows and the ids of the clocks carried now."""
    at = engine_rules.to_epoch(rebase.at)
    rows = [*simple, *general]
    by_calendar: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row[_CARRIED_AT] is None or row[_CARRIED_AT] < at:
            by_calendar[row[_CALENDAR]].append(i)
    calendars = {c.pk: c for c in Calendar.objects.filter(pk__in=list(by_calendar))}
    carried: dict[int, float] = {}
    for calendar_id, positions in by_calendar.items():
        config = rebase.old_configs.get(calendar_id)
        engine = (
            BusinessCalendar.from_dict(config)
            if config is not None
            else engine_of(calendars[calendar_id])
        )
        picked = [rows[i] for i in positions]
        used = engine_rules.used_until_many(
            segments=[
                r[_SEGMENTS] if len(r) > _SEGMENTS else [[r[_STARTED], None]] for r in picked
            ],
            carried_seconds=np.array([r[_CARRIED] or 0.0 for r in picked], dtype=np.float64),
            carried_at=np.array(
                [np.nan if r[_CARRIED_AT] is None else r[_CARRIED_AT] for r in picked]
            ),
            engine=engine,
            at=at,
        )
        for i, value in zip(positions, used.tolist(), strict=True):
            carried[i] = value

    def carry(i: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if i not in carried:
            return row
        return (*row[:_CARRIED], carried[i], float(at), *row[_CARRIED_AT + 1 :])

    out = [carry(i, row) for i, row in enumerate(rows)]
    ids = {rows[i][_ID] for i in carried}
    return out[: len(simple)], out[len(simple) :], ids


def _raw_rows(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the driver returns them: 200,000 rows through
    Django's per-value converters cost a calendar edit half a second. Only for columns whose
    raw value is already what the caller wants (numbers, strings; JSON arrives as text)."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: Django knows without asking the database
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _epoch(field: str) -> Func:
    """Epoch seconds of a datetime column, computed by the database (no parsing here)."""
    if connection.vendor == "postgresql":
        template = "EXTRACT(EPOCH FROM %(expressions)s)"
    else:  # SQLite; clock start times are whole seconds
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
    return Func(F(field), template=template, output_field=FloatField())


def _json_length(field: str) -> Func:
    """Length of a JSON array column, in the database's own dialect."""
    function = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    return Func(F(field), function=function, output_field=IntegerField())


def _budgets(
    starts: np.ndarray, target_ids: Sequence[int], targets: dict[int, SLATarget], engine: Any
) -> np.ndarray:
    """Business seconds each target allows from each start; working days in bulk.

    "Within n working days" ends at the close of the n-th open day after the start's local
    date, so the deadline depends on that date only: one ``add_days`` per date, then one
    ``between_many`` for all.
    """
    budgets = np.empty(len(starts))
    closes: dict[tuple[dt.date, int], float] = {}
    fixed: dict[int, float] = {}  # target id -> business seconds, whatever the start
    days_idx: list[int] = []
    days_close: list[float] = []
    for i, target_id in enumerate(target_ids):
        target = targets[target_id]
        if target.unit != TargetUnit.WORKING_DAYS:
            if target_id not in fixed:
                fixed[target_id] = target.budget(
                    start=engine_rules.from_epoch(0), engine=engine
                ).total_seconds()
            budgets[i] = fixed[target_id]
            continue
        start = engine_rules.from_epoch(starts[i])
        key = (start.astimezone(engine.timezone).date(), target.amount)
        if key not in closes:
            closes[key] = engine.add_days(start, target.amount).timestamp()
        days_idx.append(i)
        days_close.append(closes[key])
    if days_idx:
        idx = np.array(days_idx)
        budgets[idx] = engine.between_many(starts[idx], np.array(days_close))
    return budgets


def _carry_columns(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Carried seconds (0 where none) and carried-at epochs (NaN where none) of the rows."""
    carried_at = np.array(
        [np.nan if r[_CARRIED_AT] is None else r[_CARRIED_AT] for r in rows], dtype=np.float64
    )
    carried = np.array([r[_CARRIED] or 0.0 for r in rows], dtype=np.float64)
    return np.where(np.isnan(carried_at), 0.0, carried), carried_at


def _bulk_simple(
    rows: list[Any],
    calendar_id: int,
    engine: Any,
    targets: dict[int, SLATarget],
    next_threshold: Any,
    now: dt.datetime,
) -> _ClockFigures:
    """Clocks running without a pause since receipt (or their last rule change):
    due = add(start, budget - carried), vectorised."""
    if not rows:
        return _ClockFigures.empty(calendar_id)
    starts = np.array([r[_STARTED] for r in rows], dtype=np.float64)
    budgets = _budgets(starts, [r[_TARGET] for r in rows], targets, engine)
    carried, carried_at = _carry_columns(rows)
    counting_from = np.fmax(starts, carried_at)  # NaN carried_at: from the start

    def reached(amount: np.ndarray) -> np.ndarray:
        """When ``amount`` business seconds are used; at the change if the carry has it."""
        left = amount - carried
        result = np.where(np.isnan(carried_at), counting_from, carried_at)
        ahead = left > 0
        if ahead.any():
            result[ahead] = engine.add_many(counting_from[ahead], left[ahead])
        return result

    due = reached(budgets)
    percents = np.array([np.nan if (p := next_threshold(r)) is None else p for r in rows])
    has_alert = ~np.isnan(percents)
    alert = np.full(len(rows), np.nan)
    if has_alert.any():
        alert[has_alert] = reached(budgets * np.nan_to_num(percents) / 100)[has_alert]
    return _ClockFigures(
        ids=np.array([r[_ID] for r in rows], dtype=np.int64),
        ticket_ids=np.array([r[_TICKET] for r in rows], dtype=np.int64),
        calendar_id=calendar_id,
        budget=budgets,
        elapsed=carried,
        due=due,
        breached=np.where(due < now.timestamp(), due, np.nan),
        next_alert=alert,
        carried=carried,
        carried_at=carried_at,
    )


def _bulk_general(
    rows: list[Any],
    calendar_id: int,
    engine: Any,
    targets: dict[int, SLATarget],
    next_threshold: Any,
    now: dt.datetime,
) -> _ClockFigures:
    """Paused clocks and clocks with pauses behind them: the segment-aware bulk path."""
    if not rows:
        return _ClockFigures.empty(calendar_id)
    starts = np.array([r[_STARTED] for r in rows], dtype=np.float64)
    budgets = _budgets(starts, [r[_TARGET] for r in rows], targets, engine)
    carried, carried_at = _carry_columns(rows)
    bulk_rows = [
        BulkRow(
            segments=row[_SEGMENTS],
            budget_seconds=float(budgets[i]),
            next_threshold_percent=next_threshold(row),
            carried_seconds=float(carried[i]),
            carried_at=None if row[_CARRIED_AT] is None else int(row[_CARRIED_AT]),
        )
        for i, row in enumerate(rows)
    ]
    figures = engine_rules.clock_figures_many(rows=bulk_rows, engine=engine, now=now)
    paused = np.array([row[_STATE] == ClockState.PAUSED for row in rows], dtype=bool)
    return _ClockFigures(
        ids=np.array([r[_ID] for r in rows], dtype=np.int64),
        ticket_ids=np.array([r[_TICKET] for r in rows], dtype=np.int64),
        calendar_id=calendar_id,
        budget=budgets,
        elapsed=np.asarray(figures.elapsed_seconds, dtype=np.float64),
        due=np.where(paused, np.nan, figures.due_epoch),
        breached=np.asarray(figures.breached_epoch, dtype=np.float64),
        next_alert=np.where(paused, np.nan, figures.next_alert_epoch),
        carried=carried,
        carried_at=carried_at,
    )


@dataclass(frozen=True)
class _ClockFigures:
    """Recomputed figures of many clocks, column-wise; times are epoch seconds, NaN for none.

    Kept as numpy columns up to the database: converting every time to a ``datetime`` in
    Python cost more than the arithmetic that produced it.
    """

    ids: np.ndarray
    ticket_ids: np.ndarray
    calendar_id: np.ndarray | int
    budget: np.ndarray
    elapsed: np.ndarray
    due: np.ndarray
    breached: np.ndarray
    next_alert: np.ndarray
    carried: np.ndarray
    carried_at: np.ndarray

    _COLUMNS = ("budget", "elapsed", "due", "breached", "next_alert", "carried", "carried_at")

    @classmethod
    def empty(cls, calendar_id: int) -> _ClockFigures:
        nothing = np.empty(0)
        ids = np.empty(0, dtype=np.int64)
        return cls(ids, ids, calendar_id, *([nothing] * len(cls._COLUMNS)))

    @classmethod
    def concatenate(cls, parts: Sequence[_ClockFigures]) -> _ClockFigures:
        if not parts:
            return cls.empty(0)
        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            ticket_ids=np.concatenate([p.ticket_ids for p in parts]),
            calendar_id=np.concatenate(
                [np.full(len(p.ids), p.calendar_id, dtype=np.int64) for p in parts]
            ),
            **{c: np.concatenate([getattr(p, c) for p in parts]) for c in cls._COLUMNS},
        )

    def take(self, index: Any) -> _ClockFigures:
        """The clocks at ``index`` (a slice or an array of positions)."""
        return _ClockFigures(
            ids=self.ids[index],
            ticket_ids=self.ticket_ids[index],
            calendar_id=self.calendar_ids()[index],
            **{c: getattr(self, c)[index] for c in self._COLUMNS},
        )

    def sorted_by_id(self) -> _ClockFigures:
        return self.take(np.argsort(self.ids, kind="stable"))

    def calendar_ids(self) -> np.ndarray:
        if isinstance(self.calendar_id, np.ndarray):
            return self.calendar_id
        return np.full(len(self.ids), self.calendar_id, dtype=np.int64)


def _nullable(epochs: np.ndarray) -> list[float | None]:
    """Epoch seconds as Python floats, None for NaN (the database's NULL)."""
    return [None if value != value else value for value in epochs.tolist()]


def _write_clock_figures(
    figures: _ClockFigures,
    now: dt.datetime,
    *,
    rebased: set[int] | None = None,
    why: dict[str, Any] | None = None,
) -> set[int]:
    """Store recomputed figures; returns the tickets whose clocks changed. The clocks in
    ``rebased`` carried their used time over a change just now: they also get ``why``."""
    if not len(figures.ids):
        return set()
    rebased = rebased or set()
    flags = [pk in rebased for pk in figures.ids.tolist()]
    columns = (
        figures.ids.tolist(),
        figures.calendar_ids().tolist(),
        figures.budget.tolist(),
        figures.elapsed.tolist(),
        _nullable(figures.due),
        _nullable(figures.breached),
        _nullable(figures.next_alert),
        figures.carried.tolist(),
        _nullable(figures.carried_at),
        flags,
    )
    why_json = json.dumps(why or {})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Times travel as epoch numbers and become timestamps in the UPDATE: adapting
            # 200,000 datetimes in Python was a third of a calendar edit's time.
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sla_clock_figures ("
                " id bigint, calendar_id bigint, budget double precision,"
                " elapsed double precision, due double precision, breached double precision,"
                " next_alert double precision, carried double precision,"
                " carried_at double precision, rebased boolean) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE sla_clock_figures")
            raw = cursor.cursor
            with raw.copy(
                "COPY sla_clock_figures (id, calendar_id, budget, elapsed, due, breached,"
                " next_alert, carried, carried_at, rebased) FROM STDIN"
            ) as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
            cursor.execute(
                "UPDATE sla_clock c SET calendar_id = f.calendar_id, budget_seconds = f.budget,"
                " elapsed_seconds = f.elapsed, due_at = f.due_at, breached_at = f.breached_at,"
                " next_alert_at = f.next_alert_at, computed_at = %s,"
                " carried_seconds = f.carried, carried_at = f.carried_at,"
                " carried_why = CASE WHEN f.rebased THEN %s::jsonb ELSE c.carried_why END"
                " FROM (SELECT id, calendar_id, budget, elapsed, to_timestamp(due) AS due_at,"
                "  to_timestamp(breached) AS breached_at,"
                "  to_timestamp(next_alert) AS next_alert_at, carried,"
                "  to_timestamp(carried_at) AS carried_at, rebased"
                "  FROM sla_clock_figures) f"
                " WHERE c.id = f.id"
                # Rewriting a row (and its index entries) that did not change is the cost
                # that matters; an edit usually moves only some due times.
                " AND (c.calendar_id, c.budget_seconds, c.elapsed_seconds, c.due_at,"
                " c.breached_at, c.next_alert_at, c.carried_seconds, c.carried_at)"
                " IS DISTINCT FROM (f.calendar_id, f.budget, f.elapsed, f.due_at,"
                " f.breached_at, f.next_alert_at, f.carried, f.carried_at)"
                " RETURNING c.ticket_id",
                [now, why_json],
            )
            return {ticket_id for (ticket_id,) in cursor.fetchall()}

    def moment(value: float | None) -> dt.datetime | None:
        return None if value is None else engine_rules.from_epoch(value)

    names = ["calendar_id", "budget_seconds", "elapsed_seconds", "due_at", "breached_at",
             "next_alert_at", "computed_at", "carried_seconds", "carried_at"]  # fmt: skip
    plain: list[Clock] = []
    carried: list[Clock] = []
    for pk, calendar_id, budget, elapsed, due, breached, alert, kept, kept_at, flag in zip(
        *columns, strict=True
    ):
        obj = Clock(
            id=pk,
            calendar_id=calendar_id,
            budget_seconds=budget,
            elapsed_seconds=elapsed,
            due_at=moment(due),
            breached_at=moment(breached),
            next_alert_at=moment(alert),
            computed_at=now,
            carried_seconds=kept,
            carried_at=moment(kept_at),
            carried_why=why or {},
        )
        (carried if flag else plain).append(obj)
    Clock.objects.bulk_update(plain, names, batch_size=500)
    Clock.objects.bulk_update(carried, [*names, "carried_why"], batch_size=500)
    # bulk_update does not say which rows differed: every ticket counts as changed.
    return set(figures.ticket_ids.tolist())


def _refresh_next_due(ticket_ids: Iterable[int], tenant_id: int) -> None:
    """Store each ticket's nearest running due time and earliest pending threshold in its
    :class:`TicketSchedule` row, set-based; the ticket rows themselves are not touched."""
    ids = sorted(ticket_ids)
    if not ids:
        return
    if connection.vendor == "postgresql":
        # One join and one hash aggregate rather than a lookup per ticket: the nearest running
        # due time (with its calendar) and the earliest pending threshold of each ticket.
        # Sorted by id, the schedule rows are rewritten in table order.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # Tables by their models' names; the tenant predicate is stated on both sides
            # (schedule and clocks), so the statement stays on one shard under Citus.
            schedule_table = connection.ops.quote_name(TicketSchedule._meta.db_table)
            clock_table = connection.ops.quote_name(Clock._meta.db_table)
            cursor.execute(
                f"UPDATE {schedule_table} t SET due_at = n.due_at,"  # noqa: S608 - names from _meta
                " calendar_id = n.calendar_id, alert_at = n.alert_at"
                " FROM (SELECT u.id,"
                "  MIN(c.due_at) FILTER (WHERE c.state = 'running') AS due_at,"
                "  (ARRAY_AGG(c.calendar_id ORDER BY c.due_at)"
                "   FILTER (WHERE c.state = 'running' AND c.due_at IS NOT NULL))[1]"
                "   AS calendar_id,"
                "  MIN(c.next_alert_at) AS alert_at"
                "  FROM unnest(%s::bigint[]) AS u(id)"
                f"  LEFT JOIN {clock_table} c ON c.tenant_id = %s AND c.ticket_id = u.id"
                "  GROUP BY u.id) n"
                " WHERE t.tenant_id = %s AND t.ticket_id = n.id"
                " AND (t.due_at IS DISTINCT FROM n.due_at"
                "  OR t.calendar_id IS DISTINCT FROM n.calendar_id"
                "  OR t.alert_at IS DISTINCT FROM n.alert_at)",
                [ids, tenant_id, tenant_id],
            )
        return
    nearest = Clock.objects.filter(
        ticket_id=OuterRef("ticket_id"), state=ClockState.RUNNING, due_at__isnull=False
    ).order_by("due_at")
    alert = (
        Clock.objects.filter(ticket_id=OuterRef("ticket_id"), next_alert_at__isnull=False)
        .order_by("next_alert_at")
        .values("next_alert_at")[:1]
    )
    for start in range(0, len(ids), 500):
        TicketSchedule.objects.filter(pk__in=ids[start : start + 500]).update(
            due_at=Subquery(nearest.values("due_at")[:1]),
            calendar=Subquery(nearest.values("calendar_id")[:1]),
            alert_at=Subquery(alert),
        )


def clocks_policy_moved(*, tickets: Sequence[Ticket], at: dt.datetime) -> int:
    """Recompute the clocks of tickets that were just put under another SLA policy (a plan
    or contract change), forward only, in bulk; returns how many clocks were written.

    A live clock whose metric the new policy also promises at the ticket's priority follows
    the new target: the business time it used until ``at`` is carried, counted on the
    calendar it was on, and the rest is counted under the new target, the rule
    :func:`sla_refresh` follows for one ticket (so both give the same figures). A stopped
    clock keeps its outcome. A ticket that gains or loses a metric is derived again on its
    own. Precondition: each ticket's ``sla_policy`` is stored, the caller holds the
    tickets' row locks inside a transaction, within the tenant's scope.
    """
    if not tickets:
        return 0
    policies = {
        p.pk: p
        for p in SLAPolicy.objects.filter(
            pk__in={t.sla_policy_id for t in tickets if t.sla_policy_id is not None}
        ).prefetch_related("targets")
    }
    live: dict[int, dict[str, int]] = defaultdict(dict)
    present: dict[int, set[str]] = defaultdict(set)
    for clock_id, ticket_id, metric, state in Clock.objects.filter(
        ticket_id__in=[t.pk for t in tickets]
    ).values_list("id", "ticket_id", "metric", "state"):
        present[ticket_id].add(metric)
        if state != ClockState.STOPPED:
            live[ticket_id][metric] = clock_id
    retarget: list[Clock] = []
    by_policy: dict[int, list[int]] = defaultdict(list)
    one_by_one: list[Ticket] = []
    for ticket in tickets:
        policy = policies.get(ticket.sla_policy_id) if ticket.sla_policy_id else None
        moves: list[Clock] = []
        for metric in Metric.values:
            target = (
                policy.target_for(metric=metric, priority_id=ticket.priority_id)
                if policy is not None
                else None
            )
            clock_id = live[ticket.pk].get(metric)
            if clock_id is not None and target is not None:
                moves.append(Clock(id=clock_id, target_id=target.pk))
            elif (clock_id is not None) or (
                target is not None and metric not in present[ticket.pk]
            ):
                moves = []  # a metric gained or lost: the whole ticket is derived again
                one_by_one.append(ticket)
                break
        else:
            if moves and policy is not None:
                retarget.extend(moves)
                by_policy[policy.pk].append(ticket.pk)
    # The clock keeps its calendar until the recompute: the carry counts on the one it was on.
    Clock.objects.bulk_update(retarget, ["target"], batch_size=500)
    written = 0
    for policy_id, ticket_ids in by_policy.items():
        written += clocks_recompute_bulk(
            clocks=Clock.objects.filter(ticket_id__in=ticket_ids),
            now=at,
            rebase=Rebase(at=at, why={"kind": "policy", "name": policies[policy_id].name}),
        )
    for ticket in one_by_one:
        written += len(sla_refresh(ticket=ticket, now=at))
    return written
