"""The queue's filter parameters, a django-filter ``FilterSet`` read leniently: a value the
queue does not know (``status=nope``, ``priority=abc``) counts as not given, so it keeps its
default instead of failing the page, the API or a saved view."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from supportdesk.forms import is_plain_number

from ..choices import Category, Status, SupportLine
from ..models import ACTIVE_STATUSES, AgentProfile, Ticket, TicketQuerySet

MAX_DUE_WITHIN = 100 * 366 * 24 * 60
"""``due_within`` beyond a century of minutes means the same as a century (every ticket with a
due time) and keeps ``now + due_within`` inside the calendar."""

REFERENCE = re.compile(r"^(?:[A-Za-z]+-)?(\d{1,9})$")


@dataclass(frozen=True)
class QueueFilters:
    """The filters as the queue reads them; the defaults are the queue of every agent's
    tickets being worked on."""

    view: str = "all"  # all | mine | unassigned
    line: str = ""  # "" | "1" | "2" | "3" | "mine"
    due_within: int | None = None  # minutes; includes the breached
    breached: bool = False
    priority: int | None = None
    organisation: int | None = None
    status: str = "active"  # active | all | a status
    category: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Any) -> QueueFilters:
        """Lenient parsing of query parameters: unknown values fall back to the default."""
        return QueueFilterSet(params).values()


class PlainNumberField(forms.IntegerField):
    """A whole number in ASCII digits, fewer than 12 (so within a database integer): Django's
    own field also takes "5.0", "-5" or "٣"."""

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        if not (is_plain_number(text) and len(text) < 12):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


class FlagField(forms.Field):
    """On for "1", "true", "on" or "yes" in any case (a checkbox or an API client), off for
    anything else."""

    def to_python(self, value: Any) -> bool:
        return str(value or "").lower() in ("1", "true", "on", "yes")


class SearchField(forms.CharField):
    """The search text, stripped and cut to 100 characters rather than refused."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value))[:100]


class PlainNumberFilter(django_filters.Filter):
    field_class = PlainNumberField


class FlagFilter(django_filters.Filter):
    field_class = FlagField


class SearchFilter(django_filters.Filter):
    field_class = SearchField


def _choices(*values: Any) -> list[tuple[str, str]]:
    return [(str(v), str(v)) for v in values]


class QueueFilterSet(django_filters.FilterSet):
    """The queue's parameters: each filter's form field reads one, and the filters narrow the
    queryset in the order declared here. ``user`` is whose "mine" it is; ``now`` the moment
    "breached" and "due within" count from.

    :meth:`values` is what the parameters say, a refused value left at its default (the
    queue is lenient, unlike the API's other filters, which answer 400);
    :meth:`filter_values` applies a :class:`QueueFilters`, read or made in code."""

    # Each label is given: django-filter otherwise derives it from the model on every request.
    status = django_filters.ChoiceFilter(
        choices=_choices("active", "all", *Status.values), method="filter_status", label="status"
    )
    view = django_filters.ChoiceFilter(
        choices=_choices("all", "mine", "unassigned"), method="filter_view", label="view"
    )
    line = django_filters.ChoiceFilter(
        choices=_choices(*SupportLine.values, "mine"), method="filter_line", label="line"
    )
    breached = FlagFilter(method="filter_breached", label="breached")
    due_within = PlainNumberFilter(method="filter_due_within", label="due_within")
    priority = PlainNumberFilter(field_name="priority_id", label="priority")
    organisation = PlainNumberFilter(field_name="organisation_id", label="organisation")
    category = django_filters.ChoiceFilter(choices=_choices(*Category.values), label="category")
    q = SearchFilter(method="filter_q", label="q")

    _form_class: type[forms.Form]

    class Meta:
        model = Ticket
        fields: list[str] = []

    def __init__(
        self,
        data: Any = None,
        queryset: TicketQuerySet | None = None,
        *,
        user: Any = None,
        now: dt.datetime | None = None,
    ) -> None:
        # Reading the parameters needs no rows (and no tenant in scope): an empty queryset
        # stands in when the caller filters none.
        super().__init__(data, TicketQuerySet(Ticket).none() if queryset is None else queryset)
        self.user = user
        self.now = now or timezone.now()

    def get_form_class(self) -> type[forms.Form]:
        # The fields depend on nothing but the class, so the form class is built once
        # (django-filter builds one per instance; the queue makes two a request).
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def values(self) -> QueueFilters:
        """The parameters as the queue reads them: what is missing or refused, the default."""
        if not self.is_bound:
            return QueueFilters()
        self.form.is_valid()
        given = {k: v for k, v in self.form.cleaned_data.items() if v not in (None, "")}
        return QueueFilters(**given)

    def filter_queryset(self, queryset: Any) -> Any:
        return self.filter_values(queryset, self.values())

    def filter_values(self, queryset: TicketQuerySet, values: QueueFilters) -> TicketQuerySet:
        """``queryset`` narrowed by every filter, with ``values``' value for each."""
        given = dataclasses.asdict(values)
        for name, filter_ in self.filters.items():
            queryset = filter_.filter(queryset, given[name])
        return queryset

    def filter_status(self, queryset: Any, name: str, value: str) -> Any:
        if value == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset if value == "all" else queryset.filter(status=value)

    def filter_view(self, queryset: Any, name: str, value: str) -> Any:
        if value == "mine":
            return queryset.filter(assignee=self.user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset

    def filter_line(self, queryset: Any, name: str, value: str) -> Any:
        if value == "mine":
            mine = AgentProfile.objects.filter(user=self.user).values("support_line")[:1]
            return queryset.filter(support_line=Coalesce(Subquery(mine), Value(SupportLine.FIRST)))
        return queryset.filter(support_line=int(value))

    def filter_breached(self, queryset: Any, name: str, value: bool) -> Any:
        return queryset.filter(schedule__due_at__lte=self.now) if value else queryset

    def filter_due_within(self, queryset: Any, name: str, value: int) -> Any:
        within = dt.timedelta(minutes=min(value, MAX_DUE_WITHIN))
        return queryset.filter(schedule__due_at__lte=self.now + within)

    def filter_q(self, queryset: Any, name: str, value: str) -> Any:
        match = REFERENCE.match(value)
        if match:
            return queryset.filter(number=int(match.group(1)))
        return queryset.filter(
            Q(subject__icontains=value)
            | Q(requester__name__icontains=value)
            | Q(requester__email__icontains=value)
        )
