"""API shapes of tickets. Serializers parse and present; services decide."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import Contact, RequestType
from sla.explanations import clock_explain
from sla.models import Clock, Priority
from supportdesk.api import MAX_ID
from supportdesk.models import User

from ..choices import Category, Channel, Status, SupportLine, VendorState
from ..followers.services import copied_contacts, internal_followers
from ..forms import agents
from ..models import (
    Attachment,
    LinkKind,
    Message,
    Quote,
    SatisfactionRating,
    Ticket,
    TicketEvent,
    TicketLink,
    TimeEntry,
)
from ..queue import queue_attach, urgency


def request_type_of(value: int | None) -> RequestType | None:
    """The request type of the tenant in scope with this id; another tenant's is unknown."""
    if value is None:
        return None
    found = (
        RequestType.objects.filter(pk=value, is_active=True).first() if value <= MAX_ID else None
    )
    if found is None:
        raise serializers.ValidationError(_("Unknown request type."))
    return found


class PrioritySummarySerializer(serializers.ModelSerializer[Priority]):
    class Meta:
        model = Priority
        fields = ["id", "key", "name", "rank"]


class PersonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ContactSummarySerializer(serializers.ModelSerializer[Contact]):
    class Meta:
        model = Contact
        fields = ["id", "name", "email"]


class FollowerSerializer(serializers.ModelSerializer[User]):
    """An agent or admin following a ticket."""

    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "name", "email"]


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": str(user)}


def _iso(moment: Any) -> str | None:
    """The way DRF writes datetimes (UTC with a Z)."""
    return None if moment is None else serializers.DateTimeField().to_representation(moment)


class QueueTicketSerializer(serializers.ModelSerializer[Ticket]):
    """One queue row: everything comes from the row and its select_related joins."""

    priority = PrioritySummarySerializer(allow_null=True)
    requester = ContactSummarySerializer()
    organisation = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    urgency = serializers.SerializerMethodField()
    business_seconds_left = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "category",
            "channel",
            "priority",
            "requester",
            "organisation",
            "assignee",
            "support_line",
            "next_due_at",
            "business_seconds_left",
            "urgency",
            "version",
        ]

    def _urgency(self, ticket: Ticket) -> tuple[str, float | None]:
        cache = self.context.setdefault("_urgency", {})
        if ticket.pk not in cache:
            engines = self.context.get("_engines")
            if engines is None:
                engines = self.context["_engines"] = queue_attach([ticket])
            elif ticket.next_due_calendar_id and ticket.next_due_calendar_id not in engines:
                engines.update(queue_attach([ticket]))
            cache[ticket.pk] = urgency(ticket, self.context.get("now") or timezone.now(), engines)
        return cache[ticket.pk]

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        """Built by hand: a queue page is 50-200 of these, and DRF's generic path is slow."""
        if type(self) is not QueueTicketSerializer:
            return super().to_representation(ticket)
        priority = ticket.priority
        requester = ticket.requester
        css, left = self._urgency(ticket)
        return {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.status,
            "category": ticket.category,
            "channel": ticket.channel,
            "priority": None
            if priority is None
            else {
                "id": priority.pk,
                "key": priority.key,
                "name": priority.name,
                "rank": priority.rank,
            },
            "requester": {"id": requester.pk, "name": requester.name, "email": requester.email},
            "organisation": self.get_organisation(ticket),
            "assignee": _person(ticket.assignee),
            "support_line": ticket.support_line,
            "next_due_at": _iso(ticket.next_due_at),
            "business_seconds_left": left,
            "urgency": css,
            "version": ticket.version,
        }

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_organisation(self, ticket: Ticket) -> dict[str, Any] | None:
        org = ticket.organisation
        return None if org is None else {"id": org.pk, "name": org.name}

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_assignee(self, ticket: Ticket) -> dict[str, Any] | None:
        return _person(ticket.assignee)

    @extend_schema_field(
        serializers.ChoiceField(
            choices=["urgency-breached", "urgency-soon", "urgency-ok", "urgency-none"]
        )
    )
    def get_urgency(self, ticket: Ticket) -> str:
        return self._urgency(ticket)[0]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_business_seconds_left(self, ticket: Ticket) -> float | None:
        return self._urgency(ticket)[1]


class ClockSerializer(serializers.ModelSerializer[Clock]):
    explanation = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    calendar = serializers.CharField(source="calendar.name")

    class Meta:
        model = Clock
        fields = [
            "metric",
            "state",
            "target",
            "calendar",
            "started_at",
            "due_at",
            "stopped_at",
            "breached_at",
            "met",
            "budget_seconds",
            "elapsed_seconds",
            "cycle",
            "cycles_met",
            "cycles_missed",
            "explanation",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_target(self, clock: Clock) -> str | None:
        return clock.target.describe() if clock.target else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_explanation(self, clock: Clock) -> list[str]:
        history = self.context.get("history")
        if history is None:
            return clock_explain(clock)
        initial, changes = history
        return clock_explain(clock, changes=changes, initial=initial)


class TicketRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class ProblemRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    workaround = serializers.CharField()


class SatisfactionSerializer(serializers.ModelSerializer[SatisfactionRating]):
    """The customer's answer to "How did we do?" after the ticket was solved."""

    class Meta:
        model = SatisfactionRating
        fields = ["rating", "comment", "rated_at"]


class TicketDetailSerializer(QueueTicketSerializer):
    clocks = serializers.SerializerMethodField()
    satisfaction = SatisfactionSerializer(
        source="satisfaction_rating",
        read_only=True,
        allow_null=True,
        help_text="The customer's rating (good or bad) and comment; null until rated. One per "
        "ticket: a later answer replaces an earlier one.",
    )
    sla_policy = serializers.CharField(source="sla_policy.name", allow_null=True, default=None)
    request_type = serializers.CharField(
        source="request_type.name",
        allow_null=True,
        default=None,
        read_only=True,
        help_text="The tenant's request type the ticket was filed as (its name); null when "
        "filed by category only.",
    )
    entitlement_reasons = serializers.CharField(
        source="entitlement_explained",
        read_only=True,
        help_text="Why the ticket is allowed, billable and under its SLA policy, in the "
        "request's language.",
    )
    entitlement_reason_codes = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text='The same reasons as codes with parameters ({"code": "in_scope", '
        '"params": {"category": "question", "plan": "Guld"}}); empty for tickets filed '
        "before the codes.",
    )
    merged_into = serializers.SerializerMethodField()
    cc = serializers.SerializerMethodField(
        help_text="The requester's colleagues copied on the ticket: they get its public "
        "replies (change them with the cc and cc-remove actions)."
    )
    followers = serializers.SerializerMethodField(
        help_text="Staff following the ticket: they are told of its changes (change them with "
        "the followers and followers-remove actions). Customers never see this list."
    )
    problem = serializers.SerializerMethodField(
        help_text="The problem this incident is linked to and its workaround; null if none."
    )
    major_incident_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the ticket was declared a major incident; null for any other ticket. "
        'Its children are the tickets linked to it as "caused_by" it.',
    )

    class Meta(QueueTicketSerializer.Meta):
        fields = [
            *QueueTicketSerializer.Meta.fields,
            "description",
            "vendor_reference",
            "vendor_state",
            "vendor_escalated_at",
            "billable",
            "billing_accepted",
            "request_type",
            "sla_policy",
            "entitlement_reasons",
            "entitlement_reason_codes",
            "received_at",
            "first_responded_at",
            "solved_at",
            "closed_at",
            "clocks",
            "merged_into",
            "satisfaction",
            "cc",
            "followers",
            "major_incident_at",
            "problem",
        ]

    @extend_schema_field(ProblemRefSerializer(allow_null=True))
    def get_problem(self, ticket: Ticket) -> dict[str, Any] | None:
        """The problem this incident is linked to, with its workaround (staff only)."""
        problem = ticket.problem
        if problem is None:
            return None
        return {
            "id": problem.pk,
            "reference": problem.reference,
            "title": problem.title,
            "status": problem.status,
            "workaround": problem.workaround,
        }

    @extend_schema_field(TicketRefSerializer(allow_null=True))
    def get_merged_into(self, ticket: Ticket) -> dict[str, Any] | None:
        """The ticket this duplicate was merged into: its reference leads there."""
        target = ticket.merged_into
        return None if target is None else {"id": target.pk, "reference": target.reference}

    @extend_schema_field(ContactSummarySerializer(many=True))
    def get_cc(self, ticket: Ticket) -> list[dict[str, Any]]:
        return ContactSummarySerializer(copied_contacts(ticket=ticket), many=True).data  # type: ignore[return-value]

    @extend_schema_field(FollowerSerializer(many=True))
    def get_followers(self, ticket: Ticket) -> list[dict[str, Any]]:
        return FollowerSerializer(internal_followers(ticket=ticket), many=True).data  # type: ignore[return-value]

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, ticket: Ticket) -> list[dict[str, Any]]:
        clocks = ticket.clocks.select_related("calendar", "target__policy", "target__priority")
        return ClockSerializer(clocks, many=True, context=self.context).data  # type: ignore[return-value]


class TicketLinkSerializer(serializers.Serializer[Any]):
    """A link as seen from the ticket in the URL."""

    id = serializers.IntegerField(help_text="The link's id (to remove it).")
    kind = serializers.ChoiceField(choices=LinkKind.choices, help_text="Stored kind.")
    direction = serializers.ChoiceField(
        choices=["outgoing", "incoming"],
        help_text="outgoing: this ticket is <kind> other; incoming: other is <kind> this ticket.",
    )
    wording = serializers.CharField(help_text="The wording from this ticket's side.")
    other = TicketRefSerializer()
    created_at = serializers.DateTimeField()

    @staticmethod
    def row(ticket: Ticket, link: TicketLink) -> dict[str, Any]:
        other = link.other(ticket)
        return {
            "id": link.pk,
            "kind": link.kind,
            "direction": "outgoing" if link.source_id == ticket.pk else "incoming",
            "wording": link.label_from(ticket),
            "other": {"id": other.pk, "reference": other.reference},
            "created_at": link.created_at,
        }


class LinkCreateSerializer(serializers.Serializer[Any]):
    other = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The other ticket's id (400 if unknown)."
    )
    kind = serializers.ChoiceField(choices=LinkKind.choices)


class UnlinkSerializer(serializers.Serializer[Any]):
    link = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class MergeSerializer(serializers.Serializer[Any]):
    into = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The target ticket's id (400 if unknown)."
    )


class TicketCreateSerializer(serializers.Serializer[Any]):
    requester = serializers.IntegerField(help_text="Contact id.")
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    category = serializers.ChoiceField(choices=Category.choices, default=Category.QUESTION)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.IntegerField(required=False, allow_null=True, default=None)
    request_type = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="One of the tenant's request types (id); under a plan with a scope table it "
        "decides the category and whether the request is billed.",
    )
    accepted_billable = serializers.BooleanField(default=False)

    def validate_request_type(self, value: int | None) -> RequestType | None:
        return request_type_of(value)

    def validate_requester(self, value: int) -> Contact:
        contact = Contact.objects.select_related("organisation").filter(pk=value).first()
        if contact is None:
            raise serializers.ValidationError("Unknown contact.")
        return contact

    def validate_priority(self, value: int | None) -> Priority | None:
        if value is None:
            return None
        priority = Priority.objects.filter(pk=value).first()
        if priority is None:
            raise serializers.ValidationError("Unknown priority.")
        return priority


class TicketPatchSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(help_text="The version you read; 409 if it moved on.")
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.IntegerField(required=False, allow_null=True)
    assignee = serializers.IntegerField(required=False, allow_null=True)
    support_line = serializers.ChoiceField(choices=SupportLine.choices, required=False)
    vendor_reference = serializers.CharField(required=False, allow_blank=True, max_length=200)
    vendor_state = serializers.ChoiceField(
        choices=VendorState.choices,
        required=False,
        help_text="Escalated to the vendor, waiting on it, fixed by it, or none; any state but "
        "none needs vendor_reference (given here or already on the ticket).",
    )
    billable = serializers.BooleanField(required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    request_type = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="One of the tenant's request types (id), or null to clear it. The category "
        "follows the type's; under a plan with a scope table the table decides whether it is "
        "billed, and a billed type the customer never accepted asks them first. Applied after "
        "category.",
    )

    def validate_request_type(self, value: int | None) -> RequestType | None:
        return request_type_of(value)

    def validate_priority(self, value: int | None) -> Priority | None:
        if value is None:
            return None
        priority = Priority.objects.filter(pk=value).first()
        if priority is None:
            raise serializers.ValidationError("Unknown priority.")
        return priority

    def validate_assignee(self, value: int | None) -> User | None:
        if value is None:
            return None

        user = agents().filter(pk=value).first()
        if user is None:
            raise serializers.ValidationError("Choose an agent of this organisation.")
        return user


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size"]


class MessageSerializer(serializers.ModelSerializer[Message]):
    attachments = AttachmentSerializer(many=True, read_only=True)
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = Message
        # is_plain_text: body is text as the customer wrote it (escape it), else sanitized HTML.
        fields = [
            "id", "author", "body", "is_plain_text", "is_public", "channel", "created_at",
            "attachments",
        ]  # fmt: skip


class ReplySerializer(serializers.Serializer[Any]):
    body = serializers.CharField()
    public = serializers.BooleanField(default=True)


class StatusChangeSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Status.choices)


class EventSerializer(serializers.ModelSerializer[TicketEvent]):
    actor = serializers.CharField(source="actor_name")
    message = MessageSerializer(allow_null=True)

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "kind",
            "at",
            "actor",
            "by_staff",
            "channel",
            "old_value",
            "new_value",
            "is_public",
            "message",
        ]


class TimeEntrySerializer(serializers.ModelSerializer[TimeEntry]):
    agent = serializers.CharField(source="agent.__str__", read_only=True)

    class Meta:
        model = TimeEntry
        fields = ["id", "agent", "minutes", "billable", "note", "work_date", "created_at"]
        read_only_fields = ["id", "agent", "created_at"]
        extra_kwargs = {"work_date": {"required": False}}


class QuoteSerializer(serializers.ModelSerializer[Quote]):
    """A quote for out-of-scope work and the customer's answer (who and when)."""

    proposed_by = serializers.CharField(source="proposed_by.__str__", read_only=True)
    decided_by = serializers.CharField(source="decided_by.name", read_only=True, default=None)
    summary = serializers.CharField(read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id", "hours", "price", "text", "summary", "status", "proposed_by", "proposed_at",
            "decided_by", "decided_at",
        ]  # fmt: skip
        read_only_fields = fields


class QuoteProposeSerializer(serializers.Serializer[Any]):
    """Hours and/or a price, and what the quote covers (the service checks the amounts)."""

    hours = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20)
    price = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20)
    text = serializers.CharField(max_length=2000)


class MajorUpdateSerializer(serializers.Serializer[Any]):
    """One status update, posted as a public reply on the major incident and on every ticket
    linked to it as caused by it (closed ones skipped)."""

    body = serializers.CharField(max_length=10_000)


class QuoteDecisionSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["accept", "decline"])


class BulkAssignSerializer(serializers.Serializer[Any]):
    tickets = serializers.ListField(child=serializers.IntegerField(), max_length=500)
    assignee = serializers.IntegerField(allow_null=True)

    def validate_assignee(self, value: int | None) -> User | None:
        return TicketPatchSerializer.validate_assignee(self, value)  # type: ignore[arg-type]


class CopiedContactSerializer(serializers.ModelSerializer[Contact]):
    """A contact copied on a ticket (or one of its organisation's colleagues)."""

    class Meta:
        model = Contact
        fields = ["id", "name", "email"]


class CcChangeSerializer(serializers.Serializer[Any]):
    contact = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="A contact of the ticket's own organisation; anyone else is refused.",
    )


class FollowerChangeSerializer(serializers.Serializer[Any]):
    agent = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="An agent or admin of the tenant (404 for anyone else).",
    )
