from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import RequestType
from sla.models import Priority
from tickets.api.serializers import (
    ContactSummarySerializer,
    SatisfactionSerializer,
    request_type_of,
)
from tickets.choices import Category
from tickets.followers.services import copied_contacts
from tickets.models import Message, PostIncidentReview, ReviewAction, Ticket
from tickets.reviews.services import shared_review

from ..access import merged_target_for_contact


class PortalTicketSerializer(serializers.ModelSerializer[Ticket]):
    priority = serializers.CharField(source="priority.key", allow_null=True, default=None)
    requester = serializers.CharField(source="requester.name")
    status_label = serializers.CharField(source="get_status_display")
    request_type = serializers.CharField(
        source="request_type.name",
        allow_null=True,
        default=None,
        read_only=True,
        help_text="The type of request you filed (its name), from your plan's table; null "
        "when filed by category.",
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "status_label",
            "category",
            "request_type",
            "priority",
            "channel",
            "requester",
            "received_at",
            "next_due_at",
        ]


class PortalMessageSerializer(serializers.ModelSerializer[Message]):
    author = serializers.CharField(source="author_name")

    class Meta:
        model = Message
        fields = ["id", "author", "body", "is_plain_text", "created_at"]


class PortalReviewActionSerializer(serializers.ModelSerializer[ReviewAction]):
    class Meta:
        model = ReviewAction
        fields = ["description", "due_on"]


class PortalReviewSerializer(serializers.ModelSerializer[PostIncidentReview]):
    """A post-incident review as the customer reads it: what happened and what will be done
    (not who on the desk owns each action)."""

    actions = PortalReviewActionSerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = ["status", "done_at", "impact", "timeline", "root_cause", "actions"]


class PortalTicketDetailSerializer(PortalTicketSerializer):
    description = serializers.CharField()
    first_response_due = serializers.DateTimeField(allow_null=True)
    resolution_due = serializers.DateTimeField(allow_null=True)
    next_reply_due = serializers.DateTimeField(
        allow_null=True,
        help_text="When your oldest unanswered message will be answered, while that "
        "promise runs; null otherwise.",
    )
    messages = serializers.SerializerMethodField()
    merged = serializers.BooleanField(source="is_merged", read_only=True)
    merged_into = serializers.SerializerMethodField(
        help_text="The id of the ticket this one was merged into, when you may see it; "
        "null otherwise (also when ``merged`` is true and that ticket is not yours to see)."
    )
    satisfaction = SatisfactionSerializer(
        source="satisfaction_rating",
        read_only=True,
        allow_null=True,
        help_text="Your rating of how we did, once the ticket is solved; null until rated.",
    )
    cc = serializers.SerializerMethodField(
        help_text="Your colleagues copied on the ticket: they get its public replies (change "
        "them with the cc and cc-remove actions)."
    )
    review = serializers.SerializerMethodField(
        help_text="The post-incident review of this closed ticket, once the desk shares it "
        "with you; null otherwise."
    )

    class Meta(PortalTicketSerializer.Meta):
        fields = [
            *PortalTicketSerializer.Meta.fields,
            "description",
            "first_response_due",
            "resolution_due",
            "next_reply_due",
            "messages",
            "merged",
            "merged_into",
            "satisfaction",
            "cc",
            "review",
        ]

    @extend_schema_field(ContactSummarySerializer(many=True))
    @extend_schema_field(PortalReviewSerializer(allow_null=True))
    def get_review(self, ticket: Ticket) -> dict[str, Any] | None:
        review = shared_review(ticket=ticket)
        return PortalReviewSerializer(review).data if review is not None else None

    def get_cc(self, ticket: Ticket) -> list[dict[str, Any]]:
        return ContactSummarySerializer(copied_contacts(ticket=ticket), many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_merged_into(self, ticket: Ticket) -> int | None:
        request = self.context.get("request")
        if ticket.merged_into_id is None or request is None:
            return None
        target = merged_target_for_contact(request._request, ticket)
        return target.pk if target is not None else None

    def get_messages(self, ticket: Ticket) -> list[dict[str, Any]]:
        public = ticket.messages.filter(is_public=True).select_related("author", "author_contact")
        return PortalMessageSerializer(public.order_by("created_at", "id"), many=True).data  # type: ignore[return-value]


class PortalTicketCreateSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices, default=Category.QUESTION)
    priority = serializers.CharField(
        required=False, allow_blank=True, help_text="The tenant's priority key, e.g. P2."
    )
    request_type = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The type of request (id) from your plan's scope table; when the plan has "
        "one, it decides the category and whether the request is billed.",
    )
    accepted_billable = serializers.BooleanField(
        default=False, help_text="Accept the charge when the request is billable."
    )

    def validate_request_type(self, value: int | None) -> RequestType | None:
        return request_type_of(value)

    def validate_priority(self, value: str) -> Priority | None:
        if not value:
            return None
        priority = Priority.objects.filter(key=value).first()
        if priority is None:
            raise serializers.ValidationError(f"Unknown priority {value!r}.")
        return priority


class PortalReplySerializer(serializers.Serializer[Any]):
    body = serializers.CharField()
