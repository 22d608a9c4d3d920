"""The post-incident review in the ticket API: ``/api/v1/tickets/<id>/review/`` (GET the review,
POST opens it, PATCH writes it), ``.../review/done/`` and ``.../review/actions/``. A mixin of
the ticket viewset, so its ``get_object()`` (the agent's access helper) fetches the ticket."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from supportdesk.http import StaffApiRequest
from supportdesk.models import User

from ..choices import Channel
from ..forms import agents
from ..models import PostIncidentReview, ReviewAction
from .services import (
    review_action_add,
    review_action_remove,
    review_done,
    review_open,
    review_save,
)


def _agent(value: int | None) -> User | None:
    if value is None:
        return None
    user = agents().filter(pk=value).first()
    if user is None:
        raise serializers.ValidationError("Choose an agent of this desk.")
    return user


class ReviewActionSerializer(serializers.ModelSerializer[ReviewAction]):
    """One follow-up action: what, whose (the agent's id), by when."""

    owner = serializers.IntegerField(
        source="owner_id", allow_null=True, required=False, help_text="An agent's id."
    )

    class Meta:
        model = ReviewAction
        fields = ["id", "description", "owner", "due_on", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"due_on": {"required": False}}

    def validate_owner(self, value: int | None) -> User | None:
        return _agent(value)


class ReviewSerializer(serializers.ModelSerializer[PostIncidentReview]):
    """A ticket's post-incident review, its actions and whether it is overdue."""

    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    assignee = serializers.IntegerField(
        source="assignee_id", allow_null=True, required=False, help_text="An agent's id."
    )
    overdue = serializers.SerializerMethodField()
    actions = ReviewActionSerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = [
            "id", "ticket", "assignee", "status", "due_at", "done_at", "created_at", "impact",
            "timeline", "root_cause", "shared_with_customer", "overdue", "actions",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "due_at", "done_at", "created_at"]

    def get_overdue(self, review: PostIncidentReview) -> bool:
        return review.is_overdue()

    def validate_assignee(self, value: int | None) -> User | None:
        return _agent(value)


class ReviewApiMixin:
    """The ticket viewset's review actions (``get_object`` is the viewset's)."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    get_object: Any

    def _review(self) -> PostIncidentReview:
        ticket = self.get_object()
        review = (
            PostIncidentReview.objects.filter(ticket=ticket)
            .select_related("ticket")
            .prefetch_related("actions")
            .first()
        )
        if review is None:
            raise Http404
        return review

    @extend_schema(methods=["GET"], responses={200: ReviewSerializer, 404: OpenApiTypes.OBJECT})
    @extend_schema(
        methods=["POST"], request=None,
        responses={201: ReviewSerializer, 400: OpenApiTypes.OBJECT},
    )  # fmt: skip
    @extend_schema(
        methods=["PATCH"], request=ReviewSerializer,
        responses={200: ReviewSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )  # fmt: skip
    @action(detail=True, methods=["get", "post", "patch"], url_path="review")
    def review(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """The ticket's post-incident review (404 when it has none). POST opens one (400 for
        a ticket not closed, or reviewed already); PATCH writes its fields."""
        if request.method == "POST":
            opened = review_open(
                ticket=self.get_object(), actor=request.user,
                channel=Channel.API,
            )  # fmt: skip
            return Response(ReviewSerializer(self._fresh(opened)).data, status=201)
        review = self._review()
        if request.method == "GET":
            return Response(ReviewSerializer(review).data)
        payload = ReviewSerializer(review, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        saved = review_save(
            review=review, actor=request.user,
            impact=data.get("impact", review.impact),
            timeline=data.get("timeline", review.timeline),
            root_cause=data.get("root_cause", review.root_cause),
            shared_with_customer=data.get("shared_with_customer", review.shared_with_customer),
            assignee=data["assignee_id"] if "assignee_id" in data else review.assignee,
        )  # fmt: skip
        return Response(ReviewSerializer(self._fresh(saved)).data)

    @extend_schema(
        request=None,
        responses={200: ReviewSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="review/done")
    def review_done(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Mark the review done (400 without its impact and root cause, or done already)."""
        done = review_done(review=self._review(), actor=request.user, channel=Channel.API)
        return Response(ReviewSerializer(self._fresh(done)).data)

    @extend_schema(
        request=ReviewActionSerializer,
        responses={201: ReviewActionSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="review/actions")
    def review_actions(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Add one follow-up action to the review."""
        review = self._review()
        payload = ReviewActionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        added = review_action_add(
            review=review, actor=request.user,
            description=data["description"], owner=data.get("owner_id"),
            due_on=data.get("due_on"),
        )  # fmt: skip
        return Response(ReviewActionSerializer(added).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None, responses={204: None, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}
    )
    @action(
        detail=True, methods=["delete"],
        url_path=r"review/actions/(?P<action_id>[0-9]+)", url_name="review-action",
    )  # fmt: skip
    def review_action_remove(
        self, request: StaffApiRequest, ticket_id: str, action_id: str
    ) -> Response:
        """Remove one follow-up action of the review (400 when it has no such action)."""
        review_action_remove(review=self._review(), action_id=int(action_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _fresh(self, review: PostIncidentReview) -> PostIncidentReview:
        return (
            PostIncidentReview.objects.select_related("ticket")
            .prefetch_related("actions")
            .get(pk=review.pk)
        )
