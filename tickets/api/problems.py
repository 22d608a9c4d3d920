"""The problems API for staff: list, read, create, PATCH, link and unlink incidents, resolve,
and the problems recurring incidents suggest. Agents and admins write; managers read. Every
write goes through :mod:`tickets.problems.services`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.api.serializers import TenantRelatedField
from contracts.models import Organisation
from supportdesk.access import IsTenantAdmin, IsTenantAgent
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffApiRequest
from supportdesk.models import Tenant

from ..access import get_ticket_for_agent
from ..choices import Channel
from ..models import Problem, ProblemStatus, Ticket
from ..problems import services
from ..problems.services import MAX_MESSAGE_LENGTH
from .routing import AgentField
from .serializers import TicketRefSerializer


class ProblemSerializer(serializers.ModelSerializer[Problem]):
    """A problem: the root cause behind its linked incidents and their workaround."""

    reference = serializers.CharField(read_only=True, help_text='"PRB-7".')
    status = serializers.ChoiceField(
        choices=ProblemStatus.choices,
        required=False,
        help_text='Write "open" or "known_error"; "resolved" is set by the resolve action '
        "only (400 here). A resolved problem is read-only (400).",
    )
    organisation = TenantRelatedField(
        Organisation,
        required=False,
        allow_null=True,
        help_text="Only incidents of this organisation may be linked; null for any.",
    )
    assignee = AgentField(required=False, allow_null=True)
    incident_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Problem
        fields = [
            "id",
            "reference",
            "title",
            "status",
            "root_cause",
            "workaround",
            "organisation",
            "assignee",
            "incident_count",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = ["created_at", "updated_at", "resolved_at"]


class ProblemDetailSerializer(ProblemSerializer):
    incidents = serializers.SerializerMethodField(help_text="The linked incidents, newest first.")
    articles: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        many=True,
        read_only=True,
        help_text="The knowledge-base articles published from this known error.",
    )

    class Meta(ProblemSerializer.Meta):
        fields = [*ProblemSerializer.Meta.fields, "incidents", "articles"]

    @extend_schema_field(TicketRefSerializer(many=True))
    def get_incidents(self, problem: Problem) -> list[dict[str, Any]]:
        rows = Ticket.objects.filter(tenant_id=problem.tenant_id, problem=problem).order_by(
            "-number"
        )
        return [{"id": t.pk, "reference": t.reference} for t in rows.only("id", "reference")]


class ProblemTicketSerializer(serializers.Serializer[Any]):
    ticket = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The incident's id (400 if unknown)."
    )


class ProblemResolveSerializer(serializers.Serializer[Any]):
    notify = serializers.BooleanField(
        default=False,
        help_text="Post ``message`` as a public reply on each linked incident not closed.",
    )
    message = serializers.CharField(
        max_length=MAX_MESSAGE_LENGTH, required=False, allow_blank=True, default=""
    )
    solve = serializers.BooleanField(
        default=False, help_text="Solve each linked incident that is still active."
    )


class ProblemResolvedSerializer(serializers.Serializer[Any]):
    problem = ProblemSerializer()
    told = TicketRefSerializer(many=True)
    solved = TicketRefSerializer(many=True)


class ProblemSuggestionSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()
    title = serializers.CharField(help_text="The newest incident's subject.")
    category = serializers.CharField(help_text="Empty for a group of similar subjects.")
    organisation = serializers.IntegerField(
        allow_null=True, help_text="The organisation's id; null for similar subjects."
    )
    tickets = TicketRefSerializer(many=True)


class SuggestionsSerializer(serializers.Serializer[Any]):
    problem_suggest_count = serializers.IntegerField(
        help_text="The tenant's threshold (0: suggestions off); its admin sets it."
    )
    problem_suggest_hours = serializers.IntegerField(help_text="The tenant's window in hours.")
    suggestions = ProblemSuggestionSerializer(many=True)


class ProblemSettingsSerializer(serializers.Serializer[Any]):
    problem_suggest_count = serializers.IntegerField(
        required=False,
        help_text="Incidents within the window that suggest a problem (0 to 100; 0: off).",
    )
    problem_suggest_hours = serializers.IntegerField(
        required=False,
        help_text="How far back, in hours, those incidents may have arrived (1 to 720).",
    )


def _refs(tickets: list[Ticket]) -> list[dict[str, Any]]:
    return [{"id": t.pk, "reference": t.reference} for t in tickets]


@extend_schema_view(
    list=extend_schema(summary="List problems, newest first"),
    retrieve=extend_schema(summary="Read a problem with its linked incidents"),
    create=extend_schema(summary="Open a problem"),
    partial_update=extend_schema(summary="Change a problem"),
)
class ProblemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Problems of the token's tenant. Agents and admins write; managers read."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    serializer_class = ProblemSerializer
    permission_classes = [IsTenantAgent]
    pagination_class = None
    filter_backends: list[Any] = []
    lookup_url_kwarg = "problem_id"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Problem]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema: no tenant, no rows
            return Problem.objects.none()
        return (
            Problem.objects.filter(tenant=self.request._request.tenant)
            .annotate(incident_count=Count("incidents"))
            .order_by("-number")
        )

    def get_serializer_class(self) -> Any:
        return ProblemDetailSerializer if self.action == "retrieve" else ProblemSerializer

    def get_object(self) -> Problem:
        raw = str(self.kwargs.get(self.lookup_url_kwarg or "", ""))
        problem = self.get_queryset().filter(pk=int(raw)).first() if is_plain_number(raw) else None
        if problem is None:
            raise Http404
        return problem

    def _save(self, problem: Problem, data: dict[str, Any]) -> Problem:
        for name, value in data.items():
            setattr(problem, name, value)
        services.problem_save(problem=problem, actor=self.request.user)
        return self.get_queryset().get(pk=problem.pk)

    def perform_create(self, serializer: Any) -> None:
        problem = Problem(tenant=self.request._request.tenant)
        serializer.instance = self._save(problem, dict(serializer.validated_data))

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = self._save(serializer.instance, dict(serializer.validated_data))

    def _named_ticket(self, ticket_id: int) -> Ticket:
        try:
            return get_ticket_for_agent(self.request._request, ticket_id)
        except Http404:
            raise serializers.ValidationError(
                {"ticket": [_("There is no ticket %(reference)s.") % {"reference": ticket_id}]}
            ) from None

    @extend_schema(
        request=ProblemTicketSerializer,
        responses={200: TicketRefSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="link")
    def link(self, request: StaffApiRequest, problem_id: str) -> Response:
        """Link an incident (400: unknown, another organisation's, linked already, merged, or
        the problem resolved)."""
        problem = self.get_object()
        payload = ProblemTicketSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = services.problem_link(
            problem=problem,
            ticket=self._named_ticket(payload.validated_data["ticket"]),
            actor=request.user,
            channel=Channel.API,
        )
        return Response({"id": ticket.pk, "reference": ticket.reference})

    @extend_schema(
        request=ProblemTicketSerializer,
        responses={200: TicketRefSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="unlink")
    def unlink(self, request: StaffApiRequest, problem_id: str) -> Response:
        """Unlink an incident (400 when it is not linked to this problem)."""
        problem = self.get_object()
        payload = ProblemTicketSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = services.problem_unlink(
            problem=problem,
            ticket=self._named_ticket(payload.validated_data["ticket"]),
            actor=request.user,
            channel=Channel.API,
        )
        return Response({"id": ticket.pk, "reference": ticket.reference})

    @extend_schema(
        request=ProblemResolveSerializer,
        responses={200: ProblemResolvedSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve(self, request: StaffApiRequest, problem_id: str) -> Response:
        """Resolve the problem; optionally tell each linked incident's requester and solve the
        incidents (400 when it is resolved already, or ``notify`` has no message)."""
        problem = self.get_object()
        payload = ProblemResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outcome = services.problem_resolve(
            problem=problem,
            actor=request.user,
            channel=Channel.API,
            **payload.validated_data,
        )
        fresh = self.get_queryset().get(pk=problem.pk)
        return Response(
            {
                "problem": ProblemSerializer(fresh).data,
                "told": _refs(outcome.told),
                "solved": _refs(outcome.solved),
            }
        )

    @extend_schema(
        methods=["GET"], summary="The tenant's problem-suggestion rule",
        responses={200: ProblemSettingsSerializer},
    )  # fmt: skip
    @extend_schema(
        methods=["PATCH"], summary="Change the problem-suggestion rule (admins)",
        request=ProblemSettingsSerializer,
        responses={200: ProblemSettingsSerializer, 400: OpenApiTypes.OBJECT},
    )  # fmt: skip
    @action(
        detail=False, methods=["get", "patch"], url_path="settings",
        permission_classes=[IsTenantAdmin],
    )  # fmt: skip
    def suggestion_settings(self, request: StaffApiRequest) -> Response:
        """The rule behind the suggestions; staff read it, the tenant's admins change it (the
        API twin of Administration -> Problem suggestions, audited the same way)."""
        tenant = request._request.tenant
        if request.method == "PATCH":
            given = ProblemSettingsSerializer(data=request.data)
            given.is_valid(raise_exception=True)
            # A fresh row: refused values must not linger on the request's tenant.
            tenant = Tenant.objects.get(pk=tenant.pk)
            for name, value in given.validated_data.items():
                setattr(tenant, name, value)
            services.problem_settings_save(tenant=tenant, actor=request.user)
        return Response(
            {
                "problem_suggest_count": tenant.problem_suggest_count,
                "problem_suggest_hours": tenant.problem_suggest_hours,
            }
        )

    @extend_schema(responses={200: SuggestionsSerializer})
    @action(detail=False, methods=["get"], url_path="suggestions")
    def suggestions(self, request: StaffApiRequest) -> Response:
        """Groups of recent incidents without a problem that suggest one, by the tenant's
        rule (``problem_suggest_count`` incidents within ``problem_suggest_hours``)."""
        tenant = request._request.tenant
        found = services.problem_suggestions(tenant=tenant)
        data = {
            "problem_suggest_count": tenant.problem_suggest_count,
            "problem_suggest_hours": tenant.problem_suggest_hours,
            "suggestions": [
                {
                    "reason": s.reason,
                    "title": s.title,
                    "category": s.category,
                    "organisation": s.organisation.pk if s.organisation else None,
                    "tickets": _refs(s.tickets),
                }
                for s in found
            ],
        }
        return Response(data, status=status.HTTP_200_OK)
