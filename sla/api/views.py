"""Read the SLA configuration; admins may change a calendar (its clocks are recomputed)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from supportdesk.access import IsTenantAdmin
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffApiRequest

from .. import services
from ..models import Calendar, Priority, SLAPolicy
from .serializers import (
    CalendarSerializer,
    CalendarWriteSerializer,
    PolicySerializer,
    PrioritySerializer,
)


class _TenantViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)
    permission_classes = [IsTenantAdmin]
    filter_backends: list[Any] = []
    pagination_class = None

    def get_object(self) -> Any:
        raw = str(self.kwargs.get(self.lookup_url_kwarg or "", ""))
        obj = self.get_queryset().filter(pk=int(raw)).first() if is_plain_number(raw) else None
        if obj is None:
            raise Http404
        return obj


class CalendarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _TenantViewSet):
    """Business calendars in the SLA-engine format."""

    serializer_class = CalendarSerializer
    lookup_url_kwarg = "calendar_id"

    def get_queryset(self) -> Any:
        return Calendar.objects.filter(tenant=self.request._request.tenant)

    @extend_schema(request=CalendarWriteSerializer, responses=CalendarSerializer)
    def update(self, request: StaffApiRequest, calendar_id: str) -> Response:
        """Replace a calendar (validated; every live clock on it is recomputed)."""
        calendar = self.get_object()
        payload = CalendarWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.calendar_update(calendar=calendar, actor=request.user, **payload.validated_data)
        return Response(CalendarSerializer(calendar).data)


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _TenantViewSet):
    """SLA policies with their targets."""

    serializer_class = PolicySerializer
    lookup_url_kwarg = "policy_id"

    def get_queryset(self) -> Any:
        return (
            SLAPolicy.objects.filter(tenant=self.request._request.tenant)
            .select_related("calendar")
            .prefetch_related("targets__priority", "targets__calendar")
        )


class PriorityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _TenantViewSet):
    """The tenant's priority scheme with definitions and examples."""

    serializer_class = PrioritySerializer
    lookup_url_kwarg = "priority_id"

    def get_queryset(self) -> Any:
        return Priority.objects.filter(tenant=self.request._request.tenant)
