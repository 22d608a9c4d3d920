"""The queue's tickets: the filtered queryset, keyset pages in each order (cursors), what a
row needs beside the ticket (assignee, organisation, priority, urgency), and the tenant's
lists the page reads in one query.

The default order is ``(next_due_at NULLS LAST, id)``. A page is one index range scan on
``schedule_queue (tenant, due_at, ticket) WHERE due_at IS NOT NULL`` from the cursor, plus at
most one more scan into the tickets without a due time: at most two queries however deep the
page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, IntegerField, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopeError, get_scope

from sla.calendar import BusinessCalendar
from sla.explanations import business_left
from sla.models import Calendar, Priority
from supportdesk.forms import is_plain_number
from supportdesk.models import User

from ..choices import SupportLine
from ..models import ACTIVE_STATUSES, Ticket, TicketQuerySet
from .columns import columns_from_value
from .filters import QueueFilters, QueueFilterSet

SOON_SECONDS = 60 * 60
"""Less business time than this left: shown as urgent."""

MAX_PAGE_SIZE = 200


def _scope_tenant() -> Any:
    """The tenant in scope; none: no queue (fail closed)."""
    tenant = get_scope().get("tenant")
    if tenant is None:
        raise ScopeError("the queue needs a tenant in scope")
    return tenant


def queue_queryset(
    *, filters: QueueFilters, user: Any, now: dt.datetime | None = None
) -> TicketQuerySet:
    """The tickets the filters select, unordered. Caller holds the tenant's scope; the result
    is for :func:`queue_page`, which walks the schedule's indexes."""
    # The tenant is said once, of the schedule rows the queue walks (every ticket has one, of
    # its own tenant). Saying it of the tickets as well, as the scoped manager would, makes
    # PostgreSQL multiply the two selectivities, expect a handful of rows and sort the whole
    # tenant instead of walking the index in order. No tenant in scope: no queue (fail closed).
    tenant = _scope_tenant()
    qs = TicketQuerySet(Ticket).filter(schedule__tenant=tenant)
    return QueueFilterSet(queryset=qs, user=user, now=now).filter_values(qs, filters)


@dataclass(slots=True, eq=False)
class QueueItem:
    """What the queue page and API show of a ticket, read as plain values: building five
    model instances per row (ticket, requester, organisation, priority, schedule) was a
    third of a page's time. Related rows are simple namespaces with the same attribute names
    (``requester.name``, ``priority.key``); ``assignee`` is attached by :func:`queue_attach`."""

    id: int
    tenant_id: int
    reference: str
    subject: str
    status: str
    category: str
    channel: str
    support_line: int
    version: int
    received_at: dt.datetime
    updated_at: dt.datetime
    number: int | None
    assignee_id: int | None
    next_due_at: dt.datetime | None
    next_due_calendar_id: int | None
    requester: Any
    organisation_id: int | None = None
    priority_id: int | None = None
    major_incident_at: dt.datetime | None = None
    organisation: Any = None  # attached by queue_attach
    priority: Any = None  # attached by queue_attach
    assignee: Any = None  # attached by queue_attach

    @property
    def pk(self) -> int:
        return self.id


ITEM_COLUMNS = (
    "id", "tenant_id", "reference", "subject", "status", "category", "channel", "support_line",
    "version", "received_at", "updated_at", "number", "assignee_id", "schedule__due_at",
    "schedule__calendar_id", "requester_id", "requester__name", "requester__email",
    "organisation_id", "priority_id", "major_incident_at",
)  # fmt: skip
"""A queue row's columns. Organisation and priority come from the tenant's small lists
(:func:`queue_choices`, attached by :func:`queue_attach`): each join more cost PostgreSQL
more planning time than the page's execution."""


def _items(qs: Any) -> list[QueueItem]:
    items = []
    for row in qs.values_list(*ITEM_COLUMNS):
        (pk, tenant_id, reference, subject, status, category, channel, line, version,
         received, updated, number, assignee_id, due, calendar_id, requester_id,
         requester_name, email, organisation_id, priority_id, major_at) = row  # fmt: skip
        item = QueueItem(
            pk, tenant_id, reference, subject, status, category, channel, line, version,
            received, updated, number, assignee_id, due, calendar_id,
            SimpleNamespace(pk=requester_id, id=requester_id, name=requester_name, email=email),
        )  # fmt: skip
        item.organisation_id = organisation_id
        item.priority_id = priority_id
        item.major_incident_at = major_at
        items.append(item)
    return items


@dataclass
class QueuePage:
    rows: list[QueueItem]
    next_cursor: str | None
    now: dt.datetime = field(default_factory=timezone.now)


SORTS: dict[str, Any] = {
    "due": _("Nearest due first"),
    "priority": _("Highest priority first"),
    "-updated": _("Updated, newest first"),
    "updated": _("Updated, oldest first"),
    "-received": _("Received, newest first"),
    "received": _("Received, oldest first"),
    "-reference": _("Reference, newest first"),
    "reference": _("Reference, oldest first"),
}
"""The queue's orders, each walked as a keyset on an index: ``due`` on the schedule's
``schedule_queue``/``schedule_undated``, ``priority`` on ``ticket_priority`` (one range per
priority, in rank order), ``updated``/``received`` on ``ticket_updated``/``ticket_received``
and ``reference`` on ``ticket_unique_number``, forwards or backwards. Any other order would
sort the tenant's tickets on every page, so there is none."""

DEFAULT_SORT = "due"

_FIELD_SORTS = {"updated": "updated_at", "received": "received_at"}


def sort_from_param(value: Any) -> str:
    """A known sort, or the default (the queue's parameters are lenient)."""
    return value if isinstance(value, str) and value in SORTS else DEFAULT_SORT


def _encode(ticket: QueueItem, sort: str = DEFAULT_SORT) -> str:
    if sort == DEFAULT_SORT:
        due = ticket.next_due_at.isoformat() if ticket.next_due_at else "-"
        raw = f"{due}|{ticket.pk}"
    else:
        key = sort.lstrip("-")
        if key == "priority":
            value = str(ticket.priority_id) if ticket.priority_id else "-"
        elif key == "reference":
            value = str(ticket.number or 0)
        else:
            value = getattr(ticket, _FIELD_SORTS[key]).isoformat()
        raw = f"{sort}|{value}|{ticket.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_raw(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def decode_cursor(cursor: str) -> tuple[dt.datetime | None, int] | None:
    """(due, id) of a cursor of the default order, or None when it is malformed."""
    raw = _decode_raw(cursor)
    if raw is None:
        return None
    try:
        due_text, _sep, id_text = raw.partition("|")
        due = None if due_text == "-" else parse_datetime(due_text)
        if due_text != "-" and (due is None or due.tzinfo is None):
            return None
        return due, int(id_text)
    except ValueError:
        return None


def decode_sort_cursor(cursor: str, sort: str) -> tuple[str, int] | None:
    """(value as text, id) of a cursor of ``sort``; None when malformed or of another order
    (a cursor kept from before the sort changed starts the list again)."""
    raw = _decode_raw(cursor)
    if raw is None:
        return None
    parts = raw.split("|")
    if len(parts) != 3 or parts[0] != sort or not is_plain_number(parts[2]):
        return None
    value, id_text = parts[1], parts[2]
    key = sort.lstrip("-")
    if key in _FIELD_SORTS:
        moment = parse_datetime(value) if len(value) < 40 else None
        if moment is None or moment.tzinfo is None:
            return None
    elif key == "reference" and not (is_plain_number(value) and len(value) < 12):
        return None
    elif key == "priority" and value != "-" and not (is_plain_number(value) and len(value) < 12):
        return None
    return value, int(id_text)


def queue_page(
    *,
    qs: TicketQuerySet,
    cursor: str | None,
    size: int,
    sort: str = DEFAULT_SORT,
    priority_order: Sequence[int] | None = None,
) -> QueuePage:
    """One page after ``cursor`` in ``sort``'s order (see :data:`SORTS`).

    The default order is (next_due_at NULLS LAST, id), two queries at most: both parts walk
    an index of the tickets' schedule rows (``schedule_queue`` for the dated,
    ``schedule_undated`` for the rest) and join each ticket by its key. The other orders are
    one query, except ``priority``: one range per priority from the cursor's on, until the
    page is full (at most one query per priority of the tenant, plus the tickets without
    one). ``priority_order`` is the tenant's priority ids by rank, as the caller has them
    (:func:`queue_choices`); without it they are read. Caller holds the tenant's scope.
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    sort = sort_from_param(sort)
    if sort != DEFAULT_SORT:
        return _sorted_page(
            qs=qs, cursor=cursor, size=size, sort=sort, priority_order=priority_order
        )
    position = decode_cursor(cursor) if cursor else None
    rows: list[QueueItem] = []
    in_null_part = position is not None and position[0] is None
    if not in_null_part:
        # Only tickets being worked on have a due time (sla.services keeps it so).
        due_part = qs.filter(schedule__due_at__isnull=False, status__in=ACTIVE_STATUSES)
        if position is not None:
            due, last_id = position
            # A row comparison, so the index seeks straight to (due, id): many tickets share
            # a due time (everything that arrived overnight is due at the same minute).
            after = RawSQL(
                '("tickets_ticketschedule"."due_at", "tickets_ticketschedule"."ticket_id")'
                " > (%s, %s)",
                (connection.ops.adapt_datetimefield_value(due), last_id),
                output_field=BooleanField(),
            )
            due_part = due_part.filter(after)
        rows = _items(due_part.order_by("schedule__due_at", "id")[: size + 1])
    if len(rows) <= size:
        null_part = qs.filter(schedule__due_at__isnull=True)
        if in_null_part and position is not None:
            null_part = null_part.filter(id__gt=position[1])
        rows += _items(null_part.order_by("id")[: size + 1 - len(rows)])
    return _page(rows, size, sort)


def _page(rows: list[QueueItem], size: int, sort: str) -> QueuePage:
    has_more = len(rows) > size
    rows = rows[:size]
    return QueuePage(rows=rows, next_cursor=_encode(rows[-1], sort) if has_more and rows else None)


def _sorted_page(
    *,
    qs: TicketQuerySet,
    cursor: str | None,
    size: int,
    sort: str,
    priority_order: Sequence[int] | None,
) -> QueuePage:
    # These orders walk the tickets' own tenant-leading indexes, so the tenant is said of
    # the tickets too (the default order says it of the schedule only, see queue_queryset).
    qs = qs.filter(tenant=_scope_tenant())
    position = decode_sort_cursor(cursor, sort) if cursor else None
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "priority":
        return _priority_page(qs=qs, position=position, size=size, order=priority_order)
    if key == "reference":
        if position is not None:
            number = int(position[0])
            qs = qs.filter(number__lt=number) if descending else qs.filter(number__gt=number)
        ordered = qs.order_by("-number" if descending else "number")
        return _page(_items(ordered[: size + 1]), size, sort)
    column = _FIELD_SORTS[key]
    if position is not None:
        moment = parse_datetime(position[0])
        # A row comparison, so the index seeks straight to (value, id): imported tickets
        # share a received time to the second.
        qs = qs.filter(
            RawSQL(  # noqa: S611 - the column is one of _FIELD_SORTS', values are parameters
                f'("tickets_ticket"."{column}", "tickets_ticket"."id")'
                f" {'<' if descending else '>'} (%s, %s)",
                (connection.ops.adapt_datetimefield_value(moment), position[1]),
                output_field=BooleanField(),
            )
        )
    ordered = qs.order_by(f"-{column}", "-id") if descending else qs.order_by(column, "id")
    return _page(_items(ordered[: size + 1]), size, sort)


def _priority_page(
    *,
    qs: TicketQuerySet,
    position: tuple[str, int] | None,
    size: int,
    order: Sequence[int] | None,
) -> QueuePage:
    if order is None:
        order = list(
            Priority.objects.filter(tenant=_scope_tenant())
            .order_by("rank", "id")
            .values_list("id", flat=True)
        )
    segments: list[int | None] = [*order, None]  # no priority: last
    start, last_id = 0, None
    if position is not None:
        current = None if position[0] == "-" else int(position[0])
        if current not in segments:
            position = None  # a priority deleted meanwhile: start again
        else:
            start, last_id = segments.index(current), position[1]
    rows: list[QueueItem] = []
    for index in range(start, len(segments)):
        priority = segments[index]
        part = (
            qs.filter(priority__isnull=True)
            if priority is None
            else qs.filter(priority_id=priority)
        )
        if index == start and last_id is not None:
            part = part.filter(id__gt=last_id)
        rows += _items(part.order_by("id")[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    return _page(rows, size, "priority")


def queue_attach(
    rows: Sequence[Ticket | QueueItem], *, choices: QueueChoices | None = None
) -> dict[int, Any]:
    """Give the page's rows their assignee, organisation and priority, and return the
    due-time calendars' engines.

    ``choices`` is the tenant's lists as the caller has them (:func:`queue_choices`); queue
    rows without them read them in one query. Whatever is still missing (an assignee who is
    no longer staff) is loaded with one query each. Caller holds the tenant's scope.
    """
    if choices is None and any(isinstance(t, QueueItem) for t in rows):
        choices = queue_choices(user=None)
    users = dict(choices.agent_users if choices else {})
    engines = dict(choices.engines if choices else {})
    missing_users = {t.assignee_id for t in rows if t.assignee_id and t.assignee_id not in users}
    if missing_users:
        users.update((u.pk, u) for u in User.objects.filter(pk__in=missing_users))
    missing_calendars = {
        t.next_due_calendar_id
        for t in rows
        if t.next_due_calendar_id and t.next_due_calendar_id not in engines
    }
    if missing_calendars:
        for calendar in Calendar.objects.filter(pk__in=missing_calendars).only("id", "config"):
            engines[calendar.pk] = calendar.engine
    assignee = Ticket._meta.get_field("assignee")
    priorities = choices.priority_rows if choices else {}
    organisations = choices.organisation_rows if choices else {}
    for ticket in rows:
        if isinstance(ticket, QueueItem):
            ticket.assignee = users.get(ticket.assignee_id) if ticket.assignee_id else None
            ticket.organisation = organisations.get(ticket.organisation_id or 0)
            ticket.priority = priorities.get(ticket.priority_id or 0)
        elif ticket.assignee_id is not None:
            assignee.set_cached_value(ticket, users.get(ticket.assignee_id))  # type: ignore[attr-defined]
    return engines


def urgency(
    ticket: Ticket | QueueItem, now: dt.datetime, engines: dict[int, Any]
) -> tuple[str, float | None]:
    """(css class, signed business seconds left) of a queue row; ``engines`` maps calendar
    ids to compiled calendars (see :func:`queue_attach`)."""
    calendar_id = ticket.next_due_calendar_id
    engine = engines.get(calendar_id) if calendar_id is not None else None
    left = business_left(ticket.next_due_at, engine, now)
    if left is None:
        return "urgency-none", None
    if ticket.next_due_at is not None and ticket.next_due_at <= now:
        return "urgency-breached", left
    if left <= SOON_SECONDS:
        return "urgency-soon", left
    return "urgency-ok", left


@dataclass(frozen=True)
class QueueChoices:
    """The filter form's and bulk-assign form's options, read in one query."""

    priorities: list[tuple[int, str, str]]  # (id, "P1 Critical", definition)
    organisations: list[tuple[int, str]]
    agents: list[tuple[int, str]]
    my_line: int
    my_columns: list[str] | None = None  # the agent's chosen columns (None: the default)
    agent_users: dict[int, Any] = field(default_factory=dict)  # id -> unsaved User (names)
    engines: dict[int, Any] = field(default_factory=dict)  # calendar id -> engine
    priority_rows: dict[int, Any] = field(default_factory=dict)  # id -> key, name, rank, ...
    organisation_rows: dict[int, Any] = field(default_factory=dict)  # id -> name


QUEUE_CHOICES_SQL = """
SELECT 1, p.id, p.key, p.definition, CAST(NULL AS integer), p.rank, p.name
  FROM sla_priority p WHERE p.tenant_id = %(tenant)s
UNION ALL
SELECT 2, o.id, o.name, '', CAST(NULL AS integer), 0, ''
  FROM contracts_organisation o WHERE o.tenant_id = %(tenant)s
UNION ALL
SELECT 3, u.id, TRIM(u.first_name || ' ' || u.last_name), u.username,
       (SELECT a.support_line FROM tickets_agentprofile a
         WHERE a.tenant_id = %(tenant)s AND a.user_id = u.id LIMIT 1), 0, ''
  FROM supportdesk_user u
 WHERE u.is_active AND u.id IN (SELECT m.user_id FROM supportdesk_membership m
                                 WHERE m.tenant_id = %(tenant)s AND m.role IN ('admin', 'agent'))
UNION ALL
SELECT 4, c.id, c.name, CAST(c.config AS text), CAST(NULL AS integer), 0, ''
  FROM sla_calendar c WHERE c.tenant_id = %(tenant)s
UNION ALL
SELECT 5, a.id, CAST(a.queue_columns AS text), '', CAST(NULL AS integer), 0, ''
  FROM tickets_agentprofile a WHERE a.tenant_id = %(tenant)s AND a.user_id = %(me)s
"""
"""Written out rather than built with the ORM: composing and compiling the four-part UNION
took the queue page longer than running it. Every part is limited to the tenant."""


def queue_choices(*, user: Any) -> QueueChoices:
    """Priorities, organisations, agents with their lines, and the calendars: one UNION
    query, since every round trip counts on the queue page. Caller holds the scope."""
    tenant = _scope_tenant()
    with connection.cursor() as cursor:
        me = user.pk if user is not None else None
        cursor.execute(QUEUE_CHOICES_SQL, {"tenant": tenant.pk, "me": me})
        rows = sorted(cursor.fetchall(), key=lambda r: (r[0], r[5], r[2] or ""))
    my_columns = next((r[2] for r in rows if r[0] == 5), None)
    my_line = next((r[4] for r in rows if r[0] == 3 and r[1] == me and r[4]), None)
    return QueueChoices(
        priorities=[(r[1], f"{r[2]} {r[6]}", r[3]) for r in rows if r[0] == 1],
        organisations=[(r[1], r[2]) for r in rows if r[0] == 2],
        priority_rows={
            r[1]: SimpleNamespace(pk=r[1], id=r[1], key=r[2], name=r[6], rank=r[5], definition=r[3])
            for r in rows
            if r[0] == 1
        },
        organisation_rows={
            r[1]: SimpleNamespace(pk=r[1], id=r[1], name=r[2]) for r in rows if r[0] == 2
        },
        agents=[(r[1], r[2] or r[3]) for r in rows if r[0] == 3],
        my_line=my_line or SupportLine.FIRST,
        my_columns=columns_from_value(
            json.loads(my_columns) if isinstance(my_columns, str) else my_columns
        ),
        agent_users={
            r[1]: User(pk=r[1], username=r[3], first_name=r[2] or "") for r in rows if r[0] == 3
        },
        engines={
            r[1]: BusinessCalendar.from_dict(r[3] if isinstance(r[3], dict) else json.loads(r[3]))
            for r in rows
            if r[0] == 4
        },
    )


def queue_view_counts(
    *, views: Sequence[Any], user: Any, now: dt.datetime | None = None
) -> dict[int, int]:
    """How many tickets each saved view selects, in one query (a UNION ALL of one count per
    view, each planned on its own indexes), whatever the number of views. Caller holds the
    tenant's scope."""
    if not views:
        return {}
    now = now or timezone.now()
    parts = [
        queue_queryset(filters=QueueFilters.from_params(view.filters), user=user, now=now)
        .order_by()
        .annotate(view_id=Value(view.pk, output_field=IntegerField()))
        .values("view_id")
        .annotate(n=Count("id"))
        .values_list("view_id", "n")
        for view in views
    ]
    first, *rest = parts
    rows = first.union(*rest, all=True) if rest else first
    return {view_id: n for view_id, n in rows}
