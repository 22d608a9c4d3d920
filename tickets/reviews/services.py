"""Opening, writing, finishing and sharing a post-incident review; the warning sweep.

Every write records an internal ticket event (REVIEW_OPENED, REVIEW_DONE,
REVIEW_DUE_MOVED) in its transaction. Opening hangs off the ticket's close through an event
handler registered in ``TicketsConfig.ready()`` (after commit, at least once: it is
idempotent by the review's one-to-one ticket), not off ``save()``. The due time is a clock
like the SLA's: an edit of the SLA calendar (:func:`sla.services.calendars_changed_subscribe`)
or of the review rule's days moves the draft reviews' due times (:func:`reviews_due_recompute`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from sla.explanations import working_days_explain
from sla.models import Calendar
from supportdesk.models import Membership, Tenant, User
from supportdesk.notices import NoticeKind, notice_sink

from ..choices import Channel, Status
from ..events import event_record, events_publish
from ..models import (
    EventKind,
    PostIncidentReview,
    ReviewAction,
    ReviewPolicy,
    ReviewStatus,
    Ticket,
    TicketEvent,
)
from ..templatetags.ticket_tags import event_value

DEFAULT_DUE_DAYS = 5
"""Working days a review opened by hand is given when the tenant has no review rule."""

MAX_TIMELINE_EVENTS = 200
"""Events the pre-filled timeline lists at most (the first ones): the rest is in the log."""


def review_policy(*, tenant: Tenant) -> ReviewPolicy:
    """The tenant's review rule; an unsaved one (no priorities, the default days) when the
    admin has not set it yet."""
    policy = ReviewPolicy.objects.filter(tenant=tenant).first()
    return policy if policy is not None else ReviewPolicy(tenant=tenant)


def review_days(*, tenant: Tenant) -> int:
    """The working days the tenant's rule gives a review; :data:`DEFAULT_DUE_DAYS` without
    a rule."""
    policy = review_policy(tenant=tenant)
    return policy.due_working_days if policy.pk else DEFAULT_DUE_DAYS


def review_policy_save(
    *, policy: ReviewPolicy, priorities: list[Any], due_working_days: int
) -> ReviewPolicy:
    """Store the tenant admin's review rule. Preconditions: the priorities are the tenant's
    (the form's queryset is scoped), the tenant's scope is active. A change of the days moves
    the due times of the reviews still in draft (:func:`reviews_due_recompute`), in the same
    transaction; done reviews keep theirs."""
    if any(p.tenant_id != policy.tenant_id for p in priorities):
        raise ValidationError({"priorities": _("Unknown priority.")})
    # From the database: a model form has set the new days on ``policy`` already.
    stored = (
        ReviewPolicy.objects.filter(pk=policy.pk).values_list("due_working_days", flat=True).first()
        if policy.pk
        else None
    )
    old_days = stored if stored is not None else DEFAULT_DUE_DAYS
    policy.due_working_days = due_working_days
    policy.full_clean(exclude=["tenant", "priorities"])
    with transaction.atomic():
        policy.save()
        policy.priorities.set(priorities)
        if old_days != due_working_days:
            reviews_due_recompute(tenant=policy.tenant, every=True, reason="review_rule")
    return policy


def _calendar_for(ticket: Ticket) -> Calendar | None:
    """The ticket's SLA calendar: its policy's, else the tenant's default calendar."""
    if ticket.sla_policy_id is not None and ticket.sla_policy is not None:
        return ticket.sla_policy.calendar
    return Calendar.objects.filter(is_default=True).first()


def review_due_times(
    *, ticket: Ticket, start: dt.datetime, days: int
) -> tuple[dt.datetime, dt.datetime]:
    """(due, warn from): the close of the ``days``-th working day after ``start`` on the
    ticket's SLA calendar, and the close of the working day before it (the last working day
    begins then); calendar days when the tenant has no calendar."""
    return _due_times(_calendar_for(ticket), start, days)


def _due_times(
    calendar: Calendar | None, start: dt.datetime, days: int
) -> tuple[dt.datetime, dt.datetime]:
    if calendar is None:
        due = start + dt.timedelta(days=days)
        return due, due - dt.timedelta(days=1)
    engine = calendar.engine
    due = engine.add_days(start, days)
    warn = engine.add_days(start, days - 1) if days > 1 else start
    return due, warn


def review_start(review: PostIncidentReview) -> dt.datetime:
    """When the review's working days are counted from: its ticket's close (its opening,
    for a ticket reopened since)."""
    return review.ticket.closed_at or review.created_at


def review_explain(review: PostIncidentReview) -> list[str]:
    """Why ``review`` is due when it is, in the reader's language (the review page): the
    working days of the rule from the ticket's close on its SLA calendar, derived again as
    :func:`reviews_due_recompute` does. A done review whose rule or calendar has changed
    since says so, not a count that would not match its due time. Reads the tenant's rule
    and, for a ticket without an SLA policy, its default calendar."""
    ticket = review.ticket
    days = review_days(tenant=ticket.tenant)
    calendar = _calendar_for(ticket)
    start = review_start(review)
    if _due_times(calendar, start, days)[0] != review.due_at:
        return [
            _("Due %(when)s by the review rule and the SLA calendar in force then; they have "
              "changed since.") % {"when": _local(review.due_at, ZoneInfo(ticket.tenant.time_zone))}
        ]  # fmt: skip
    lines = working_days_explain(calendar=calendar, start=start, days=days, what=_("the close"))
    lines.append(
        _("The assignee is warned once from %(when)s, when the last working day begins.")
        % {"when": _local(review.warn_at, ZoneInfo(ticket.tenant.time_zone))}
    )
    return lines


def reviews_due_recompute(
    *,
    tenant: Tenant,
    calendar_ids: Sequence[int] = (),
    policy_ids: Sequence[int] = (),
    default_moved: bool = False,
    every: bool = False,
    reason: str = "calendar",
    now: dt.datetime | None = None,
) -> int:
    """Move the due and warning times of the tenant's draft reviews counted on what changed
    (``calendar_ids`` edited, ``policy_ids`` given another calendar, the default calendar
    moved, or ``every`` one after the review rule's days changed), from their ticket's close
    on its calendar now; returns how many moved. Each one that moves gets an internal
    REVIEW_DUE_MOVED event. Done reviews keep theirs.

    A warning already sent is not sent again (``warned_at`` stays), even when the due time
    moves later: the assignee knows, and the event and the review page show the new time; a
    warning not sent yet goes out at the new warning time. Constant queries whatever the
    number of reviews. Caller is inside a transaction; subscribed to the SLA app's calendar
    edits in ``TicketsConfig.ready()``.
    """
    with scope(tenant=tenant):
        default = Calendar.objects.filter(tenant_id=tenant.pk, is_default=True).first()
        wanted: list[Q] = []
        if every:
            wanted.append(Q())
        if calendar_ids:
            wanted.append(Q(ticket__sla_policy__calendar_id__in=calendar_ids))
        if default_moved or (default is not None and default.pk in calendar_ids):
            wanted.append(Q(ticket__sla_policy__isnull=True))
        if policy_ids:
            wanted.append(Q(ticket__sla_policy_id__in=policy_ids))
        if not wanted:
            return 0
        where = wanted[0]
        for q in wanted[1:]:
            where |= q
        reviews = list(
            PostIncidentReview.objects.select_for_update(of=("self",))
            .filter(where, tenant_id=tenant.pk, status=ReviewStatus.DRAFT)
            .select_related("ticket__sla_policy__calendar")
            .order_by("id")
        )
        if not reviews:
            return 0
        days = review_days(tenant=tenant)
        now = now or timezone.now()
        zone = ZoneInfo(tenant.time_zone)
        calendars: dict[int, Calendar | None] = {}  # one compiled engine per calendar
        moved: list[PostIncidentReview] = []
        events: list[TicketEvent] = []
        for review in reviews:
            ticket = review.ticket
            calendar = ticket.sla_policy.calendar if ticket.sla_policy is not None else default
            key = calendar.pk if calendar is not None else 0
            calendar = calendars.setdefault(key, calendar)
            due, warn = _due_times(calendar, review_start(review), days)
            if (due, warn) == (review.due_at, review.warn_at):
                continue
            old_due = review.due_at
            review.due_at, review.warn_at = due, warn
            moved.append(review)
            events.append(
                TicketEvent(
                    tenant_id=tenant.pk, ticket=ticket, kind=EventKind.REVIEW_DUE_MOVED, at=now,
                    old_value=_local(old_due, zone), new_value=_local(due, zone),
                    is_public=False,
                    data={"review_id": review.pk, "reason": reason, "due_at": due.isoformat()},
                )
            )  # fmt: skip
        if not moved:
            return 0
        PostIncidentReview.objects.bulk_update(moved, ["due_at", "warn_at"], batch_size=500)
        events_publish(TicketEvent.objects.bulk_create(events, batch_size=500))
    return len(moved)


def reviews_calendars_changed(
    *, tenant: Tenant, calendar_ids: list[int], policy_ids: list[int], default_moved: bool
) -> int:
    """The SLA app's calendar edits, subscribed: see :func:`reviews_due_recompute`."""
    return reviews_due_recompute(
        tenant=tenant, calendar_ids=calendar_ids, policy_ids=policy_ids,
        default_moved=default_moved, reason="calendar",
    )  # fmt: skip


def _local(at: dt.datetime, zone: ZoneInfo) -> str:
    return timezone.localtime(at, zone).strftime("%Y-%m-%d %H:%M")


def review_timeline_text(*, ticket: Ticket) -> str:
    """The ticket's events as lines "YYYY-MM-DD HH:MM  What: old → new" in the tenant's
    time zone, for the review's timeline to start from (one query)."""
    zone = ZoneInfo(ticket.tenant.time_zone)
    lines = []
    events = (
        TicketEvent.objects.filter(tenant_id=ticket.tenant_id, ticket=ticket)
        .exclude(kind__in=[EventKind.REVIEW_OPENED, EventKind.REVIEW_DONE])
        .select_related("actor", "actor_contact")
        .order_by("at", "id")[:MAX_TIMELINE_EVENTS]
    )
    # Stored text, read by the tenant's staff: in the tenant's language, not the worker's.
    with translation.override(ticket.tenant.default_language):
        for event in events:
            lines.append(_timeline_line(event, zone))
    return "\n".join(lines)


def _timeline_line(event: TicketEvent, zone: ZoneInfo) -> str:
    when = _local(event.at, zone)
    what = str(EventKind(event.kind).label) if event.kind in EventKind.values else event.kind
    # Values in words, as the ticket's timeline shows them ("Open → Closed", not keys).
    old, new = event_value(event, "old"), event_value(event, "new")
    change = f": {old} → {new}" if old else (f": {new}" if new else "")
    return f"{when}  {what}{change} ({event.actor_name})"


def shared_review(*, ticket: Ticket) -> PostIncidentReview | None:
    """The review of ``ticket`` its customer may read: one an agent shared (None otherwise,
    and without a query for a ticket not closed, which has none)."""
    if ticket.status != Status.CLOSED:
        return None
    return (
        PostIncidentReview.objects.filter(ticket=ticket, shared_with_customer=True)
        .prefetch_related("actions")
        .first()
    )


def review_refusal(*, ticket: Ticket) -> str | None:
    """Why ``ticket`` cannot get a review (None: it can)."""
    if ticket.status != Status.CLOSED:
        return _(
            "A post-incident review is written for a closed ticket; %(ref)s is %(status)s."
        ) % {"ref": ticket.reference, "status": Status(ticket.status).label.lower()}
    if ticket.merged_into_id is not None:
        return _("%(ref)s was merged into another ticket; review that one.") % {
            "ref": ticket.reference
        }
    if PostIncidentReview.objects.filter(ticket=ticket).exists():
        return _("%(ref)s already has a post-incident review.") % {"ref": ticket.reference}
    return None


def _require_agent(actor: User | None) -> User:
    if actor is None or not Membership.objects.agents().filter(user=actor).exists():
        raise ValidationError({"actor": _("Only agents can write post-incident reviews.")})
    return actor


def review_open(
    *, ticket: Ticket, actor: User | None, channel: str = Channel.PORTAL
) -> PostIncidentReview:
    """Open the post-incident review of the closed ``ticket``: assigned to its assignee, due
    within the tenant's working days (:class:`ReviewPolicy`) from its close, the timeline
    pre-filled from its events. ``actor`` None: opened automatically at close.

    Preconditions: the tenant's scope is active; ``actor``, when given, is an agent. Bad
    input (a ticket not closed, merged, or reviewed already) raises ``ValidationError``;
    nothing is saved. Writes an internal REVIEW_OPENED event in the same transaction.
    """
    agent = _require_agent(actor) if actor is not None else None
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("tenant", "sla_policy__calendar", "assignee")
            .get(pk=ticket.pk)
        )
        refusal = review_refusal(ticket=locked)
        if refusal:
            raise ValidationError({"ticket": refusal})
        days = review_days(tenant=locked.tenant)
        now = timezone.now()
        start = locked.closed_at or now
        due, warn = review_due_times(ticket=locked, start=start, days=days)
        review = PostIncidentReview.objects.create(
            tenant_id=locked.tenant_id,
            ticket=locked,
            assignee=locked.assignee,
            due_at=due,
            warn_at=warn,
            timeline=review_timeline_text(ticket=locked),
            created_at=now,
        )
        events_publish(
            [
                event_record(
                    ticket=locked, kind=EventKind.REVIEW_OPENED, actor=agent,
                    by_staff=agent is not None, channel=channel, new=due.isoformat(),
                    is_public=False, at=now, data={"review_id": review.pk},
                )
            ]
        )  # fmt: skip
    return review


def reviews_wanted(events: list[TicketEvent]) -> list[TicketEvent]:
    """The events :func:`review_open_on_close` is owed: a ticket moving to closed."""
    return [
        e for e in events if e.kind == EventKind.STATUS_CHANGED and e.new_value == Status.CLOSED
    ]


def review_open_on_close(event: TicketEvent) -> str | None:
    """Event handler: open the review of a ticket just closed when its priority is one the
    tenant picked. Idempotent: a ticket reviewed already (a second delivery) is left alone."""
    if event.kind != EventKind.STATUS_CHANGED or event.new_value != Status.CLOSED:
        return None
    ticket = Ticket.objects.select_related("tenant").filter(pk=event.ticket_id).first()
    if ticket is None or ticket.priority_id is None:
        return None
    policy = ReviewPolicy.objects.filter(tenant_id=ticket.tenant_id).first()
    if policy is None or not policy.priorities.filter(pk=ticket.priority_id).exists():
        return None
    if review_refusal(ticket=ticket) is not None:
        return None
    try:
        review_open(ticket=ticket, actor=None, channel=Channel.API)
    except (ValidationError, IntegrityError):
        return None  # reopened meanwhile or reviewed by a concurrent delivery
    return None


def review_save(
    *,
    review: PostIncidentReview,
    actor: User,
    impact: str,
    timeline: str,
    root_cause: str,
    shared_with_customer: bool,
    assignee: User | None,
) -> PostIncidentReview:
    """Store the review's text, assignee and whether the customer may read it.

    Preconditions: ``actor`` is an agent of the tenant in scope; ``assignee``, when given,
    is an agent of it. Locks the review row. Raises ``ValidationError``; nothing is saved."""
    _require_agent(actor)
    if assignee is not None and not Membership.objects.agents().filter(user=assignee).exists():
        raise ValidationError({"assignee": _("Choose an agent of this desk.")})
    with transaction.atomic():
        locked = PostIncidentReview.objects.select_for_update().get(pk=review.pk)
        locked.impact, locked.timeline, locked.root_cause = impact, timeline, root_cause
        locked.shared_with_customer = shared_with_customer
        locked.assignee = assignee
        locked.full_clean(exclude=["tenant", "ticket"])
        locked.save()
    return locked


def review_done(
    *, review: PostIncidentReview, actor: User, channel: str = Channel.PORTAL
) -> PostIncidentReview:
    """Mark the review done. Preconditions: ``actor`` is an agent; the review is a draft with
    its impact and root cause written. Writes an internal REVIEW_DONE event."""
    agent = _require_agent(actor)
    with transaction.atomic():
        locked = (
            PostIncidentReview.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .get(pk=review.pk)
        )
        if locked.status == ReviewStatus.DONE:
            raise ValidationError({"status": _("This review is done already.")})
        missing = [
            str(label)
            for label, value in ((_("Impact"), locked.impact), (_("Root cause"), locked.root_cause))
            if not value.strip()
        ]
        if missing:
            raise ValidationError(
                {"status": _("Write these before the review is done: %(fields)s.")
                 % {"fields": ", ".join(missing)}}
            )  # fmt: skip
        now = timezone.now()
        locked.status, locked.done_at = ReviewStatus.DONE, now
        locked.save(update_fields=["status", "done_at"])
        events_publish(
            [
                event_record(
                    ticket=locked.ticket, kind=EventKind.REVIEW_DONE, actor=agent,
                    by_staff=True, channel=channel, is_public=False, at=now,
                    data={"review_id": locked.pk, "late": now > locked.due_at},
                )
            ]
        )  # fmt: skip
    return locked


def review_action_add(
    *,
    review: PostIncidentReview,
    actor: User,
    description: str,
    owner: User | None,
    due_on: dt.date | None,
) -> ReviewAction:
    """Add one follow-up action (what, whose, by when). Preconditions: ``actor`` and
    ``owner`` (when given) are agents of the tenant in scope."""
    _require_agent(actor)
    if not description.strip():
        raise ValidationError({"description": _("Describe the action.")})
    if owner is not None and not Membership.objects.agents().filter(user=owner).exists():
        raise ValidationError({"owner": _("Choose an agent of this desk.")})
    action = ReviewAction(
        tenant_id=review.tenant_id, review=review, description=description.strip(),
        owner=owner, due_on=due_on,
    )  # fmt: skip
    action.full_clean(exclude=["tenant", "review"])
    action.save()
    return action


def review_action_remove(*, review: PostIncidentReview, action_id: int, actor: User) -> None:
    """Remove one follow-up action of ``review`` (one written in error, or no longer to be
    done: the owner and date are changed by removing and adding). Preconditions: ``actor``
    is an agent of the tenant in scope. An action of another review is unknown."""
    _require_agent(actor)
    with transaction.atomic():
        removed, _kinds = ReviewAction.objects.filter(
            tenant_id=review.tenant_id, review=review, pk=action_id
        ).delete()
    if not removed:
        raise ValidationError({"action": _("This review has no such action.")})


def reviews_warn(*, tenant: Tenant, now: dt.datetime) -> int:
    """Warn each assignee once that their draft review is in its last working day (or
    overdue); returns how many were warned. Exactly once by the notice's key and the
    review's ``warned_at``. Caller holds the tenant's scope and a transaction."""
    due = list(
        PostIncidentReview.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            status=ReviewStatus.DRAFT, warned_at__isnull=True, warn_at__lte=now,
            assignee__isnull=False,
        )
        .select_related("ticket", "assignee")
        .order_by("due_at", "id")
    )  # fmt: skip
    if not due:
        return 0
    sink = notice_sink()
    for review in due:
        ticket = review.ticket
        sink.queue(
            tenant=tenant,
            key=f"review_due:{review.pk}",
            kind=NoticeKind.REVIEW_DUE,
            recipient=review.assignee,
            ticket=ticket,
            text=_("%(reference)s %(subject)s: the post-incident review is due %(due)s")
            % {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "due": timezone.localtime(review.due_at, ZoneInfo(tenant.time_zone)).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
            + "\n"
            + tenant.base_url()
            + reverse("tickets:ticket-review", kwargs={"ticket_id": ticket.pk}),
        )
    PostIncidentReview.objects.filter(pk__in=[r.pk for r in due]).update(warned_at=now)
    sink.flush_on_commit(tenant_id=tenant.pk)
    return len(due)
