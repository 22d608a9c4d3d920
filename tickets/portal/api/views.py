"""The customer API: a contact files and follows tickets from a script (channel "API").

The token decides the tenant and the contact; the entitlement check decides, as in the
portal, whether the plan allows the API channel and the request.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from contracts.http import PortalApiRequest
from supportdesk.access import method_unsupported
from tickets.api.serializers import (
    CcChangeSerializer,
    CopiedContactSerializer,
    QuoteDecisionSerializer,
    QuoteSerializer,
)
from tickets.choices import Channel
from tickets.filing import Filing, ticket_file
from tickets.followers.services import copied_contacts, ticket_cc_add, ticket_cc_remove
from tickets.models import Ticket
from tickets.quotes.services import quote_accept, quote_decline
from tickets.services import ticket_reply

from ..access import get_colleague_for_contact, tickets_for_contact
from .serializers import (
    PortalMessageSerializer,
    PortalReplySerializer,
    PortalTicketCreateSerializer,
    PortalTicketDetailSerializer,
    PortalTicketSerializer,
)

Refusal = inline_serializer(
    "Refusal",
    {
        "detail": serializers.CharField(),
        "reasons": serializers.ListField(child=serializers.CharField(), required=False),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Invalid input: the messages per field.",
        ),
    },
)


def _invalid(errors: Any) -> Response:
    """Serializer errors in the documented {detail, reasons} shape (``fields`` per field)."""
    fields = {name: [str(m) for m in messages] for name, messages in errors.items()}
    return Response(
        {
            "detail": "The request is not valid.",
            "reasons": [f"{name}: {m}" for name, messages in fields.items() for m in messages],
            "fields": fields,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def _refused(filing: Filing) -> Response:
    """403 with the reasons; a billable request not yet accepted is a 400 saying how."""
    if filing.requires_acceptance:
        return Response(
            {"detail": "This request is billable; send accepted_billable: true to file it.",
             "reasons": [str(r) for r in filing.reasons]},
            status=status.HTTP_400_BAD_REQUEST,
        )  # fmt: skip
    return Response(
        {"detail": "This request cannot be filed.", "reasons": [str(r) for r in filing.reasons]},
        status=status.HTTP_403_FORBIDDEN,
    )


class IsTenantContact(permissions.BasePermission):
    """A customer contact of the request's tenant (token or session)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        req = request._request
        if method_unsupported(request, view):
            return True
        if req.tenant is None or not request.user.is_authenticated:
            return False  # DRF answers 401 and asks for credentials
        if req.contact is None:
            raise NotFound  # staff or strangers: the same answer as "does not exist"
        return True


class Newest(CursorPagination):
    ordering = ("-received_at", "-id")
    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"


class PortalTicketViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):  # type: ignore[type-arg]
    """Tickets the contact may see: their own, and their organisation's for named contacts."""

    request: PortalApiRequest  # behind IsTenantContact: a signed-in customer contact

    permission_classes = [IsTenantContact]
    pagination_class = Newest
    lookup_url_kwarg = "ticket_id"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()  # schema generation: no contact, only the model
        tickets = tickets_for_contact(self.request._request).select_related(
            "priority", "requester", "request_type"
        )
        if self.action == "retrieve":
            tickets = tickets.select_related("satisfaction")  # the rating, in the same query
        return tickets

    def get_serializer_class(self) -> Any:
        return PortalTicketDetailSerializer if self.action == "retrieve" else PortalTicketSerializer

    @extend_schema(
        request=PortalTicketCreateSerializer,
        responses={201: PortalTicketDetailSerializer, 400: Refusal, 403: Refusal},
    )
    def create(self, request: PortalApiRequest) -> Response:
        """File a ticket. Refused (403) with the reasons when the contract does not allow it;
        a billable request needs ``accepted_billable: true`` (400 otherwise)."""
        data = PortalTicketCreateSerializer(data=request.data)
        if not data.is_valid():
            return _invalid(data.errors)
        # The serializer's fields are parameters of ticket_create, by the same names.
        filing = ticket_file(
            tenant=request._request.tenant,
            requester=request._request.contact,
            channel=Channel.API,
            **data.validated_data,
        )
        if filing.errors is not None:
            raise filing.errors  # the API's handler answers 400 with the messages per field
        if filing.ticket is None:
            return _refused(filing)
        ticket = filing.ticket
        prefetch_related_objects([ticket], "clocks")  # both due times from one query
        # A ticket filed just now has no rating: say so instead of asking the database.
        Ticket.satisfaction.related.set_cached_value(ticket, None)
        return Response(PortalTicketDetailSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PortalReplySerializer, responses={201: PortalMessageSerializer})
    @action(detail=True, methods=["post"])
    def replies(self, request: PortalApiRequest, ticket_id: int) -> Response:
        """Add a reply to the ticket, as the customer."""
        ticket = self.get_object()
        data = PortalReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = ticket_reply(
            ticket=ticket,
            body=data.validated_data["body"],
            public=True,
            channel=Channel.API,
            author_contact=request._request.contact,
        )
        return Response(PortalMessageSerializer(message).data, status=status.HTTP_201_CREATED)

    def _copied(self, ticket: Ticket) -> Any:
        return CopiedContactSerializer(copied_contacts(ticket=ticket), many=True).data

    def _cc_change(self, request: PortalApiRequest, *, add: bool) -> Response:
        ticket = self.get_object()
        data = CcChangeSerializer(data=request.data)
        if not data.is_valid():
            return _invalid(data.errors)
        colleague = get_colleague_for_contact(request._request, str(data.validated_data["contact"]))
        if colleague is None:  # the same answer as another organisation's contact
            return _invalid(
                {"contact": [_("Only colleagues of the ticket's organisation can be copied.")]}
            )
        change = ticket_cc_add if add else ticket_cc_remove
        try:
            change(
                ticket=ticket,
                contact=colleague,
                actor_contact=request._request.contact,
                channel=Channel.API,
            )
        except ValidationError as exc:  # in the same shape as the refusal above
            return _invalid(exc.message_dict)
        if not tickets_for_contact(request._request).filter(pk=ticket.pk).exists():
            return Response([])  # they took themselves off: the list is no longer theirs
        return Response(self._copied(ticket))

    @extend_schema(methods=["GET"], responses=CopiedContactSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=CcChangeSerializer,
        responses={200: CopiedContactSerializer(many=True), 400: Refusal},
    )
    @action(detail=True, methods=["get", "post"], url_path="cc", pagination_class=None)
    def cc(self, request: PortalApiRequest, ticket_id: int) -> Response:
        """The colleagues copied on the ticket; POST copies one more of your organisation's
        contacts (400 for anyone else) and answers the list."""
        if request.method == "POST":
            return self._cc_change(request, add=True)
        return Response(self._copied(self.get_object()))

    @extend_schema(
        request=CcChangeSerializer,
        responses={200: CopiedContactSerializer(many=True), 400: Refusal},
    )
    @action(detail=True, methods=["post"], url_path="cc-remove")
    def cc_remove(self, request: PortalApiRequest, ticket_id: int) -> Response:
        """Stop copying a colleague (or yourself) on the ticket; answers the list."""
        return self._cc_change(request, add=False)

    @extend_schema(methods=["GET"], responses=QuoteSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=QuoteDecisionSerializer,
        responses={200: QuoteSerializer, 400: Refusal},
    )
    @action(detail=True, methods=["get", "post"], url_path="quotes", pagination_class=None)
    def quotes(self, request: PortalApiRequest, ticket_id: int) -> Response:
        """Quotes proposed on the ticket; POST accepts or declines the one waiting for you
        (400 when none waits)."""
        ticket = self.get_object()
        if request.method == "GET":
            return Response(
                QuoteSerializer(ticket.quotes.select_related("decided_by"), many=True).data
            )
        data = QuoteDecisionSerializer(data=request.data)
        if not data.is_valid():
            return _invalid(data.errors)
        decide = quote_accept if data.validated_data["decision"] == "accept" else quote_decline
        try:
            quote = decide(ticket=ticket, contact=request._request.contact)
        except ValidationError as exc:
            return _invalid(exc.message_dict)
        return Response(QuoteSerializer(quote).data)
