"""What was asked: tickets, their messages and attachments, time entries, and the
append-only event log every change writes.

Writes go through :mod:`tickets.services`; nothing here sends mail or recomputes clocks.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.html import linebreaks, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from contracts.models import Contact, NamedContact, Organisation, RequestType, SupportPlan
from contracts.reasons import reasons_from_json, reasons_text
from sla.models import Calendar, Clock, ClockState, Metric, Priority, SLAPolicy
from supportdesk.models import Tenant, TenantOwned, User

from .attachments import IMAGE_TYPES
from .choices import Category, Channel, Rating, Status, SupportLine, VendorState
from .mail.inbound.base import html_to_text

__all__ = [
    "ACTIVE_STATUSES",
    "Attachment",
    "EventKind",
    "Quote",
    "QuoteStatus",
    "Problem",
    "ProblemStatus",
    "Macro",
    "Message",
    "Priority",
    "PostIncidentReview",
    "ReviewAction",
    "ReviewPolicy",
    "RoutingRule",
    "SatisfactionRating",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketLink",
    "TimeEntry",
]

ACTIVE_STATUSES: tuple[str, ...] = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
"""Statuses of tickets still being worked; the queue shows these by default."""


class TicketCounter(TenantOwned):
    """The last ticket number a tenant handed out; locked at the end of each filing, so numbers
    have no gaps."""

    last_number = models.PositiveIntegerField(default=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ticketcounter_one")]

    def __str__(self) -> str:
        return str(self.last_number)


def _contact_is_named(contact: Contact) -> bool:
    """Whether the contact is a named contact of their organisation's contract."""
    return NamedContact.objects.filter(contact=contact).exists()


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def for_contact(self, contact: Contact) -> TicketQuerySet:
        """Tickets a customer may see: their own, those they are copied on, and, for a named
        contact, every ticket of their organisation."""
        cc = Ticket.cc.through.objects.filter(ticket_id=OuterRef("pk"), contact_id=contact.pk)
        visible = Q(requester=contact) | Q(Exists(cc))
        if contact.organisation_id is not None and _contact_is_named(contact):
            visible |= Q(organisation_id=contact.organisation_id)
        return self.filter(visible).select_related("schedule")


class TicketManager(models.Manager["Ticket"]):
    def get_queryset(self) -> TicketQuerySet:
        return TicketQuerySet(self.model, using=self._db)

    def active(self) -> TicketQuerySet:
        return self.get_queryset().active()

    def for_contact(self, contact: Contact) -> TicketQuerySet:
        return self.get_queryset().for_contact(contact)


class Ticket(TenantOwned):
    """A request from a customer contact, with its reference number and SLA state.

    Few indexes, on purpose: a calendar edit rewrites the due time of every open ticket of a
    tenant, and each index is one more entry to write per ticket. The foreign keys that only
    a rare delete follows (tenant, priority, policy, assignee, calendar) have no index of their
    own; the tenant-leading indexes below serve every list.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"), db_index=False
    )

    # Empty (NULL, which unique constraints let repeat) only inside the filing transaction,
    # until its last step takes the number (tickets.services.filing._number_take); never once filed,
    # so the types say int and str.
    number: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(  # type: ignore[misc]
        _("number"), null=True, editable=False
    )
    reference: models.CharField[str, str] = models.CharField(  # type: ignore[misc]
        _("reference"), max_length=24, null=True, editable=False
    )
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    # Their own indexes would repeat the tenant-leading ticket_requester / ticket_organisation.
    requester = models.ForeignKey(
        Contact,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("requester"),
        db_index=False,
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("organisation"),
    )
    cc = models.ManyToManyField(
        Contact, blank=True, related_name="cc_tickets", verbose_name=_("copied contacts")
    )
    # Staff who follow the ticket: mailed about its public replies and internal notes.
    # Written by tickets.followers.services; only the tenant's agents and admins are added,
    # and mail goes to those who still are (notifications.channels.email).
    followers: models.ManyToManyField[User, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="followed_tickets",
        verbose_name=_("internal followers"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.QUESTION
    )
    request_type = models.ForeignKey(
        RequestType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("request type"),
        help_text=_("The tenant's kind of request; the plan's scope table says if it is billed."),
    )
    priority = models.ForeignKey(
        Priority,
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("priority"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_index=False,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    support_line = models.PositiveSmallIntegerField(
        _("support line"), choices=SupportLine.choices, default=SupportLine.FIRST
    )
    billable = models.BooleanField(_("billable"), default=False)
    billing_accepted = models.BooleanField(_("customer accepted billing"), default=False)
    vendor_reference = models.CharField(
        _("vendor reference"),
        max_length=200,
        blank=True,
        help_text=_("The upstream vendor's ticket, e.g. a Zendesk request number or link."),
    )
    # Written by tickets.services.ticket_vendor_escalate only (with a VENDOR_STATE event).
    vendor_state = models.CharField(
        _("vendor escalation"),
        max_length=10,
        choices=VendorState.choices,
        default=VendorState.NONE,
        editable=False,
    )
    vendor_escalated_at = models.DateTimeField(
        _("escalated to the vendor"), null=True, blank=True, editable=False
    )
    sla_policy = models.ForeignKey(
        SLAPolicy,
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("SLA policy"),
    )
    # The reasons as they read at filing (kept for tickets filed before the codes) and as
    # codes with parameters (contracts.reasons), shown in each reader's language.
    entitlement_reasons = models.TextField(_("entitlement"), blank=True)
    entitlement_reason_codes = models.JSONField(_("entitlement reasons"), default=list, blank=True)
    received_at = models.DateTimeField(_("received"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Set once, by tickets.links.services.ticket_merge: the ticket this duplicate was merged into.
    # Its reference keeps working and leads there (tickets.views, tickets.portal.views).
    merged_into = models.ForeignKey(
        "self",
        # RESTRICT, not PROTECT: the target cannot be deleted alone (its duplicates would lead
        # nowhere), but a tenant's deletion takes both.
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
    )

    # Set once, by tickets.major.services.ticket_declare_major_incident (with a MAJOR_DECLARED
    # event): the tickets linked to it as "caused by" are its children, and one status update
    # is posted to all of them at once (tickets.major.services.major_incident_update).
    major_incident_at = models.DateTimeField(
        _("declared a major incident"), null=True, blank=True, editable=False
    )
    major_incident_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="+",
        verbose_name=_("declared by"),
    )

    # Set by tickets.problems.services.problem_link / problem_unlink (with a PROBLEM_LINKED /
    # PROBLEM_UNLINKED event): the problem whose root cause this incident is one case of.
    problem = models.ForeignKey(
        "Problem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="incidents",
        verbose_name=_("problem"),
    )

    objects = ScopedManager(tenant="tenant", _manager_class=TicketManager)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_unique_number"),
            models.UniqueConstraint(fields=["tenant", "reference"], name="ticket_unique_reference"),
        ]
        indexes = [
            # "Mine": an agent's tickets being worked on, then ordered by their schedule.
            models.Index(
                fields=["tenant", "assignee", "id"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="ticket_assignee_active",
            ),
            models.Index(fields=["tenant", "status", "id"], name="ticket_status"),
            models.Index(fields=["tenant", "requester"], name="ticket_requester"),
            models.Index(fields=["tenant", "organisation", "id"], name="ticket_organisation"),
            # The queue's sortable columns (tickets.queue.SORTS), each walked as a keyset from
            # (value, id); "reference" walks ticket_unique_number and "due" the schedule's.
            models.Index(fields=["tenant", "priority", "id"], name="ticket_priority"),
            models.Index(fields=["tenant", "received_at", "id"], name="ticket_received"),
            models.Index(fields=["tenant", "updated_at", "id"], name="ticket_updated"),
        ]

    @property
    def entitlement_explained(self) -> str:
        """Why the ticket is allowed, billable and under its policy, in the active language
        (the text stored at filing for tickets older than the reason codes)."""
        reasons = reasons_from_json(self.entitlement_reason_codes)
        return reasons_text(reasons) if reasons else self.entitlement_reasons

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def vendor_words(self) -> str:
        """The vendor escalation as a plain sentence for the customer ("" when none)."""
        reference = self.vendor_reference
        if self.vendor_state == VendorState.ESCALATED:
            return _("We have reported this to the vendor (their reference: %(ref)s).") % {
                "ref": reference
            }
        if self.vendor_state == VendorState.WAITING:
            return _(
                "We are waiting on the vendor (their reference: %(ref)s) and will keep you "
                "informed."
            ) % {"ref": reference}
        if self.vendor_state == VendorState.FIXED:
            return _("The vendor has fixed the problem (their reference: %(ref)s).") % {
                "ref": reference
            }
        return ""

    @property
    def is_major_incident(self) -> bool:
        return self.major_incident_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    def _schedule(self) -> TicketSchedule | None:
        try:
            return self.schedule  # type: ignore[no-any-return]
        except TicketSchedule.DoesNotExist:
            return None

    @property
    def next_due_at(self) -> dt.datetime | None:
        """The nearest due time of the ticket's running clocks (None: nothing due)."""
        schedule = self._schedule()
        return schedule.due_at if schedule else None

    @property
    def next_due_calendar_id(self) -> int | None:
        """The calendar that due time counts in."""
        schedule = self._schedule()
        return schedule.calendar_id if schedule else None

    @property
    def next_alert_at(self) -> dt.datetime | None:
        """The earliest threshold of the ticket's clocks still to act on."""
        schedule = self._schedule()
        return schedule.alert_at if schedule else None

    def is_participant(self, contact: Contact) -> bool:
        """Requester or copied (whoever writes on a ticket is copied on it)."""
        if contact.pk == self.requester_id:
            return True
        return self.cc.filter(pk=contact.pk).exists()

    def clock(self, metric: str) -> Clock | None:
        # From the prefetched clocks when the caller prefetched them (a ticket has two or three).
        return next((c for c in self.clocks.all() if c.metric == metric), None)

    def due_of(self, metric: str) -> dt.datetime | None:
        """When ``metric``'s target falls due; None when no promise applies, the clock is
        paused, stopped, or has not started."""
        clock = self.clock(metric)
        if clock is None or clock.state != ClockState.RUNNING:
            return None
        return clock.due_at

    def first_response_due(self) -> dt.datetime | None:
        """When the first response is due, for "you will hear from us by ..."."""
        return self.due_of(Metric.FIRST_RESPONSE)

    def resolution_due(self) -> dt.datetime | None:
        return self.due_of(Metric.RESOLUTION)

    def next_reply_due(self) -> dt.datetime | None:
        """When the customer's oldest unanswered message must be answered."""
        return self.due_of(Metric.NEXT_REPLY)

    @property
    def satisfaction_rating(self) -> SatisfactionRating | None:
        """The customer's answer to "How did we do?", if any (one per ticket)."""
        try:
            return self.satisfaction  # type: ignore[no-any-return]
        except SatisfactionRating.DoesNotExist:
            return None

    def timeline(self, *, public_only: bool = False) -> models.QuerySet[TicketEvent]:
        """The event log, oldest first, with what each row shows; customers get the public part.

        Includes the events of merged duplicates that carry a message now on this ticket, so
        moved messages appear in time order among this ticket's own."""
        moved = Message.objects.filter(ticket=self).exclude(merged_from="").values("pk")
        events = (
            TicketEvent.objects.filter(Q(ticket=self) | Q(message__in=moved))
            .select_related("actor", "actor_contact", "message")
            .prefetch_related("message__attachments")
        )
        if public_only:
            events = events.filter(is_public=True)
        return events.order_by("at", "id")


_BLOCK_TAG = re.compile(r"<(p|br|div|ul|ol|li|blockquote|pre|h\d|hr)\b", re.I)


class Message(TenantOwned):
    """A public reply or an internal note; ``body`` is stored sanitised HTML, or, for a
    plain-text e-mail, as the customer wrote it (``is_plain_text``, escaped when shown)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    author_contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("author (contact)"),
    )
    body = models.TextField(_("message"))
    is_plain_text = models.BooleanField(_("plain text"), default=False)
    is_public = models.BooleanField(_("public"), default=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    email_message_id = models.CharField(_("e-mail Message-ID"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    # The reference of the duplicate this message was written on, when a merge moved it here.
    merged_from = models.CharField(_("merged from"), max_length=24, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "email_message_id"], name="message_email_id"),
            models.Index(fields=["tenant", "ticket", "created_at"], name="message_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"

    @property
    def author_name(self) -> str:
        if self.author_contact_id is not None and self.author_contact is not None:
            return self.author_contact.name
        return str(self.author) if self.author is not None else str(_("System"))

    def body_html(self) -> SafeString:
        """The stored (already sanitised) body with its line breaks kept."""
        if self.is_plain_text:
            return mark_safe(linebreaks(self.body, autoescape=True))  # noqa: S308 - escaped
        if _BLOCK_TAG.search(self.body):
            # Markup with its own blocks (a rich reply's list or quote without a paragraph
            # included): adding <br> between its tags would break it.
            return mark_safe(self.body)  # noqa: S308 - sanitised by nh3 when stored
        return mark_safe(linebreaks(mark_safe(self.body)))  # noqa: S308 - sanitised when stored

    def body_text(self) -> str:
        """The body as plain text (for text files and mails)."""
        if self.is_plain_text:
            return self.body
        return html.unescape(strip_tags(self.body))

    def plain_text(self) -> str:
        """The body as plain text with its paragraphs and line breaks (mails, the downloadable
        history; :meth:`body_text` only strips the tags). Bodies are stored
        sanitized: HTML, or text whose line breaks are the only structure (and whose ``&``
        is ``&amp;``)."""
        body = self.body
        if self.is_plain_text:
            return body
        if not _BLOCK_TAG.search(body):
            paragraphs = re.split(r"\n\s*\n", body.strip())
            body = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
        return html_to_text(body)


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_MESSAGE = 10
ALLOWED_ATTACHMENT_EXTENSIONS = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".txt", ".log", ".csv",
        ".json", ".xml", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt",
        ".ods", ".zip", ".eml", ".msg",
    }
)  # fmt: skip


def attachment_path(instance: Attachment, filename: str) -> str:
    """Per tenant and ticket, with a random part so names never collide or get guessed."""
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"attachments/{instance.tenant_id}/{instance.ticket_id}/{secrets.token_hex(16)}{ext}"


class Attachment(TenantOwned):
    """A file sent with a message; stored through Django's storage API."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def preview(self) -> str:
        """How the timelines preview the file: ``"image"`` (a thumbnail), ``"pdf"`` (opened in
        the browser) or ``""`` (a download link only). ``content_type`` is what the bytes showed
        when the file was stored (files stored before that keep the type their sender
        claimed: the preview view sniffs again, so a false claim gets a download, never an
        inline page)."""
        if self.content_type in IMAGE_TYPES:
            return "image"
        return "pdf" if self.content_type == "application/pdf" else ""


class TimeEntry(TenantOwned):
    """Time an agent spent on a ticket, billable or not."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="time_entries")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    minutes = models.PositiveIntegerField(_("minutes"))
    billable = models.BooleanField(_("billable"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    work_date = models.DateField(_("date"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["work_date", "id"]
        verbose_name_plural = _("time entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=24 * 60), name="timeentry_minutes_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min"


class QuoteStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Quote(TenantOwned):
    """An offer for out-of-scope work beyond the plan's quote-free hours, made by an agent
    and accepted or declined by the customer. An accepted quote adds its hours to the billable
    time allowed on the ticket; one without hours (a fixed price) lifts the cap altogether
    (``tickets.quotes.rules``)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="quotes")
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=2, null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, null=True, blank=True)
    text = models.TextField(_("description"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    decided_by = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(status="proposed"),
                name="quote_one_proposed_per_ticket",
                violation_error_message=_(
                    "This ticket already has a quote waiting for the customer."
                ),
            ),
            models.CheckConstraint(
                condition=Q(hours__isnull=False) | Q(price__isnull=False),
                name="quote_hours_or_price",
            ),
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gt=0), name="quote_hours_positive"
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="quote_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def summary(self) -> str:
        """The offer in words: "3 h, 4500.00" / "3 h" / "4500.00"."""
        parts = []
        if self.hours is not None:
            parts.append(f"{self.hours.normalize():f} h")
        if self.price is not None:
            parts.append(f"{self.price:.2f}")
        return ", ".join(parts)


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KNOWN_ERROR = "known_error", _("Known error")
    RESOLVED = "resolved", _("Resolved")


class Problem(TenantOwned):
    """The underlying cause of one or more incidents (ITIL problem management). Incidents
    point at it (``Ticket.problem``, at most one each); written by
    :mod:`tickets.problems.services` only. A known error is a problem whose root cause and
    workaround are known; resolving it is the permanent fix."""

    number = models.PositiveIntegerField(_("number"), editable=False)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    root_cause = models.TextField(_("root cause"), max_length=10_000, blank=True)
    workaround = models.TextField(
        _("workaround"),
        max_length=10_000,
        blank=True,
        help_text=_("Shown on every linked incident, so agents can help while it is open."),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
        help_text=_("Empty: incidents of any organisation may be linked."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="problem_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        """ "PRB-7": a problem's number, apart from the tickets' own numbers."""
        return f"PRB-{self.number}"

    @property
    def is_resolved(self) -> bool:
        return self.status == ProblemStatus.RESOLVED


class TicketSchedule(TenantOwned):
    """When a ticket is next due and next acted on, derived from its clocks by ``sla.services``.

    A narrow row of its own, one per ticket: the queue's keyset index and the breach sweep's
    index live here, so a calendar edit that moves the due times of 100,000 tickets rewrites
    100,000 small rows with three small indexes, and never a ticket row with its dozen.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="schedule"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The nearest due time of the running clocks: only a ticket being worked on has one.
    due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    calendar = models.ForeignKey(
        Calendar, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # The earliest threshold of the clocks still to act on.
    alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The queue: nearest due first, keyset from (due_at, ticket).
            models.Index(
                fields=["tenant", "due_at", "ticket"],
                condition=Q(due_at__isnull=False),
                name="schedule_queue",
            ),
            # After the dated tickets, the undated ones (waiting on the customer, no SLA,
            # and with "all statuses" the closed ones), by id.
            models.Index(
                fields=["tenant", "ticket"],
                condition=Q(due_at__isnull=True),
                name="schedule_undated",
            ),
            # The breach sweep crosses tenants deliberately: one range scan over all of them.
            models.Index(
                fields=["alert_at"], condition=Q(alert_at__isnull=False), name="schedule_alert"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.due_at}"


class EventKind(models.TextChoices):
    CREATED = "created", _("Ticket received")
    STATUS_CHANGED = "status", _("Status changed")
    PRIORITY_CHANGED = "priority", _("Priority changed")
    ASSIGNED = "assigned", _("Assignee changed")
    LINE_CHANGED = "line", _("Support line changed")
    CONVERTED = "converted", _("Converted")
    REPLIED = "replied", _("Replied")
    NOTE_ADDED = "note", _("Internal note")
    TIME_LOGGED = "time", _("Time logged")
    VENDOR_REFERENCE = "vendor", _("Vendor reference")
    VENDOR_STATE = "vendor_state", _("Vendor escalation")
    BILLABLE_CHANGED = "billable", _("Billing changed")
    SLA_POLICY_CHANGED = "sla_policy", _("SLA policy changed")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    ESCALATED = "escalated", _("Escalated")
    LINKED = "linked", _("Linked")
    UNLINKED = "unlinked", _("Link removed")
    MERGED = "merged", _("Merged into another ticket")
    MERGED_IN = "merged_in", _("Ticket merged in")
    BILLING_ACCEPTED = "billing_ok", _("Charge accepted")
    BILLING_DECLINED = "billing_no", _("Charge declined")
    RATED = "rated", _("Satisfaction rated")
    RATING_COMMENTED = "rating_comment", _("Satisfaction comment")
    ROUTED = "routed", _("Routed by rule")
    CC_ADDED = "cc_added", _("Copied")
    CC_REMOVED = "cc_removed", _("No longer copied")
    FOLLOWED = "followed", _("Followed")
    UNFOLLOWED = "unfollowed", _("No longer followed")
    QUOTE_PROPOSED = "quote_proposed", _("Quote proposed")
    QUOTE_ACCEPTED = "quote_accepted", _("Quote accepted")
    QUOTE_DECLINED = "quote_declined", _("Quote declined")
    MAJOR_DECLARED = "major_declared", _("Declared a major incident")
    MAJOR_UPDATE = "major_update", _("Major incident update")
    MAJOR_ENDED = "major_ended", _("Major incident ended")
    PROBLEM_LINKED = "problem_linked", _("Linked to a problem")
    PROBLEM_UNLINKED = "problem_unlink", _("Unlinked from a problem")
    REVIEW_OPENED = "review_opened", _("Post-incident review opened")
    REVIEW_DONE = "review_done", _("Post-incident review done")
    REVIEW_DUE_MOVED = "review_due", _("Post-incident review due time moved")


class ImmutableQuerySet(models.QuerySet["TicketEvent"]):
    """Events are history: no bulk update or delete through the ORM."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("ticket events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("ticket events are append-only")


class ImmutableManager(models.Manager["TicketEvent"]):
    def get_queryset(self) -> ImmutableQuerySet:
        return ImmutableQuerySet(self.model, using=self._db)


class TicketEvent(TenantOwned):
    """One change to a ticket: who, when, through which channel, old -> new. Append-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_staff = models.BooleanField(default=False)
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    old_value = models.CharField(_("from"), max_length=300, blank=True)
    new_value = models.CharField(_("to"), max_length=300, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    is_public = models.BooleanField(
        default=True, help_text=_("Shown to the customer in their copy of the history.")
    )
    data = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant", _manager_class=ImmutableManager)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["tenant", "ticket", "at"], name="ticketevent_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.old_value} -> {self.new_value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("ticket events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("ticket events are append-only")

    @property
    def actor_name(self) -> str:
        if self.actor_contact is not None:
            return self.actor_contact.name
        if self.actor is not None:
            return str(self.actor)
        return str(_("System"))


class LinkKind(models.TextChoices):
    """How two tickets relate; the label reads from the link's source ticket."""

    RELATED = "related", _("related to")
    DUPLICATE = "duplicate", _("duplicate of")
    CAUSED_BY = "caused_by", _("caused by")


LINK_REVERSE_LABELS = {
    LinkKind.RELATED: _("related to"),
    LinkKind.DUPLICATE: _("has duplicate"),
    LinkKind.CAUSED_BY: _("causes"),
}
"""How a link reads from its target ticket ("TA-1002 has duplicate TA-1001")."""


def link_label(kind: str, *, outgoing: bool) -> str:
    """A link kind in the reader's language, from its source (``outgoing``) or its target."""
    if outgoing:
        return str(LinkKind(kind).label)
    return str(LINK_REVERSE_LABELS[LinkKind(kind)])


@dataclass(frozen=True)
class LinkRow:
    """One link as a ticket's page shows it: the wording from that side and the other ticket."""

    link: TicketLink
    label: str
    other: Ticket


class TicketLinkManager(models.Manager["TicketLink"]):
    def of_ticket(self, ticket: Ticket) -> models.QuerySet[TicketLink]:
        """Links from and to ``ticket``, with both tickets (one query however many)."""
        return (
            self.get_queryset()
            .filter(Q(source_id=ticket.pk) | Q(target_id=ticket.pk))
            .select_related("source", "target")
            .order_by("created_at", "id")
        )

    def rows_for(self, ticket: Ticket) -> list[LinkRow]:
        return [
            LinkRow(link=link, label=link.label_from(ticket), other=link.other(ticket))
            for link in self.of_ticket(ticket)
        ]


class TicketLink(TenantOwned):
    """``source`` is ``kind`` ``target``: TA-1001 duplicate of TA-1002. Written by
    :func:`tickets.links.services.ticket_link` and
    :func:`tickets.links.services.ticket_merge`; one link per pair of tickets and kind,
    whichever way round."""

    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(_("kind"), max_length=12, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ScopedManager(tenant="tenant", _manager_class=TicketLinkManager)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                Least("source", "target"),
                Greatest("source", "target"),
                "kind",
                name="ticketlink_unique_pair_kind",
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="ticketlink_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"

    def label_from(self, ticket: Ticket) -> str:
        """The wording seen from ``ticket``'s page."""
        return link_label(self.kind, outgoing=ticket.pk == self.source_id)

    def other(self, ticket: Ticket) -> Ticket:
        return self.target if ticket.pk == self.source_id else self.source


class AgentProfile(TenantOwned):
    """An agent's place in the tenant's support organisation (for the "my line" filter)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profiles"
    )
    support_line = models.PositiveSmallIntegerField(
        _("support line"), choices=SupportLine.choices, default=SupportLine.FIRST
    )
    # The queue's columns this agent chose (tickets.queue.COLUMNS); empty: the default set.
    queue_columns = models.JSONField(_("queue columns"), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="agentprofile_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_support_line_display()})"


class MacroQuerySet(models.QuerySet["Macro"]):
    def usable_by(self, user: Any) -> MacroQuerySet:
        """The tenant's shared macros and ``user``'s own personal ones."""
        return self.filter(Q(owner__isnull=True) | Q(owner=user))

    def matching(self, query: str) -> MacroQuerySet:
        """Those whose name contains ``query``, most used first (the reply box's dropdown)."""
        return self.filter(name__icontains=query.strip()[:100]).order_by(
            "-usage_count", "name", "id"
        )


class MacroManager(models.Manager["Macro"]):
    def get_queryset(self) -> MacroQuerySet:
        return MacroQuerySet(self.model, using=self._db)

    def usable_by(self, user: Any) -> MacroQuerySet:
        return self.get_queryset().usable_by(user)


class Macro(TenantOwned):
    """A saved reply with optional actions, applied from the agent's reply box.

    ``body`` and ``note`` are Django template text rendered by
    :mod:`tickets.macros.sandbox` with plain values only; shared by the tenant (``owner``
    empty, admins manage it) or one agent's own. Applying it goes through
    :func:`tickets.macros.services.ticket_reply_with_macro`.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the tenant-leading macro_owner index serves it
        verbose_name=_("owner"),
        help_text=_("Empty: shared with every agent of the organisation."),
    )
    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("reply text"), max_length=5000)
    set_status = models.CharField(
        _("set status"), max_length=10, choices=Status.choices, blank=True
    )
    set_priority = models.ForeignKey(
        Priority,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set priority"),
    )
    set_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to"),
    )
    assign_to_me = models.BooleanField(_("assign to the agent who uses it"), default=False)
    set_support_line = models.PositiveSmallIntegerField(
        _("move to support line"), choices=SupportLine.choices, null=True, blank=True
    )
    note = models.TextField(
        _("internal note"),
        max_length=5000,
        blank=True,
        help_text=_("Added as an internal note when the macro is used; the same variables work."),
    )
    usage_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopedManager(tenant="tenant", _manager_class=MacroManager)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        indexes = [models.Index(fields=["tenant", "owner"], name="macro_owner")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def action_labels(self) -> list[str]:
        """What using it does besides the reply, in words ("Status: Solved")."""
        pairs: list[tuple[Any, Any]] = []
        if self.set_status:
            pairs.append((_("Status"), self.get_set_status_display()))
        if self.set_priority_id is not None and self.set_priority is not None:
            pairs.append((_("Priority"), self.set_priority))
        if self.assign_to_me:
            pairs.append((_("Assignee"), _("the agent who uses it")))
        elif self.set_assignee_id is not None and self.set_assignee is not None:
            pairs.append((_("Assignee"), self.set_assignee))
        if self.set_support_line:
            pairs.append((_("Support line"), self.get_set_support_line_display()))
        labels = [f"{label}: {value}" for label, value in pairs]
        if self.note.strip():
            labels.append(str(_("Internal note")))
        return labels


class SatisfactionRating(TenantOwned):
    """The customer's answer to "How did we do?" about a solved ticket: one per ticket.

    Written by :func:`tickets.satisfaction.services.satisfaction_rate`; a later answer (the
    other link, or the question asked again after the ticket was reopened and solved again)
    replaces the row, and each answer is an event on the ticket's timeline.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="satisfaction", verbose_name=_("ticket")
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # only a rare contact delete follows it
        verbose_name=_("rated by"),
    )
    rating = models.CharField(_("rating"), max_length=8, choices=Rating.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    rated_at = models.DateTimeField(_("rated"), default=timezone.now)

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.rating}"

    @property
    def is_good(self) -> bool:
        return self.rating == Rating.GOOD


class QueueViewQuerySet(models.QuerySet["QueueView"]):
    def usable_by(self, user: Any) -> QueueViewQuerySet:
        """The tenant's shared views and ``user``'s own, shared first, by name."""
        return self.filter(Q(owner__isnull=True) | Q(owner=user)).order_by(
            models.F("owner").asc(nulls_first=True), "name", "id"
        )


class QueueViewManager(models.Manager["QueueView"]):
    def get_queryset(self) -> QueueViewQuerySet:
        return QueueViewQuerySet(self.model, using=self._db)


class QueueView(TenantOwned):
    """A saved queue: the filter parameters :class:`tickets.queue.QueueFilters` reads, a sort
    and the columns shown. Shared by the tenant (``owner`` empty, admins save and delete it)
    or one agent's own. Written through :mod:`tickets.services` (``queue_view_create``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the tenant-leading queueview_owner index serves it
        verbose_name=_("owner"),
        help_text=_("Empty: shared with every agent of the organisation."),
    )
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    sort = models.CharField(_("sort"), max_length=20, default="due")
    columns = models.JSONField(_("columns"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopedManager(tenant="tenant", _manager_class=QueueViewManager)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("queue view")
        verbose_name_plural = _("queue views")
        indexes = [models.Index(fields=["tenant", "owner"], name="queueview_owner")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class NotifyRole(models.TextChoices):
    """The people on an organisation's account a routing rule can notify; each value names
    the :class:`~contracts.models.Organisation` field that holds that person."""

    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    CUSTOMER_SUCCESS_MANAGER = "customer_success_manager", _("Customer Success Manager")
    PROJECT_MANAGER = "project_manager", _("Project manager (while the project runs)")
    SERVICE_OWNER = "service_owner", _("Service owner")


def _validate_notify_roles(value: Any) -> None:
    if not isinstance(value, list) or any(v not in NotifyRole.values for v in value):
        raise ValidationError(
            _("Choose among: %(roles)s.") % {"roles": ", ".join(NotifyRole.values)}
        )


class RoutingRule(TenantOwned):
    """Where a new ticket goes: conditions (each optional; all given must match) and actions.

    Applied once, when a ticket is filed (:func:`tickets.routing.services.ticket_route`):
    the first matching rule, by ``position``, that assigns (a person and/or a support line)
    decides the assignment; the notifications of every matching rule apply. Written through
    :mod:`tickets.routing.services`.
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("organisation"),
        help_text=_("Empty: any organisation."),
    )
    plan = models.ForeignKey(
        SupportPlan,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("plan"),
        help_text=_("The plan in force when the ticket is filed. Empty: any plan."),
    )
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, blank=True, default=""
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, blank=True, default=""
    )
    priority = models.ForeignKey(
        Priority,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("priority"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("assign to"),
    )
    support_line = models.PositiveSmallIntegerField(
        _("support line"), choices=SupportLine.choices, null=True, blank=True
    )
    notify_roles = models.JSONField(
        _("notify"),
        default=list,
        blank=True,
        validators=[_validate_notify_roles],
        help_text=_("People on the organisation's account to tell about the new ticket."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        indexes = [models.Index(fields=["tenant", "position"], name="routingrule_position")]

    def __str__(self) -> str:
        return self.name

    @property
    def assigns(self) -> bool:
        return self.assignee_id is not None or self.support_line is not None

    def matches(
        self,
        *,
        organisation_id: int | None,
        plan_id: int | None,
        category: str,
        channel: str,
        priority_id: int | None,
    ) -> bool:
        """Whether every condition the rule gives holds for the ticket being filed."""
        return (
            (self.organisation_id is None or self.organisation_id == organisation_id)
            and (self.plan_id is None or self.plan_id == plan_id)
            and (not self.category or self.category == category)
            and (not self.channel or self.channel == channel)
            and (self.priority_id is None or self.priority_id == priority_id)
        )

    def condition_labels(self) -> list[str]:
        """The conditions in words ("Plan: Enterprise"); empty means every ticket."""
        pairs: list[tuple[Any, Any]] = []
        if self.organisation_id is not None:
            pairs.append((_("Organisation"), self.organisation))
        if self.plan_id is not None:
            pairs.append((_("Plan"), self.plan))
        if self.category:
            pairs.append((_("Category"), self.get_category_display()))
        if self.channel:
            pairs.append((_("Channel"), self.get_channel_display()))
        if self.priority_id is not None:
            pairs.append((_("Priority"), self.priority))
        return [f"{label}: {value}" for label, value in pairs]

    def action_labels(self) -> list[str]:
        """What the rule does, in words ("Assign to: Anna", "Notify: Account manager")."""
        labels = []
        if self.assignee_id is not None:
            labels.append(f"{_('Assign to')}: {self.assignee}")
        if self.support_line is not None:
            labels.append(f"{_('Support line')}: {self.get_support_line_display()}")
        roles = dict(NotifyRole.choices)
        if self.notify_roles:
            names = ", ".join(str(roles.get(r, r)) for r in self.notify_roles)
            labels.append(f"{_('Notify')}: {names}")
        return labels


# --------------------------------------------------------------------------------------------
# Post-incident reviews (issue #15 item 2; tickets/reviews/ holds their services and pages)
# --------------------------------------------------------------------------------------------


class ReviewPolicy(TenantOwned):
    """The tenant's rule for post-incident reviews: which priorities get one when their
    ticket is closed, and within how many working days of the SLA calendar it is due."""

    priorities = models.ManyToManyField(
        Priority,
        blank=True,
        related_name="+",
        verbose_name=_("priorities that need a review"),
        help_text=_("A closed ticket of one of these priorities gets a post-incident review."),
    )
    due_working_days = models.PositiveSmallIntegerField(
        _("working days to finish a review"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_(
            "Counted on the ticket's SLA calendar from the close (1 to 60); the assignee is "
            "warned on the last working day."
        ),
    )

    class Meta:
        verbose_name = _("post-incident review rule")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="reviewpolicy_one_per_tenant")
        ]

    def __str__(self) -> str:
        return str(_("Post-incident reviews"))


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    DONE = "done", _("Done")


class ReviewQuerySet(models.QuerySet["PostIncidentReview"]):
    def overdue(self, now: dt.datetime) -> ReviewQuerySet:
        """Reviews still in draft past their due time."""
        return self.filter(status=ReviewStatus.DRAFT, due_at__lt=now)


class ReviewManager(models.Manager["PostIncidentReview"]):
    def get_queryset(self) -> ReviewQuerySet:
        return ReviewQuerySet(self.model, using=self._db)


class PostIncidentReview(TenantOwned):
    """The post-incident review (PIR) of one closed ticket: what the impact was, what
    happened when, the root cause and the actions taken, due within the tenant's working
    days. The customer reads it on their ticket once an agent shares it."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="review", verbose_name=_("ticket")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )
    due_at = models.DateTimeField(_("due"))
    warn_at = models.DateTimeField(_("warn from"))
    warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    impact = models.TextField(_("impact"), blank=True, max_length=5000)
    timeline = models.TextField(_("timeline"), blank=True, max_length=20000)
    root_cause = models.TextField(_("root cause"), blank=True, max_length=5000)
    shared_with_customer = models.BooleanField(_("shared with the customer"), default=False)
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    objects = ScopedManager(tenant="tenant", _manager_class=ReviewManager)

    class Meta:
        verbose_name = _("post-incident review")
        verbose_name_plural = _("post-incident reviews")
        indexes = [
            models.Index(fields=["tenant", "status", "due_at"], name="review_due"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.status}"

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.status == ReviewStatus.DRAFT and self.due_at < (now or timezone.now())


class ReviewAction(TenantOwned):
    """One follow-up action of a review: what, whose, by when."""

    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due date"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("review action")

    def __str__(self) -> str:
        return self.description
