"""When support is due: business calendars, priorities, SLA policies and their targets,
escalation rules and the live clock of every ticket (staff notices are the notifications
app's).

A ticket's clock rows are derived state: :mod:`sla.services` recomputes them from the
ticket's event history (never by patching counters), so a priority, plan or calendar change
simply derives them again.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from sla.choices import Metric, SupportLine
from supportdesk.models import Tenant, TenantOwned

from .calendar import BusinessCalendar
from .calendar_errors import calendar_error


class Calendar(TenantOwned):
    """Opening hours in the SLA-engine format (see ``sla/calendar.py``)."""

    name = models.CharField(_("name"), max_length=100)
    config = models.JSONField(_("configuration"))
    is_default = models.BooleanField(_("tenant default"), default=False)
    # While the recompute after an edit still runs (a Celery task, batch by batch): the
    # configuration before the edit and the edit's instant, so a clock refreshed before its
    # batch is reached counts the time before the edit under the old hours, as the batch will.
    recompute_from = models.DateTimeField(
        _("recompute from"), null=True, blank=True, editable=False
    )
    recompute_config = models.JSONField(
        _("configuration before the edit"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("calendar")
        verbose_name_plural = _("calendars")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="calendar_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="calendar_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            BusinessCalendar.from_dict(self.config)
        except ValueError as exc:
            raise ValidationError({"config": calendar_error(exc)}) from exc

    @property
    def engine(self) -> BusinessCalendar:
        """The compiled calendar (cached by configuration)."""
        return BusinessCalendar.from_dict(self.config)


class Priority(TenantOwned):
    """One level of a tenant's own priority scheme (SoftOne P1-P5, ITSL P1-P4, ...)."""

    key = models.CharField(_("key"), max_length=10, help_text=_('Short code, e.g. "P1".'))
    name = models.CharField(_("name"), max_length=100)
    definition = models.TextField(
        _("definition"), blank=True, help_text=_("Shown to customers and agents.")
    )
    examples = models.TextField(_("examples"), blank=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), help_text=_("1 is the most urgent; the queue and reports sort by it.")
    )
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("Given to new tickets filed without a priority.")
    )

    class Meta:
        ordering = ["rank"]
        verbose_name = _("priority")
        verbose_name_plural = _("priorities")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"],
                name="priority_unique_key",
                violation_error_message=_("A priority with this key already exists."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "rank"],
                name="priority_unique_rank",
                violation_error_message=_("Another priority already has this rank."),
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_default=True),
                name="priority_one_default",
                violation_error_message=_("Another priority is already the default."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"


class SLAPolicy(TenantOwned):
    """A set of response/resolution targets per priority; plans point at one."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("calendar")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="slapolicy_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def target_for(self, *, metric: str, priority_id: int | None) -> SLATarget | None:
        """The target for a metric at a priority: its own row, else the all-priorities row.

        Reads ``self.targets.all()`` so a ``prefetch_related("targets")`` serves it.
        """
        fallback = None
        for target in self.targets.all():
            if target.metric != metric:
                continue
            if target.priority_id is not None and target.priority_id == priority_id:
                return target
            if target.priority_id is None:
                fallback = target
        return fallback


class TargetUnit(models.TextChoices):
    MINUTES = "minutes", _("business minutes")
    HOURS = "hours", _("business hours")
    WORKING_DAYS = "working_days", _("working days")


def target_words(*, unit: str, amount: int, always_open: bool) -> str:
    """A promise in the active language: "within 4 business hours", "by the end of the next
    working day"; around the clock when its calendar is always open. Pure, so a frozen
    report (which keeps the unit and amount, not the words) says it in its reader's language.
    """
    if always_open and unit != TargetUnit.WORKING_DAYS:
        # Not "business hours": every hour counts.
        if unit == TargetUnit.HOURS:
            return ngettext(
                "within %(n)d hour, around the clock",
                "within %(n)d hours, around the clock",
                amount,
            ) % {"n": amount}
        return ngettext(
            "within %(n)d minute, around the clock",
            "within %(n)d minutes, around the clock",
            amount,
        ) % {"n": amount}
    if unit == TargetUnit.WORKING_DAYS:
        if amount == 1:
            return gettext("by the end of the next working day")
        return gettext("within %(n)d working days") % {"n": amount}
    if unit == TargetUnit.HOURS:
        return ngettext("within %(n)d business hour", "within %(n)d business hours", amount) % {
            "n": amount
        }
    return ngettext("within %(n)d business minute", "within %(n)d business minutes", amount) % {
        "n": amount
    }


class SLATarget(TenantOwned):
    """A promise: ``metric`` within ``amount`` ``unit`` counted on a calendar.

    No row for a metric and priority means no promise. ``working_days`` targets use the
    engine's ``add_days`` ("next working day" = the close of the next open day).
    """

    policy = models.ForeignKey(
        SLAPolicy, on_delete=models.CASCADE, related_name="targets", verbose_name=_("policy")
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    priority = models.ForeignKey(
        Priority,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("priority"),
        help_text=_("Empty: every priority without a target of its own."),
    )
    amount = models.PositiveIntegerField(_("amount"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("unit"), max_length=16, choices=TargetUnit.choices)
    calendar = models.ForeignKey(
        Calendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targets",
        verbose_name=_("calendar"),
        help_text=_("Empty: the policy's calendar. Choose a 24/7 calendar for acute incidents."),
    )

    class Meta:
        ordering = ["policy", "metric", "priority__rank"]
        verbose_name = _("SLA target")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "metric", "priority"],
                condition=models.Q(priority__isnull=False),
                name="slatarget_unique_per_priority",
                violation_error_message=_("This policy already has a target for that priority."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "policy", "metric"],
                condition=models.Q(priority__isnull=True),
                name="slatarget_unique_default",
                violation_error_message=_("This policy already has an all-priorities target."),
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=1), name="slatarget_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.get_metric_display()} {self.describe()}"

    def describe(self) -> str:
        """The promise in words: "4 business hours", "next working day", "5 working days"."""
        return target_words(
            unit=self.unit,
            amount=self.amount,
            always_open=bool(self.effective_calendar().config.get("always_open")),
        )

    def effective_calendar(self) -> Calendar:
        """The target's own calendar, else its policy's."""
        return self.calendar if self.calendar is not None else self.policy.calendar

    def budget(self, *, start: dt.datetime, engine: BusinessCalendar) -> dt.timedelta:
        """Business time the promise allows for a clock started at ``start``.

        A working-days target becomes the business time from ``start`` to the close of the
        n-th working day, so pauses later extend it like any other target.
        """
        if self.unit == TargetUnit.WORKING_DAYS:
            return engine.between(start, engine.add_days(start, self.amount))
        if self.unit == TargetUnit.HOURS:
            return dt.timedelta(hours=self.amount)
        return dt.timedelta(minutes=self.amount)


class EscalationRule(TenantOwned):
    """At a share of a target's time (0 % = at once, 100 % = at breach): act once per ticket.

    Acting means moving the ticket to a support line and/or notifying people. Rules with an
    empty policy or priority apply to every policy or priority.
    """

    name = models.CharField(_("name"), max_length=100)
    policy = models.ForeignKey(
        SLAPolicy,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_rules",
        verbose_name=_("policy"),
    )
    priority = models.ForeignKey(
        Priority,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("priority"),
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    threshold_percent = models.PositiveSmallIntegerField(
        _("at this share of the target (%)"),
        validators=[MaxValueValidator(100)],
        help_text=_("0 acts as soon as the clock starts; 100 acts at breach."),
    )
    move_to_line = models.PositiveSmallIntegerField(
        _("move to support line"), choices=SupportLine.choices, null=True, blank=True
    )
    notify_assignee = models.BooleanField(_("notify the assignee"), default=False)
    notify_account_manager = models.BooleanField(_("notify the account manager"), default=False)
    notify_service_owner = models.BooleanField(_("notify the service owner"), default=False)
    notify_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("also notify"),
        help_text=_("E.g. the second-line lead or the development lead."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["metric", "threshold_percent", "name"]
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="escalationrule_unique_name"),
            models.CheckConstraint(
                condition=models.Q(threshold_percent__lte=100), name="escalationrule_percent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, *, policy_id: int | None, priority_id: int | None, metric: str) -> bool:
        return (
            self.is_active
            and self.metric == metric
            and (self.policy_id is None or self.policy_id == policy_id)
            and (self.priority_id is None or self.priority_id == priority_id)
        )


class ClockState(models.TextChoices):
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    STOPPED = "stopped", _("stopped")


class Clock(TenantOwned):
    """One metric's clock on one ticket; every figure here is derived from the history.

    ``segments`` caches the real-time stretches in which the clock ran (epoch seconds, the
    last one open while running). They do not depend on calendar, priority or plan, so a
    calendar edit recomputes business time from them in bulk without reading events.
    """

    # No single-column indexes on these keys: the composite ones below (all leading with the
    # tenant, as every scoped query does) serve the lookups, and each extra index would be
    # rewritten for every clock a calendar edit recomputes.
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("tenant"),
        db_index=False,
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="clocks",
        verbose_name=_("ticket"),
        db_index=False,
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    target = models.ForeignKey(
        SLATarget, on_delete=models.SET_NULL, null=True, related_name="clocks", db_index=False
    )
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, related_name="clocks", db_index=False
    )
    state = models.CharField(_("state"), max_length=10, choices=ClockState.choices)
    started_at = models.DateTimeField(_("started"))
    budget_seconds = models.FloatField(_("business seconds allowed"))
    elapsed_seconds = models.FloatField(
        _("business seconds used"), help_text=_("Up to the stop, the pause, or the last resume.")
    )
    segments = models.JSONField(default=list)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    met = models.BooleanField(_("target met"), null=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)
    # Forward-only recompute: when the rules of a running clock changed (priority, policy,
    # target, calendar), the business time it had used until then, counted under the rules
    # of the time, is carried; only what follows ``carried_at`` is counted under the new ones.
    # Database defaults too: the load seed and other bulk writers COPY rows without them.
    carried_seconds = models.FloatField(
        _("business seconds used before the last change"), default=0, db_default=0
    )
    carried_at = models.DateTimeField(_("rules last changed"), null=True, blank=True)
    carried_why = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, models.JSONField())
    )
    # A cycle metric (next reply) runs once per cycle: the row follows the current one
    # (numbered from 1; 0 for a single-shot metric) and keeps the outcomes of the cycles
    # before it, final once counted.
    cycle = models.PositiveIntegerField(_("cycle"), default=0, db_default=0)
    cycles_met = models.PositiveIntegerField(_("earlier cycles met"), default=0, db_default=0)
    cycles_missed = models.PositiveIntegerField(_("earlier cycles missed"), default=0, db_default=0)

    class Meta:
        ordering = ["metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "metric"], name="clock_one_per_metric"
            )
        ]
        # No index holds a computed column (due_at, breached_at, next_alert_at, budget): a
        # recompute then rewrites each clock in place (a HOT update, with the free room the
        # table's fillfactor leaves on every page; migration 0007) instead of adding an entry
        # to every index. The sweep's range scan and the queue order read the ticket row.
        indexes = [
            models.Index(fields=["tenant", "calendar", "state"], name="clock_calendar_state"),
            models.Index(fields=["tenant", "target", "state"], name="clock_target_state"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric} {self.state}"


class Alert(TenantOwned):
    """A threshold of a ticket's clock that has been acted on: the exactly-once key."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="alerts")
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    # The clock's cycle (a cycle metric warns once per cycle; 0 for single-shot metrics).
    cycle = models.PositiveIntegerField(_("cycle"), default=0, db_default=0)
    threshold_percent = models.PositiveSmallIntegerField(_("threshold (%)"))
    due_at = models.DateTimeField(_("due"), null=True)
    fired_at = models.DateTimeField(_("fired"), default=timezone.now)

    class Meta:
        ordering = ["fired_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "metric", "cycle", "threshold_percent"],
                name="alert_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric} {self.threshold_percent}%"


class RecomputeState(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class RecomputeJob(TenantOwned):
    """A recompute of many clocks after a configuration edit, run by a Celery task in
    batches; the admin page reads its progress ("recomputing 41,000 of 100,000 due times").

    ``spec`` says which clocks: ``{"calendar": id}``, ``{"policy_calendar": id}``,
    ``{"targets": [ids]}``, ``{"running": true}``, and ``{"refresh_policy": id}`` for tickets
    of a policy that gained or lost a target (derived again one by one).
    """

    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    spec = models.JSONField(default=dict)
    at = models.DateTimeField(_("edited"))
    why = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=RecomputeState.choices, default=RecomputeState.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="recompute_object")
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} {self.state} {self.done}/{self.total}"

    @property
    def is_active(self) -> bool:
        return self.state in (RecomputeState.QUEUED, RecomputeState.RUNNING)
