"""API endpoints of contracts: thin adapters from HTTP to ``contracts.services``.

Querysets start from the request's tenant and load what the serializers touch; every write
goes through a service, whose ValidationError the project's exception handler turns into 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import Count, Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from supportdesk.access import IsTenantAdmin, IsTenantAgent, IsTenantStaff
from supportdesk.api import IdFilter
from supportdesk.http import StaffApiRequest
from supportdesk.models import Tenant

from .. import services
from ..models import (
    Contact,
    Contract,
    Feature,
    NamedContact,
    Organisation,
    PlanFeature,
    PlanRequestType,
    RequestType,
    SupportPlan,
)
from .serializers import (
    ContactSerializer,
    ContractSerializer,
    EntitlementRequestSerializer,
    EntitlementSerializer,
    FeatureSerializer,
    NamedContactSerializer,
    OrganisationSerializer,
    RequestTypeSerializer,
    SupportPlanSerializer,
    SuspendSerializer,
)


class ByName(CursorPagination):
    ordering = ("name", "id")


class Newest(CursorPagination):
    ordering = ("-id",)


class SmallList(LimitOffsetPagination):
    default_limit = 100
    max_limit = 200  # a larger limit is cut to this; unbounded, SQLite refused 2**63 and up


def _tenant(request: StaffApiRequest) -> Tenant:
    return request._request.tenant


class ServiceWriteMixin:
    """Create and update through a service (``save_instance``), never ``serializer.save()``.

    Listed first among a viewset's bases so these win over DRF's mixins. No PUT: PATCH.
    """

    request: StaffApiRequest
    http_method_names: Sequence[str] = ["get", "post", "patch", "head", "options"]

    def save_instance(self, instance: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError  # each viewset saves through its own service

    def perform_create(self, serializer: Any) -> None:
        model = serializer.Meta.model
        instance = model(tenant=_tenant(self.request), **self._plain(serializer.validated_data))
        serializer.instance = self.save_instance(instance, serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        instance = serializer.instance
        for name, value in self._plain(serializer.validated_data).items():
            setattr(instance, name, value)
        serializer.instance = self.save_instance(instance, serializer.validated_data)

    @staticmethod
    def _plain(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in ("plan_features", "plan_request_types")}


class ServiceViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """List, read, create and PATCH, every write through the app's service."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)


@extend_schema_view(
    list=extend_schema(summary="List customer organisations"),
    create=extend_schema(summary="Create an organisation"),
)
class OrganisationViewSet(ServiceViewSet):
    """Customer organisations. Admins write; staff read."""

    serializer_class = OrganisationSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = ByName
    lookup_url_kwarg = "organisation_id"

    def get_queryset(self) -> QuerySet[Organisation]:
        return Organisation.objects.filter(tenant=_tenant(self.request))

    def save_instance(self, instance: Organisation, data: dict[str, Any]) -> Organisation:
        return services.organisation_save(organisation=instance, actor=self.request.user)


class ContactFilter(django_filters.FilterSet):
    organisation = IdFilter(field_name="organisation_id")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")

    class Meta:
        model = Contact
        fields: list[str] = []


class ContactViewSet(ServiceViewSet):
    """Contacts of customer organisations. Agents and admins write; managers read."""

    serializer_class = ContactSerializer
    permission_classes = [IsTenantAgent]
    pagination_class = ByName
    filterset_class = ContactFilter
    lookup_url_kwarg = "contact_id"

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.filter(tenant=_tenant(self.request))

    def save_instance(self, instance: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_save(contact=instance, actor=self.request.user)


class FeatureViewSet(ServiceViewSet):
    """The tenant's feature matrix lines. Admins write; staff read."""

    serializer_class = FeatureSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = SmallList
    lookup_url_kwarg = "feature_id"

    def get_queryset(self) -> QuerySet[Feature]:
        return Feature.objects.filter(tenant=_tenant(self.request))

    def save_instance(self, instance: Feature, data: dict[str, Any]) -> Feature:
        return services.feature_save(feature=instance, actor=self.request.user)


class RequestTypeViewSet(ServiceViewSet):
    """The tenant's request types, which plans' scope tables mark included or billable.
    Admins only."""

    serializer_class = RequestTypeSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = SmallList
    lookup_url_kwarg = "request_type_id"

    def get_queryset(self) -> QuerySet[RequestType]:
        return RequestType.objects.filter(tenant=_tenant(self.request))

    def save_instance(self, instance: RequestType, data: dict[str, Any]) -> RequestType:
        return services.request_type_save(request_type=instance, actor=self.request.user)


class SupportPlanViewSet(ServiceViewSet):
    """Support plans with their feature matrix (``features``: [{key, value}]) and scope
    table (``scope``: [{request_type, included}]).

    Sending ``features`` or ``scope`` replaces the plan's matrix or table; unknown keys and
    other tenants' request types are refused with 400.
    """

    serializer_class = SupportPlanSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = SmallList
    lookup_url_kwarg = "plan_id"

    def get_queryset(self) -> QuerySet[SupportPlan]:
        return SupportPlan.objects.filter(tenant=_tenant(self.request)).prefetch_related(
            Prefetch("plan_features", queryset=PlanFeature.objects.select_related("feature")),
            Prefetch(
                "plan_request_types",
                queryset=PlanRequestType.objects.select_related("request_type"),
            ),
        )

    def save_instance(self, instance: SupportPlan, data: dict[str, Any]) -> SupportPlan:
        cells = data.get("plan_features")
        matrix = None if cells is None else {c["feature"]["key"]: c["value"] for c in cells}
        rows = data.get("plan_request_types")
        scope = None if rows is None else {r["request_type"].pk: r["included"] for r in rows}
        services.plan_save(plan=instance, features=matrix, scope=scope, actor=self.request.user)
        return self.get_queryset().get(pk=instance.pk)


class ContractFilter(django_filters.FilterSet):
    organisation = IdFilter(field_name="organisation_id")
    status = django_filters.CharFilter(field_name="status")

    class Meta:
        model = Contract
        fields: list[str] = []


class ContractViewSet(ServiceViewSet):
    """Contracts: organisation + plan + period. Status changes via suspend/resume."""

    serializer_class = ContractSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = Newest
    filterset_class = ContractFilter
    lookup_url_kwarg = "contract_id"

    def get_queryset(self) -> QuerySet[Contract]:
        return (
            Contract.objects.filter(tenant=_tenant(self.request))
            .select_related("plan", "organisation")
            .annotate(named_count=Count("named_contacts"))
        )

    def save_instance(self, instance: Contract, data: dict[str, Any]) -> Contract:
        services.contract_save(contract=instance, actor=self.request.user)
        return self.get_queryset().get(pk=instance.pk)

    @extend_schema(
        request=SuspendSerializer,
        responses={
            200: ContractSerializer,
            400: OpenApiResponse(description="No reason given, or the contract is not active."),
            404: OpenApiResponse(description="No such contract in this tenant."),
        },
        summary="Suspend a contract (e.g. overdue payments)",
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request: StaffApiRequest, contract_id: int) -> Response:
        contract = self.get_object()
        body = SuspendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.contract_suspend(
            contract=contract,
            reason=body.validated_data["reason"],
            actor=request.user,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=contract.pk)).data)

    @extend_schema(
        request=None,
        responses={
            200: ContractSerializer,
            400: OpenApiResponse(description="The contract is not suspended."),
            404: OpenApiResponse(description="No such contract in this tenant."),
        },
        summary="Lift a contract's suspension",
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: StaffApiRequest, contract_id: int) -> Response:
        contract = self.get_object()
        services.contract_resume(contract=contract, actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=contract.pk)).data)


class NamedContactFilter(django_filters.FilterSet):
    contract = IdFilter(field_name="contract_id")

    class Meta:
        model = NamedContact
        fields: list[str] = []


class NamedContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Named contacts of contracts. Adding one beyond the contract's limit answers 400."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    serializer_class = NamedContactSerializer
    permission_classes = [IsTenantAdmin]
    pagination_class = Newest
    filterset_class = NamedContactFilter
    lookup_url_kwarg = "named_contact_id"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[NamedContact]:
        return NamedContact.objects.filter(tenant=_tenant(self.request)).select_related(
            "contract", "contact"
        )

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.named_contact_add(
            contract=serializer.validated_data["contract"],
            contact=serializer.validated_data["contact"],
            actor=self.request.user,
        )

    def perform_destroy(self, instance: NamedContact) -> None:
        services.named_contact_remove(named_contact=instance, actor=self.request.user)


class EntitlementCheckView(APIView):
    """Ask whether a contact may file a request of a category by a channel (at a moment)."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    permission_classes: list[type[BasePermission]] = [IsTenantStaff]

    @extend_schema(
        request=EntitlementRequestSerializer,
        responses={
            200: EntitlementSerializer,
            400: OpenApiResponse(
                description="Unknown contact, channel, category or request type, or a request "
                "type the plan's scope table does not list."
            ),
        },
        summary="Check a contact's entitlement",
    )
    def post(self, request: StaffApiRequest) -> Response:
        body = EntitlementRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        result = services.entitlement_check(
            contact=body.validated_data["contact"],
            channel=body.validated_data["channel"],
            category=body.validated_data["category"],
            at=body.validated_data.get("at"),
            request_type=body.validated_data.get("request_type"),
        )
        return Response(EntitlementSerializer(result).data, status=status.HTTP_200_OK)
