"""The ticket API: the queue (keyset-paginated), a ticket with its explained clocks, and
the same actions as the agent pages. Writes call one service each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from contracts.models import Contact
from sla.selectors import ticket_history
from supportdesk.access import IsTenantAgent
from supportdesk.forms import is_plain_number
from supportdesk.http import StaffApiRequest
from supportdesk.models import Membership

from .. import services
from ..access import get_ticket_for_agent
from ..choices import Channel
from ..filing import Filing, ticket_file
from ..followers.services import (
    copied_contacts,
    internal_followers,
    ticket_cc_add,
    ticket_cc_remove,
    ticket_follow,
    ticket_unfollow,
)
from ..links.services import ticket_link, ticket_merge, ticket_unlink
from ..major.services import (
    major_incident_update,
    ticket_declare_major_incident,
    ticket_end_major_incident,
)
from ..models import Ticket, TicketLink, TicketQuerySet
from ..queue import QueueFilters, queue_attach, queue_page, queue_queryset
from ..quotes.services import quote_propose
from ..reviews.api import ReviewApiMixin
from .serializers import (
    BulkAssignSerializer,
    CcChangeSerializer,
    CopiedContactSerializer,
    EventSerializer,
    FollowerChangeSerializer,
    FollowerSerializer,
    LinkCreateSerializer,
    MajorUpdateSerializer,
    MergeSerializer,
    MessageSerializer,
    QueueTicketSerializer,
    QuoteProposeSerializer,
    QuoteSerializer,
    ReplySerializer,
    StatusChangeSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketLinkSerializer,
    TicketPatchSerializer,
    TimeEntrySerializer,
    UnlinkSerializer,
)


class QueueKeysetPagination(BasePagination):
    """``?cursor=`` keyset pages in (next_due_at NULLS LAST, id) order; ``?page_size=`` up to
    200. Constant cost however deep the page."""

    page_size = 50

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        raw = request.query_params.get("page_size", "")
        size = int(raw) if is_plain_number(raw) else self.page_size
        page = queue_page(qs=queryset, cursor=request.query_params.get("cursor"), size=size)
        self.next_url = (
            replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
            if page.next_cursor
            else None
        )
        return page.rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.next_url, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"next": {"type": "string", "nullable": True}, "results": schema},
        }


QUEUE_PARAMETERS = [
    OpenApiParameter("view", str, enum=["all", "mine", "unassigned"]),
    OpenApiParameter("line", str, enum=["1", "2", "3", "mine"]),
    OpenApiParameter("due_within", int, description="Minutes; includes overdue tickets."),
    OpenApiParameter("breached", bool),
    OpenApiParameter("priority", int),
    OpenApiParameter("organisation", int),
    OpenApiParameter("status", str, description="active (default), all, or one status."),
    OpenApiParameter("category", str),
    OpenApiParameter("q", str, description="Reference, subject, requester name or e-mail."),
    OpenApiParameter("cursor", str),
    OpenApiParameter("page_size", int),
]


def _refused(filing: Filing) -> Response:
    return Response(
        {
            "detail": filing.reasons_text,
            "reasons": [str(r) for r in filing.reasons],
            "requires_acceptance": filing.requires_acceptance,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class TicketViewSet(ReviewApiMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Tickets of the token's tenant. Agents and admins write; managers read."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    permission_classes = [IsTenantAgent]
    pagination_class = QueueKeysetPagination
    serializer_class = QueueTicketSerializer
    lookup_url_kwarg = "ticket_id"
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema: no tenant, no rows
            return TicketQuerySet(Ticket).none()
        return queue_queryset(
            filters=QueueFilters.from_params(self.request.query_params), user=self.request.user
        )

    def get_object(self) -> Ticket:
        raw = str(self.kwargs.get("ticket_id", ""))
        if not is_plain_number(raw):
            raise Http404
        return get_ticket_for_agent(self.request._request, int(raw))

    @extend_schema(parameters=QUEUE_PARAMETERS, responses=QueueTicketSerializer(many=True))
    def list(self, request: StaffApiRequest) -> Response:
        """The queue: nearest due first, filtered."""
        rows = self.paginate_queryset(self.get_queryset()) or []
        engines = queue_attach(rows)
        context = {"now": timezone.now(), "_engines": engines}
        data = QueueTicketSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketDetailSerializer})
    def create(self, request: StaffApiRequest) -> Response:
        """File a ticket for a contact (entitlement is checked; 400 with reasons if refused)."""
        payload = TicketCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # The serializer's fields are parameters of ticket_create, by the same names.
        filing = ticket_file(
            tenant=request._request.tenant,
            actor=request.user,
            **payload.validated_data,
        )
        if filing.errors is not None:
            raise filing.errors  # the API's handler answers 400 with the messages per field
        if filing.ticket is None:
            return _refused(filing)
        return Response(self._detail(filing.ticket), status=status.HTTP_201_CREATED)

    def _detail(self, ticket: Ticket) -> Any:
        fresh = get_ticket_for_agent(self.request._request, ticket.pk)
        context = {"now": timezone.now(), "history": ticket_history(fresh)}
        return TicketDetailSerializer(fresh, context=context).data

    @extend_schema(responses=TicketDetailSerializer)
    def retrieve(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """One ticket with its SLA clocks and why each is due when it is."""
        return Response(self._detail(self.get_object()))

    @extend_schema(
        request=TicketPatchSerializer,
        responses={200: TicketDetailSerializer, 409: OpenApiTypes.OBJECT},
    )
    def partial_update(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Change fields; send the ``version`` you read. 409 when someone changed it first."""
        ticket = self.get_object()
        payload = TicketPatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        version = changes.pop("version")
        try:
            ticket = services.ticket_update(
                ticket=ticket,
                actor=request.user,
                channel=Channel.API,
                expected_version=version,
                changes=changes,
            )
        except services.VersionConflict as exc:
            return Response(
                {"detail": "The ticket changed since you read it.", "version": exc.current},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(self._detail(ticket))

    @extend_schema(request=ReplySerializer, responses={201: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="messages")
    def messages(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Reply publicly or add an internal note (``public: false``)."""
        ticket = self.get_object()
        payload = ReplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.ticket_reply(
            ticket=ticket,
            body=payload.validated_data["body"],
            public=payload.validated_data["public"],
            channel=Channel.API,
            author=request.user,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StatusChangeSerializer, responses=TicketDetailSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Move the ticket through the state machine (400 if the move is not allowed)."""
        ticket = self.get_object()
        payload = StatusChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = services.ticket_change_status(
            ticket=ticket,
            status=payload.validated_data["status"],
            actor=request.user,
            channel=Channel.API,
        )
        return Response(self._detail(ticket))

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="events", pagination_class=None)
    def events(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """The ticket's full history, oldest first (internal notes included)."""
        ticket = self.get_object()
        events: Any = ticket.timeline()
        return Response(EventSerializer(events, many=True).data)

    @extend_schema(methods=["GET"], responses=TimeEntrySerializer(many=True))
    @extend_schema(
        methods=["POST"], request=TimeEntrySerializer, responses={201: TimeEntrySerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="time-entries", pagination_class=None)
    def time_entries(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Time logged on the ticket; POST logs yours."""
        ticket = self.get_object()
        if request.method == "GET":
            entries = ticket.time_entries.select_related("agent")
            return Response(TimeEntrySerializer(entries, many=True).data)
        payload = TimeEntrySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        entry = services.time_entry_log(
            ticket=ticket,
            agent=request.user,
            minutes=data["minutes"],
            billable=data.get("billable", False),
            note=data.get("note", ""),
            work_date=data.get("work_date"),
        )
        return Response(TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=QuoteSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=QuoteProposeSerializer, responses={201: QuoteSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="quotes", pagination_class=None)
    def quotes(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Quotes for out-of-scope work on the ticket; POST proposes one to the customer
        (400 while another waits, or for bad amounts)."""
        ticket = self.get_object()
        if request.method == "GET":
            rows = ticket.quotes.select_related("proposed_by", "decided_by")
            return Response(QuoteSerializer(rows, many=True).data)
        payload = QuoteProposeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        quote = quote_propose(
            ticket=ticket, agent=request.user, hours=data.get("hours"),
            price=data.get("price"), text=data["text"], channel=Channel.API,
        )  # fmt: skip
        return Response(QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TicketDetailSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="major-incident")
    def major_incident(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Declare the ticket a major incident (400 unless it is active, of the tenant's most
        urgent priority and not declared yet). Link its children as ``caused_by`` it."""
        ticket = ticket_declare_major_incident(
            ticket=self.get_object(),
            actor=request.user,
            channel=Channel.API,
        )
        return Response(self._detail(ticket))

    @extend_schema(request=None, responses={200: TicketDetailSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="major-incident/end")
    def major_incident_end(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """End the major incident: the ticket becomes an ordinary one again and its
        ``caused_by`` links stay (400 when it is not a major incident)."""
        ticket = ticket_end_major_incident(
            ticket=self.get_object(),
            actor=request.user,
            channel=Channel.API,
        )
        return Response(self._detail(ticket))

    @extend_schema(
        request=MajorUpdateSerializer,
        responses={201: MessageSerializer(many=True), 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="major-incident/updates")
    def major_incident_updates(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Post one status update as a public reply on the major incident and on every
        ticket linked to it as caused by it; returns the messages, this ticket's first (400
        when the ticket is not a major incident)."""
        ticket = self.get_object()
        payload = MajorUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        posted = major_incident_update(
            ticket=ticket,
            actor=request.user,
            body=payload.validated_data["body"],
            channel=Channel.API,
        )
        return Response(MessageSerializer(posted, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=TicketLinkSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=LinkCreateSerializer,
        responses={201: TicketLinkSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get", "post"], url_path="links", pagination_class=None)
    def links(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """The ticket's links, both ways; POST links another ticket of the tenant (400 when
        ``other`` is unknown or another tenant's, for itself, or for a link that exists)."""
        ticket = self.get_object()
        if request.method == "GET":
            rows = [
                TicketLinkSerializer.row(ticket, link)
                for link in TicketLink.objects.of_ticket(ticket)
            ]
            return Response(TicketLinkSerializer(rows, many=True).data)
        payload = LinkCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        other = self._named_ticket("other", payload.validated_data["other"])
        link = ticket_link(
            ticket=ticket,
            other=other,
            kind=payload.validated_data["kind"],
            actor=request.user,
            channel=Channel.API,
        )
        row = TicketLinkSerializer.row(ticket, link)
        return Response(TicketLinkSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UnlinkSerializer, responses={204: None, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="unlink")
    def unlink(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Remove one of the ticket's links (a merge's link stays: 400)."""
        ticket = self.get_object()
        payload = UnlinkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket_unlink(
            ticket=ticket,
            link_id=payload.validated_data["link"],
            actor=request.user,
            channel=Channel.API,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=MergeSerializer,
        responses={200: TicketDetailSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="merge")
    def merge(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Merge this duplicate into ``into``; returns the target. 400 with the reason when
        ``into`` is unknown or another tenant's, itself, a closed or merged-away target, or
        the merge would go round in a circle."""
        ticket = self.get_object()
        payload = MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        into = self._named_ticket("into", payload.validated_data["into"])
        target = ticket_merge(
            ticket=ticket,
            into=into,
            actor=request.user,
            channel=Channel.API,
        )
        return Response(self._detail(target))

    def _named_ticket(self, field: str, ticket_id: int) -> Ticket:
        """The other ticket a request body names. Unknown and another tenant's alike are a
        400 on that field: a 404 would read as if the ticket in the URL were missing."""
        try:
            return get_ticket_for_agent(self.request._request, ticket_id)
        except Http404:
            raise serializers.ValidationError(
                {field: [_("There is no ticket %(reference)s.") % {"reference": ticket_id}]}
            ) from None

    def _copied(self, ticket: Ticket) -> Any:
        return CopiedContactSerializer(copied_contacts(ticket=ticket), many=True).data

    def _cc_contact(self, ticket: Ticket, request: StaffApiRequest) -> dict[str, Any]:
        payload = CcChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = Contact.objects.filter(
            tenant_id=ticket.tenant_id, pk=payload.validated_data["contact"]
        ).first()
        if contact is None:
            raise Http404
        return {"contact": contact}

    def _follower(self, ticket: Ticket, request: StaffApiRequest) -> dict[str, Any]:
        payload = FollowerChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = (
            Membership.objects.agents()
            .filter(tenant_id=ticket.tenant_id, user_id=payload.validated_data["agent"])
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Http404
        return {"agent": membership.user}

    def _followers(self, ticket: Ticket) -> Any:
        return FollowerSerializer(internal_followers(ticket=ticket), many=True).data

    def _people_action(
        self,
        request: StaffApiRequest,
        *,
        change: Callable[..., bool],
        person: Callable[[Ticket, StaffApiRequest], dict[str, Any]],
        answer: Callable[[Ticket], Any],
    ) -> Response:
        """The shape of the cc and followers actions: fetch the ticket; on a POST find the
        person the body names (``person``: 404 for one the tenant does not know) and call the
        service as the requesting agent; answer the list as it is now."""
        ticket = self.get_object()
        if request.method == "POST":
            change(
                ticket=ticket,
                **person(ticket, request),
                actor=request.user,
                channel=Channel.API,
            )
        return Response(answer(ticket))

    @extend_schema(methods=["GET"], responses=CopiedContactSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=CcChangeSerializer,
        responses={
            200: CopiedContactSerializer(many=True),
            400: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="cc", pagination_class=None)
    def cc(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """The contacts copied on the ticket; POST copies one more and answers the list (400
        for a contact of another organisation, 404 for one the tenant does not know; copying
        someone already on the ticket changes nothing)."""
        return self._people_action(
            request, change=ticket_cc_add, person=self._cc_contact, answer=self._copied
        )

    @extend_schema(
        request=CcChangeSerializer,
        responses={200: CopiedContactSerializer(many=True), 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="cc-remove")
    def cc_remove(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Stop copying a contact; answers the list (someone not copied: nothing changes)."""
        return self._people_action(
            request, change=ticket_cc_remove, person=self._cc_contact, answer=self._copied
        )

    @extend_schema(methods=["GET"], responses=FollowerSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=FollowerChangeSerializer,
        responses={200: FollowerSerializer(many=True), 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get", "post"], url_path="followers", pagination_class=None)
    def followers(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """The agents following the ticket (mailed about its replies and internal notes);
        POST adds one and answers the list (404 for anyone not an agent of the tenant)."""
        return self._people_action(
            request, change=ticket_follow, person=self._follower, answer=self._followers
        )

    @extend_schema(
        request=FollowerChangeSerializer,
        responses={200: FollowerSerializer(many=True), 404: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="followers-remove")
    def followers_remove(self, request: StaffApiRequest, ticket_id: str) -> Response:
        """Stop an agent following the ticket; answers the list."""
        return self._people_action(
            request, change=ticket_unfollow, person=self._follower, answer=self._followers
        )

    @extend_schema(
        request=BulkAssignSerializer,
        responses=inline_serializer("BulkAssigned", {"assigned": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request: StaffApiRequest) -> Response:
        """Assign many tickets at once; unknown ids are ignored."""
        payload = BulkAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        count = services.tickets_assign_bulk(
            tenant=request._request.tenant,
            ticket_ids=payload.validated_data["tickets"],
            assignee=payload.validated_data["assignee"],
            actor=request.user,
        )
        return Response({"assigned": count})
