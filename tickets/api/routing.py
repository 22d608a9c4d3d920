"""The routing rules API for tenant admins: list, read, create, PATCH (``position`` moves the
rule in the order) and DELETE, every write through :mod:`tickets.routing.services`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from contracts.api.serializers import TenantRelatedField
from contracts.models import Organisation, SupportPlan
from sla.models import Priority
from supportdesk.access import IsTenantStaff
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffApiRequest
from supportdesk.models import AGENT_ROLES, Role, User

from ..models import NotifyRole, RoutingRule
from ..routing import services


class AgentField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A user id that must belong to an agent (or admin) of the request's tenant."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", User.objects.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        tenant = getattr(self.context.get("request"), "tenant", None)
        if tenant is None:
            return User.objects.none()
        return User.objects.filter(
            memberships__tenant=tenant, memberships__role__in=AGENT_ROLES
        ).distinct()


class RoutingRuleSerializer(serializers.ModelSerializer[RoutingRule]):
    """Conditions (each optional; all given must match) and actions of one rule."""

    position = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="1 is tried first. A new rule goes last unless given; a PATCH moves it.",
    )
    organisation = TenantRelatedField(Organisation, required=False, allow_null=True)
    plan = TenantRelatedField(SupportPlan, required=False, allow_null=True)
    priority = TenantRelatedField(Priority, required=False, allow_null=True)
    assignee = AgentField(required=False, allow_null=True)
    notify_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=NotifyRole.choices),
        required=False,
        help_text="People on the organisation's account to notify by mail.",
    )

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "organisation",
            "plan",
            "category",
            "channel",
            "priority",
            "assignee",
            "support_line",
            "notify_roles",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class IsTenantAdminOnly(IsTenantStaff):
    """Admins read and write; routing names the people on each customer's account."""

    roles = (Role.ADMIN,)


@extend_schema_view(
    list=extend_schema(summary="List routing rules in the order they are tried"),
    create=extend_schema(summary="Create a routing rule"),
    partial_update=extend_schema(summary="Change or move a routing rule"),
    destroy=extend_schema(summary="Delete a routing rule"),
)
class RoutingRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Routing rules: where a new ticket goes and who hears about it (admins only)."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    serializer_class = RoutingRuleSerializer
    permission_classes = [IsTenantAdminOnly]
    pagination_class = None
    filter_backends: list[Any] = []
    lookup_url_kwarg = "routing_rule_id"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return RoutingRule.objects.filter(tenant=self.request._request.tenant)

    def get_object(self) -> RoutingRule:
        raw = str(self.kwargs.get(self.lookup_url_kwarg or "", ""))
        rule = self.get_queryset().filter(pk=int(raw)).first() if is_plain_number(raw) else None
        if rule is None:
            raise Http404
        return rule

    def _save(self, rule: RoutingRule, data: dict[str, Any]) -> RoutingRule:
        position = data.pop("position", None)
        for name, value in data.items():
            setattr(rule, name, value)
        # The position is checked (at least 1) before anything is written: the move after
        # the save cannot refuse, so nothing is half-saved.
        services.routing_rule_save(rule=rule, actor=self.request.user)
        if position is not None:
            services.routing_rule_move(rule=rule, position=position, actor=self.request.user)
        return rule

    def perform_create(self, serializer: Any) -> None:
        rule = RoutingRule(tenant=self.request._request.tenant)
        serializer.instance = self._save(rule, dict(serializer.validated_data))

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = self._save(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance: RoutingRule) -> None:
        services.routing_rule_delete(rule=instance, actor=self.request.user)
