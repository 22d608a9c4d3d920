"""Monthly SLA reports: every ticket received in a month, whether its targets were met.

Synerity's customers on Silver and Guld get one each month ("all tickets handled, whether
the SLA was met, split between questions and incidents"); managers read the same figures for
the whole tenant. A report is a handful of aggregate queries, whatever the ticket count.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum, TextChoices
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import Contact, Contract, Organisation
from contracts.services import contract_for_organisation, organisation_has_feature
from sla.calendar import BusinessCalendar
from sla.choices import Metric
from sla.metrics import METRICS
from sla.models import ClockState, SLATarget, target_words
from supportdesk.models import Membership, Role, Tenant, User
from supportdesk.services import audit_record
from tickets.choices import Category, Status
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.mail.services import MailAttachment, mail_enqueue
from tickets.models import Ticket, TimeEntry

from .models import ReportSnapshot
from .pdf import chart_png, chart_title, report_figures, report_pdf
from .selectors import (
    Outcome,
    Outcomes,
    _rate,
    clock_outcomes,
    feedback_counts,
    feedback_relations,
    instant_bounds,
    month_following,
    outcomes_empty,
    received_clocks,
)

MONTHLY_REPORTS = "monthly_reports"
"""The plan feature that entitles an organisation to a report by e-mail."""

logger = logging.getLogger(__name__)


class ClockOutcome(TextChoices):
    """How one ticket fared against one target, as the per-ticket list says it."""

    MET = "met", gettext_lazy("met")
    MISSED = "missed", gettext_lazy("missed")
    NOT_NEEDED = "not_needed", gettext_lazy("not needed")
    RUNNING = "running", gettext_lazy("still running")
    NO_TARGET = "no_target", gettext_lazy("no target")


@dataclass
class TargetLine:
    """One ticket's outcome of one metric: the due time and when it was actually done, and
    for a missed target how late it was in business time (the clock's own calendar)."""

    outcome: ClockOutcome
    due_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    metric: str = ""  # the key in sla.metrics.METRICS
    late_minutes: int | None = None  # business minutes past due; missed targets only

    @property
    def outcome_label(self) -> str:
        return str(self.outcome.label)

    @property
    def late_label(self) -> str:
        """ "Missed by 3 h 20 min (business hours)", in the active language; empty unless
        missed with a known lateness."""
        if self.outcome != ClockOutcome.MISSED or self.late_minutes is None:
            return ""
        hours, minutes = divmod(self.late_minutes, 60)
        if hours and not minutes:
            return _("Missed by %(hours)d h (business hours)") % {"hours": hours}
        if hours:
            return _("Missed by %(hours)d h %(minutes)d min (business hours)") % {
                "hours": hours,
                "minutes": minutes,
            }
        return _("Missed by %(minutes)d min (business hours)") % {"minutes": minutes}


@dataclass
class TicketLine:
    """One ticket of the month in an organisation's report: codes and names, worded when
    read (``category``, ``status``, ``targets``) so a frozen report reads in any language."""

    reference: str
    subject: str
    organisation: str
    category_code: str
    priority: str
    status_code: str
    received_at: dt.datetime
    lines: list[TargetLine]  # one per single-shot metric, in the registry's order
    billable_minutes: int = 0

    @property
    def category(self) -> str:
        return str(dict(Category.choices).get(self.category_code, self.category_code))

    @property
    def status(self) -> str:
        return str(dict(Status.choices).get(self.status_code, self.status_code))

    @property
    def targets(self) -> list[tuple[str, TargetLine]]:
        """(the metric's name in the active language, its outcome)."""
        return [(_metric_label(t.metric), t) for t in self.lines]


def _metric_label(key: str) -> str:
    return str(METRICS[key].label) if key in METRICS else key


def _single_shot_metrics() -> list[str]:
    """The metrics the per-ticket list shows: one target per ticket (first response,
    resolution); a cycle metric's outcome is a count, shown in the summary only."""
    return [key for key, rule in METRICS.items() if rule.cycles is None]


def _target_line(metric: str, clock: dict[str, Any] | None, now: dt.datetime) -> TargetLine:
    """The outcome as :func:`reports.selectors.clock_missed` counts it, for one clock."""
    if clock is None:
        return TargetLine(outcome=ClockOutcome.NO_TARGET, metric=metric)
    due = clock["due_at"]
    done = clock["stopped_at"]
    line = TargetLine(outcome=ClockOutcome.RUNNING, due_at=due, done_at=done, metric=metric)
    if clock["met"] is True:
        line.outcome = ClockOutcome.MET
    elif clock["met"] is False:
        line.outcome = ClockOutcome.MISSED
    elif clock["state"] == ClockState.STOPPED:
        line.outcome = ClockOutcome.NOT_NEEDED
    elif clock["breached_at"] is not None or (due is not None and due < now):
        line.outcome = ClockOutcome.MISSED
    if line.outcome == ClockOutcome.MISSED:
        line.late_minutes = _late_minutes(clock, now)
    return line


def _late_minutes(clock: dict[str, Any], now: dt.datetime) -> int | None:
    """Business minutes a missed target ran past its due time, as the SLA engine counts
    them on the clock's own calendar: a stopped or paused clock used ``elapsed_seconds``
    of its ``budget_seconds`` (both business seconds, pauses excluded); a clock still
    running is late by the calendar's business time from its due time to ``now``."""
    if clock["state"] == ClockState.RUNNING:
        if clock["due_at"] is None:
            return None
        engine = BusinessCalendar.cached(clock["calendar__config"])
        late = engine.between(clock["due_at"], max(now, clock["due_at"])).total_seconds()
    else:
        late = clock["elapsed_seconds"] - clock["budget_seconds"]
    return max(0, round(late / 60))


def report_ticket_lines(
    *, tenant: Tenant, month: dt.date, organisation: Organisation | None, now: dt.datetime
) -> list[TicketLine]:
    """Every ticket received in ``month`` (of ``organisation``, else of the whole tenant),
    oldest first, with its targets' outcomes and billable time: three queries, whatever the
    ticket count. Caller holds the tenant scope."""
    start, end = month_bounds(tenant=tenant, month=month)
    tickets_q = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
    clocks_q = received_clocks(tenant=tenant, start=start, end=end)
    if organisation is not None:
        tickets_q = tickets_q.filter(organisation=organisation)
        clocks_q = clocks_q.filter(ticket__organisation=organisation)
    tickets = list(
        tickets_q.select_related("priority", "organisation").order_by("received_at", "pk")
    )
    metrics = _single_shot_metrics()
    clocks: dict[tuple[int, str], dict[str, Any]] = {}
    # The calendar is joined by its key (one row per clock, no extra query): a running
    # clock's lateness is counted on it.
    for clock in clocks_q.filter(metric__in=metrics).values(
        "ticket_id", "metric", "met", "state", "due_at", "stopped_at", "breached_at",
        "elapsed_seconds", "budget_seconds", "calendar__config",
    ):  # fmt: skip
        clocks[(clock["ticket_id"], clock["metric"])] = dict(clock)
    billable = dict(
        TimeEntry.objects.filter(tenant=tenant, billable=True, ticket__in=[t.pk for t in tickets])
        .values("ticket_id")
        .annotate(minutes=Sum("minutes"))
        .order_by()
        .values_list("ticket_id", "minutes")
    )
    return [
        TicketLine(
            reference=ticket.reference or str(ticket.pk),
            subject=ticket.subject,
            organisation=ticket.organisation.name if ticket.organisation else "",
            category_code=ticket.category,
            priority=ticket.priority.name if ticket.priority else "",
            status_code=ticket.status,
            received_at=ticket.received_at,
            lines=[_target_line(m, clocks.get((ticket.pk, m)), now) for m in metrics],
            billable_minutes=billable.get(ticket.pk, 0),
        )
        for ticket in tickets
    ]


class RecipientSource(TextChoices):
    """Why these people receive an organisation's report (the defaults in order)."""

    CHOSEN = "chosen", gettext_lazy("contacts chosen to receive the report")
    NAMED = "named", gettext_lazy("named contacts")
    PORTAL = "portal", gettext_lazy("no named contacts: contacts with portal access")
    ACCOUNT_MANAGER = "account_manager", gettext_lazy("no contacts: the account manager")
    NOBODY = (
        "nobody",
        gettext_lazy(
            "nobody: no named contacts, no contacts with portal access and no account manager "
            "with an e-mail address"
        ),
    )


@dataclass(frozen=True)
class Recipient:
    """One person an organisation's report is mailed to; ``key`` names them in the
    exactly-once key (``contact<pk>`` or ``user<pk>``)."""

    key: str
    name: str
    email: str
    language: str


@dataclass
class ReportRecipients:
    source: RecipientSource
    people: list[Recipient]

    @property
    def source_label(self) -> str:
        return str(self.source.label)


def _contact_recipients(contacts: list[Contact], organisation: Organisation) -> list[Recipient]:
    return [
        Recipient(
            key=f"contact{c.pk}", name=c.name, email=c.email,
            language=c.language or organisation.language,
        )
        for c in contacts
    ]  # fmt: skip


def report_recipients(*, organisation: Organisation, day: dt.date) -> ReportRecipients:
    """Who receives ``organisation``'s report and why: the contacts the admin chose (the
    contact's "receives the monthly report"), else the named contacts of its contract for
    ``day``, else its contacts with portal access, else its account manager; else nobody.
    Caller holds the tenant scope. At most four queries."""
    chosen = list(organisation.contacts.filter(receives_monthly_report=True).order_by("pk"))
    if chosen:
        return ReportRecipients(RecipientSource.CHOSEN, _contact_recipients(chosen, organisation))
    contract: Contract | None = contract_for_organisation(organisation=organisation, day=day)
    if contract is not None:
        named = [
            n.contact for n in contract.named_contacts.select_related("contact").order_by("pk")
        ]
        if named:
            return ReportRecipients(RecipientSource.NAMED, _contact_recipients(named, organisation))
    portal = list(organisation.contacts.filter(user__isnull=False).order_by("pk"))
    if portal:
        return ReportRecipients(RecipientSource.PORTAL, _contact_recipients(portal, organisation))
    manager: User | None = organisation.account_manager
    if manager is not None and manager.email:
        person = Recipient(
            key=f"user{manager.pk}",
            name=manager.get_full_name() or manager.username,
            email=manager.email,
            language=manager.language or organisation.language,
        )
        return ReportRecipients(RecipientSource.ACCOUNT_MANAGER, [person])
    return ReportRecipients(RecipientSource.NOBODY, [])


@dataclass
class Undelivered:
    """An organisation entitled to a report that nobody could receive, and why."""

    organisation: str
    reason: str


@dataclass
class ReportRow:
    """Counts for one slice of a month: an organisation, a category, or the total.

    ``outcomes`` holds every metric's met and missed counts, keyed as :data:`sla.metrics.
    METRICS` (pages, CSV and mail iterate over it)."""

    label: str
    received: int = 0
    questions: int = 0
    incidents: int = 0
    other: int = 0
    solved: int = 0
    rated_good: int = 0
    rated_bad: int = 0
    reviews_done: int = 0
    reviews_overdue: int = 0
    outcomes: Outcomes = field(default_factory=outcomes_empty)

    @property
    def outcome_list(self) -> list[tuple[str, Outcome]]:
        """(the metric's "... met" heading, its outcome), in the registry's order."""
        return [(str(METRICS[k].met_label), o) for k, o in self.outcomes.items()]

    @property
    def rated(self) -> int:
        return self.rated_good + self.rated_bad

    @property
    def satisfaction_rate(self) -> float | None:
        """Share of rated tickets the customer rated good, in percent (None: none rated)."""
        return _rate(self.rated_good, self.rated_bad)

    def add(self, other: ReportRow) -> None:
        for name in (
            "received", "questions", "incidents", "other", "solved", "rated_good", "rated_bad",
            "reviews_done", "reviews_overdue",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, outcome in other.outcomes.items():
            self.outcomes[key].add(outcome)


@dataclass
class Promise:
    """One target the plan's SLA policy promises: "First response, P1: 60 business minutes",
    kept as the metric's key, the unit and the amount, and worded when read."""

    metric_key: str
    priority: str  # empty: every priority without a target of its own
    unit: str
    amount: int
    always_open: bool = False

    @property
    def metric(self) -> str:
        return str(dict(Metric.choices).get(self.metric_key, self.metric_key))

    @property
    def target(self) -> str:
        return target_words(unit=self.unit, amount=self.amount, always_open=self.always_open)


def _promises(contract: Contract) -> list[Promise]:
    """The targets of the contract's plan's SLA policy, by metric and priority rank (one
    query)."""
    policy_id = contract.plan.sla_policy_id
    if policy_id is None:
        return []
    targets = (
        SLATarget.objects.filter(policy_id=policy_id)
        .select_related("priority", "calendar", "policy__calendar")
        .order_by("metric", "priority__rank", "pk")
    )
    order = list(METRICS)
    rows = sorted(
        targets,
        key=lambda t: (order.index(t.metric) if t.metric in order else len(order),
                       t.priority is not None, t.priority.rank if t.priority else 0),
    )  # fmt: skip
    return [
        Promise(
            metric_key=t.metric,
            priority=t.priority.name if t.priority else "",
            unit=t.unit,
            amount=t.amount,
            always_open=bool(t.effective_calendar().config.get("always_open")),
        )
        for t in rows
    ]


@dataclass
class SLAReport:
    tenant: Tenant
    month: dt.date
    organisation: Organisation | None
    total: ReportRow
    rows: list[ReportRow] = field(default_factory=list)  # per organisation (tenant-wide report)
    tickets: list[TicketLine] = field(default_factory=list)  # one organisation's report only
    plan: str = ""  # the plan of the contract in force at the month's end (one organisation)
    contract_period: tuple[dt.date, dt.date | None] | None = None
    undelivered: list[Undelivered] = field(default_factory=list)  # the managers' mail only
    promises: list[Promise] = field(default_factory=list)  # the plan's targets per priority
    version: int | None = None  # the snapshot's version; None: live figures (an open month)
    made_at: dt.datetime | None = None  # when the snapshot was made
    made_by: str = ""  # who made it (a recompute); empty: the first reader or the worker

    @property
    def frozen(self) -> bool:
        return self.version is not None

    @property
    def billable_minutes(self) -> int:
        return sum(t.billable_minutes for t in self.tickets)

    @property
    def period_label(self) -> str:
        return self.month.strftime("%Y-%m")


def month_start(value: str | None, *, tenant: Tenant, today: dt.date) -> dt.date:
    """The first day of the month named ``YYYY-MM``; the previous month when empty.

    Raises ValueError with a readable message for anything else.
    """
    if not value:
        first = today.replace(day=1)
        return (first - dt.timedelta(days=1)).replace(day=1)
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a date, no time
    except ValueError:
        raise ValueError(
            _("Write the month as year and month, like 2026-10 (not “%(value)s”).")
            % {"value": value[:20]}
        ) from None


def month_bounds(*, tenant: Tenant, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as an instant range [start, end) in the tenant's time zone."""
    return instant_bounds(tenant=tenant, start=month, end=month_following(month))


def sla_report_build(
    *,
    tenant: Tenant,
    month: dt.date,
    organisation: Organisation | None = None,
    now: dt.datetime | None = None,
) -> SLAReport:
    """The report for ``month`` (first day), for one organisation or the whole tenant, as it
    stands at ``now``. Caller holds the tenant scope. Runs three aggregate queries; one
    organisation's report adds its tickets, their targets and billable time (three more),
    the contract in force at the month's end (one) and its policy's targets (one).

    Satisfaction counts the ratings of the month's tickets (one per ticket, the latest answer),
    and post-incident reviews the reviews of the month's tickets (done; draft past due).
    """
    now = now or timezone.now()
    start, end = month_bounds(tenant=tenant, month=month)
    tickets = Ticket.objects.filter(received_at__gte=start, received_at__lt=end)
    if organisation is not None:
        tickets = tickets.filter(organisation=organisation)

    rows: dict[int | None, ReportRow] = defaultdict(lambda: ReportRow(label=""))
    # The rating and the post-incident review are one row per ticket each (one-to-one
    # joins): counted in the same query, as the dashboard counts them.
    by_category = (
        tickets.annotate(**feedback_relations(tenant))
        .values("organisation", "category")
        .annotate(
            n=Count("id"),
            solved=Count("id", filter=Q(status__in=[Status.SOLVED, Status.CLOSED])),
            **feedback_counts(now),
        )
    )
    for entry in by_category:
        row = rows[entry["organisation"]]
        row.received += entry["n"]
        row.solved += entry["solved"]
        row.rated_good += entry["good"]
        row.rated_bad += entry["bad"]
        row.reviews_done += entry["done"]
        row.reviews_overdue += entry["overdue"]
        if entry["category"] == Category.QUESTION:
            row.questions += entry["n"]
        elif entry["category"] in (Category.INCIDENT, Category.PROBLEM):
            row.incidents += entry["n"]
        else:
            row.other += entry["n"]

    clocks = received_clocks(tenant=tenant, start=start, end=end)
    if organisation is not None:
        clocks = clocks.filter(ticket__organisation=organisation)
    for group, outcomes in clock_outcomes(clocks, by="ticket__organisation", now=now):
        rows[group["ticket__organisation"]].outcomes = outcomes  # type: ignore[index]

    names = dict(
        Organisation.objects.filter(pk__in=[k for k in rows if k]).values_list("pk", "name")
    )
    total = ReportRow(label=organisation.name if organisation else tenant.name)
    ordered: list[ReportRow] = []
    for key, row in rows.items():
        row.label = names.get(key, "—") if key else "—"
        total.add(row)
        ordered.append(row)
    ordered.sort(key=lambda r: r.label.lower())
    report = SLAReport(
        tenant=tenant, month=month, organisation=organisation, total=total, rows=ordered
    )
    if organisation is not None:
        report.tickets = report_ticket_lines(
            tenant=tenant, month=month, organisation=organisation, now=now
        )
        last_day = month_following(month) - dt.timedelta(days=1)
        contract = contract_for_organisation(organisation=organisation, day=last_day)
        if contract is not None:
            report.plan = contract.plan.name
            report.contract_period = (contract.starts_on, contract.ends_on)
            report.promises = _promises(contract)
    return report


SNAPSHOT_FORMAT = 1
"""The shape of :class:`reports.models.ReportSnapshot` ``data``; bump it when it changes."""

_ROW_COUNTS = (
    "received", "questions", "incidents", "other", "solved", "rated_good", "rated_bad",
    "reviews_done", "reviews_overdue",
)  # fmt: skip


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_instant(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _row_to_data(row: ReportRow) -> dict[str, Any]:
    data: dict[str, Any] = {"label": row.label, **{n: getattr(row, n) for n in _ROW_COUNTS}}
    data["outcomes"] = {k: [o.met, o.missed] for k, o in row.outcomes.items()}
    return data


def _row_from_data(data: dict[str, Any]) -> ReportRow:
    row = ReportRow(label=data["label"])
    for name in _ROW_COUNTS:
        setattr(row, name, int(data.get(name, 0)))
    for key, (met, missed) in data.get("outcomes", {}).items():
        if key in row.outcomes:  # a metric since removed from the registry is not shown
            row.outcomes[key] = Outcome(met=met, missed=missed)
    return row


def report_to_data(report: SLAReport) -> dict[str, Any]:
    """``report`` as codes and numbers (JSON): what a snapshot stores. No word of any
    language is kept but the tenant's own names (organisations, priorities, the plan)."""
    period = report.contract_period
    return {
        "format": SNAPSHOT_FORMAT,
        "month": report.month.isoformat(),
        "total": _row_to_data(report.total),
        "rows": [_row_to_data(r) for r in report.rows],
        "plan": report.plan,
        "contract_period": None
        if period is None
        else [period[0].isoformat(), period[1].isoformat() if period[1] else None],
        "promises": [
            {"metric": p.metric_key, "priority": p.priority, "unit": p.unit,
             "amount": p.amount, "always_open": p.always_open}
            for p in report.promises
        ],
        "tickets": [
            {
                "reference": t.reference, "subject": t.subject, "organisation": t.organisation,
                "category": t.category_code, "priority": t.priority, "status": t.status_code,
                "received_at": _instant(t.received_at), "billable_minutes": t.billable_minutes,
                "targets": [
                    {"metric": x.metric, "outcome": str(x.outcome), "due_at": _instant(x.due_at),
                     "done_at": _instant(x.done_at), "late_minutes": x.late_minutes}
                    for x in t.lines
                ],
            }
            for t in report.tickets
        ],
    }  # fmt: skip


def report_from_data(
    data: dict[str, Any], *, tenant: Tenant, organisation: Organisation | None
) -> SLAReport:
    """The report a snapshot's ``data`` holds (:func:`report_to_data`), to be worded in the
    reader's language when rendered."""
    period = data.get("contract_period")
    return SLAReport(
        tenant=tenant,
        month=dt.date.fromisoformat(data["month"]),
        organisation=organisation,
        total=_row_from_data(data["total"]),
        rows=[_row_from_data(r) for r in data.get("rows", [])],
        plan=data.get("plan", ""),
        contract_period=None if period is None else (
            dt.date.fromisoformat(period[0]),
            dt.date.fromisoformat(period[1]) if period[1] else None,
        ),
        promises=[
            Promise(metric_key=p["metric"], priority=p["priority"], unit=p["unit"],
                    amount=p["amount"], always_open=p.get("always_open", False))
            for p in data.get("promises", [])
        ],
        tickets=[
            TicketLine(
                reference=t["reference"], subject=t["subject"], organisation=t["organisation"],
                category_code=t["category"], priority=t["priority"], status_code=t["status"],
                received_at=_parse_instant(t["received_at"]),  # type: ignore[arg-type]
                billable_minutes=t.get("billable_minutes", 0),
                lines=[
                    TargetLine(outcome=ClockOutcome(x["outcome"]), metric=x["metric"],
                               due_at=_parse_instant(x["due_at"]),
                               done_at=_parse_instant(x["done_at"]),
                               late_minutes=x.get("late_minutes"))
                    for x in t.get("targets", [])
                ],
            )
            for t in data.get("tickets", [])
        ],
    )  # fmt: skip


def month_is_closed(*, tenant: Tenant, month: dt.date, now: dt.datetime) -> bool:
    """Whether ``month`` has ended in the tenant's time zone at ``now``."""
    return month_bounds(tenant=tenant, month=month)[1] <= now


def _snapshot_report(snapshot: ReportSnapshot, organisation: Organisation | None) -> SLAReport:
    report = report_from_data(snapshot.data, tenant=snapshot.tenant, organisation=organisation)
    report.version = snapshot.version
    report.made_at = snapshot.made_at
    if snapshot.made_by is not None:
        report.made_by = snapshot.made_by.get_full_name() or snapshot.made_by.username
    return report


def _latest_snapshot(*, month: dt.date, organisation: Organisation | None) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(month=month, organisation=organisation)
        .select_related("tenant", "made_by")
        .order_by("-version")
        .first()
    )


def _live_for_snapshot(
    *, tenant: Tenant, month: dt.date, organisation: Organisation | None, now: dt.datetime
) -> SLAReport:
    """The live report, with the month's tickets even when tenant-wide: the tickets CSV of
    a frozen tenant-wide report reads them from the snapshot too."""
    report = sla_report_build(tenant=tenant, month=month, organisation=organisation, now=now)
    if organisation is None:
        report.tickets = report_ticket_lines(tenant=tenant, month=month, organisation=None, now=now)
    return report


def sla_report_for(
    *,
    tenant: Tenant,
    month: dt.date,
    organisation: Organisation | None = None,
    now: dt.datetime | None = None,
) -> SLAReport:
    """The report every reader gets (page, CSVs, PDF, portal, API, mail): for a closed month
    the newest snapshot, made now (version 1) if there is none yet; for a month not yet over
    the live figures (:func:`sla_report_build`), not stored. Caller holds the tenant scope.

    Two first readers at once: the unique version makes one insert fail, and that reader
    reads the other's snapshot, so both get the same figures.
    """
    now = now or timezone.now()
    if not month_is_closed(tenant=tenant, month=month, now=now):
        return sla_report_build(tenant=tenant, month=month, organisation=organisation, now=now)
    snapshot = _latest_snapshot(month=month, organisation=organisation)
    if snapshot is None:
        live = _live_for_snapshot(tenant=tenant, month=month, organisation=organisation, now=now)
        try:
            with transaction.atomic():
                snapshot = ReportSnapshot.objects.create(
                    tenant=tenant, month=month, organisation=organisation, version=1,
                    data=report_to_data(live), made_at=now,
                )  # fmt: skip
        except IntegrityError:
            # The other reader's row, committed: read it.
            snapshot = ReportSnapshot.objects.select_related("tenant", "made_by").get(
                month=month, organisation=organisation, version=1
            )
    return _snapshot_report(snapshot, organisation)


class RecomputeRefused(ValueError):
    """The month cannot be recomputed; the message says why, in the active language."""


def report_recompute(
    *,
    tenant: Tenant,
    month: dt.date,
    organisation: Organisation | None,
    actor: User,
    now: dt.datetime | None = None,
) -> SLAReport:
    """Build a closed month's report from today's rows again and store it as the next
    version, with an audit event, in one transaction; every reader gets it from now on.
    Raises :class:`RecomputeRefused` for a month not yet over (its figures are live).
    Caller holds the tenant scope and has checked that ``actor`` is a manager or admin.
    """
    now = now or timezone.now()
    if not month_is_closed(tenant=tenant, month=month, now=now):
        raise RecomputeRefused(
            _("%(month)s is not over yet: its figures are live, there is nothing to recompute.")
            % {"month": month.strftime("%Y-%m")}
        )
    live = _live_for_snapshot(tenant=tenant, month=month, organisation=organisation, now=now)
    with transaction.atomic():
        # Lock the month's versions, so two recomputes at once number theirs one after the
        # other (the unique constraint would refuse a second "version 2" anyway).
        versions = list(
            ReportSnapshot.objects.select_for_update()
            .filter(month=month, organisation=organisation)
            .values_list("version", flat=True)
        )
        snapshot = ReportSnapshot.objects.create(
            tenant=tenant, month=month, organisation=organisation,
            version=max(versions, default=0) + 1, data=report_to_data(live), made_at=now,
            made_by=actor,
        )  # fmt: skip
        audit_record(instance=snapshot, actor=actor, before=None, ignore=("data",))
    return _snapshot_report(snapshot, organisation)


def sla_reports_send(*, tenant: Tenant, month: dt.date, now: dt.datetime | None = None) -> int:
    """E-mail ``month``'s report to every organisation whose plan includes monthly reports,
    and the tenant-wide report to its managers. Returns how many mails were queued.

    Recipients per organisation: :func:`report_recipients`. An organisation nobody can
    receive is never skipped silently: it is logged, and the managers' mail lists it with
    the reason. Exactly once per (month, organisation or tenant, recipient): the outbox key
    is unique, so a rerun after a crash queues only what is missing. Caller holds the
    tenant scope.
    """
    now = now or timezone.now()
    today = timezone.localtime(now, ZoneInfo(tenant.time_zone)).date()
    queued = 0
    undelivered: list[Undelivered] = []
    organisations = Organisation.objects.select_related("account_manager").order_by("pk")
    for organisation in organisations:
        if not organisation_has_feature(organisation=organisation, key=MONTHLY_REPORTS, at=now):
            continue
        recipients = report_recipients(organisation=organisation, day=today)
        if not recipients.people:
            logger.warning(
                "monthly report of organisation %s (tenant %s) has no recipient",
                organisation.pk,
                tenant.pk,
            )
            undelivered.append(Undelivered(organisation.name, recipients.source))
            continue
        build = partial(
            sla_report_for, tenant=tenant, month=month, organisation=organisation, now=now
        )
        documents = _Documents(build)
        for person in recipients.people:
            key = f"sla-report:{month:%Y-%m}:org{organisation.pk}:{person.key}"
            if OutboundEmail.objects.filter(key=key).exists():
                continue  # queued by an earlier run: neither the mail nor its PDF again
            language = person.language or tenant.default_language
            report, files = documents.made_in(language)
            with translation.override(language):
                subject, body, html = _render_mail(report, charts=files[1:])
            mail_enqueue(
                tenant=tenant,
                key=key,
                kind=OutboundKind.SLA_REPORT,
                to=person.email,
                subject=subject,
                body=body,
                html_body=html,
                attachments=files,
            )
            queued += 1
    documents = _Documents(partial(sla_report_for, tenant=tenant, month=month, now=now))
    managers = Membership.objects.filter(role=Role.MANAGER).select_related("user")
    for membership in managers.order_by("pk"):
        user = membership.user
        key = f"sla-report:{month:%Y-%m}:tenant:user{user.pk}"
        if not user.email or OutboundEmail.objects.filter(key=key).exists():
            continue
        language = user.language or tenant.default_language
        report, files = documents.made_in(language)
        with translation.override(language):
            report.undelivered = [
                Undelivered(u.organisation, str(RecipientSource(u.reason).label))
                for u in undelivered
            ]
            subject, body, html = _render_mail(report, charts=files[1:])
        mail_enqueue(
            tenant=tenant,
            key=key,
            kind=OutboundKind.SLA_REPORT,
            to=user.email,
            subject=subject,
            body=body,
            html_body=html,
            attachments=files,
        )
        queued += 1
    return queued


def _render_mail(
    report: SLAReport, *, charts: Sequence[MailAttachment] = ()
) -> tuple[str, str, str]:
    """The subject, the text and the HTML of ``report``'s mail in the active language; the
    HTML shows ``charts`` (inline images) where the text has none."""
    subject = _("SLA report %(month)s: %(name)s") % {
        "month": report.period_label,
        "name": report.total.label,
    }
    # Times in the mail read in the tenant's time zone, as on its pages.
    with timezone.override(ZoneInfo(report.tenant.time_zone)):
        body = render_to_string("reports/mail.txt", {"report": report})
        html = render_to_string(
            "reports/mail.html", {"report": report, "charts": charts, "subject": subject}
        )
    return subject, body, html


class _Documents:
    """One report, its PDF and its chart images per language, made the first time a
    recipient reads that language: an organisation's three Swedish contacts share one
    rendering. The report itself is built in that language too: its metric names, targets,
    categories and statuses are words of the reader's language, not of the worker's."""

    def __init__(self, build: Callable[[], SLAReport]) -> None:
        self.build = build
        self.made: dict[str, tuple[SLAReport, list[MailAttachment]]] = {}

    def made_in(self, language: str) -> tuple[SLAReport, list[MailAttachment]]:
        """The report, and its files: the PDF first, then each chart as an inline PNG."""
        if language not in self.made:
            with translation.override(language):
                report = self.build()
                figures = report_figures(report=report)
                pdf = MailAttachment(
                    filename=report_filename(report),
                    content=report_pdf(report=report, figures=figures),
                    content_type="application/pdf",
                )
                charts = [
                    MailAttachment(
                        filename=f"chart-{number}.png",
                        content=chart_png(svg),
                        content_type="image/png",
                        content_id=f"chart-{number}.{language}@supportdesk",
                        title=chart_title(svg),
                    )
                    for number, svg in enumerate(figures, start=1)
                ]
            self.made[language] = (report, [pdf, *charts])
        return self.made[language]


def report_filename(report: SLAReport) -> str:
    """``sla-report-2026-11-acme-ab.pdf``: the month, and the organisation when it is one's."""
    suffix = f"-{slugify(report.organisation.name)}" if report.organisation else ""
    return f"sla-report-{report.period_label}{suffix}.pdf"
