"""The reports' forms: the time report's month picker (``YYYY-MM`` as ``<input
type="month">`` sends it) and the dashboard's period and filters."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.choices import Category, Channel
from contracts.models import Organisation, SupportPlan
from sla.choices import SupportLine
from sla.metrics import METRICS
from sla.models import Priority
from supportdesk.forms import is_plain_number
from supportdesk.models import AGENT_ROLES, Tenant, User

from .dashboard import AGE_BUCKETS, Period, TicketFilters
from .selectors import BANDS, month_following


class MonthForm(forms.Form):
    month = forms.CharField(label=_("Month"), required=False)

    def __init__(self, *args: object, today: dt.date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.today = today

    def clean_month(self) -> dt.date:
        """The first day of the chosen month; the current one (in the tenant) when empty."""
        value = self.cleaned_data["month"].strip()
        if not value:
            return self.today.replace(day=1)
        try:
            month = dt.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            raise forms.ValidationError(
                _("Choose a month such as %(example)s."),
                params={"example": self.today.strftime("%Y-%m")},
            ) from None
        if not 2000 <= month.year <= 9998:  # the page links to the months either side
            raise forms.ValidationError(_("Choose a month between 2000 and 9998."))
        return month


QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
LONGEST_RANGE = dt.timedelta(days=3 * 366)
"""A custom range covers at most about three years (the trend chart shows one)."""


class TenantChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A choice of one of the tenant's rows by pk: anything but ASCII digits (and a pk of
    another tenant, which the scoped queryset does not hold) is "not a valid choice"."""

    def to_python(self, value: Any) -> Any:
        text = str(value or "").strip()
        if text and not (is_plain_number(text) and len(text) < 12):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(text)


class AgentChoiceField(TenantChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class DashboardForm(forms.Form):
    """The dashboard's period (a month, a quarter or a range of days) and filters.

    The querysets are the tenant's (scoped managers; the agents by membership), read when
    the form is rendered or validated, inside the request's scope."""

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[("month", _("Month")), ("quarter", _("Quarter")), ("range", _("Custom range"))],
        required=False,
    )
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month"})
    )
    quarter = forms.CharField(
        label=_("Quarter"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2026-Q4", "size": 8}),
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    organisation = TenantChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), required=False
    )
    plan = TenantChoiceField(label=_("Plan"), queryset=SupportPlan.objects.none(), required=False)
    priority = TenantChoiceField(
        label=_("Priority"), queryset=Priority.objects.none(), required=False
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "—"), *Category.choices], required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", "—"), *Channel.choices], required=False
    )
    line = forms.TypedChoiceField(
        label=_("Line"),
        choices=[("", "—"), *SupportLine.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    agent = AgentChoiceField(label=_("Agent"), queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, tenant: Tenant, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        fields: Any = self.fields
        fields["organisation"].queryset = Organisation.objects.order_by("name")
        fields["plan"].queryset = SupportPlan.objects.order_by("name")
        fields["priority"].queryset = Priority.objects.order_by("rank", "name")
        fields["agent"].queryset = User.objects.filter(
            memberships__tenant=tenant, memberships__role__in=AGENT_ROLES
        ).order_by("first_name", "last_name", "username")

    period_names: tuple[str, ...] = ("period", "month", "quarter", "start", "end")
    filter_names: tuple[str, ...] = (
        "organisation", "plan", "priority", "category", "channel", "line", "agent",
    )  # fmt: skip
    hidden_names: tuple[str, ...] = ()

    def period_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.period_names]

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.filter_names]

    def hidden_fields_given(self) -> list[forms.BoundField]:
        """The fields a link set and the form only carries along (which chart part)."""
        return [self[name] for name in self.hidden_names]

    def _previous_month(self) -> dt.date:
        return (self.today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    def clean_month(self) -> dt.date:
        """The chosen month's first day; the previous month (the last closed one) when empty."""
        value = self.cleaned_data["month"].strip()
        if not value:
            return self._previous_month()
        try:
            month = dt.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            raise forms.ValidationError(
                _("Choose a month such as %(example)s."),
                params={"example": self._previous_month().strftime("%Y-%m")},
            ) from None
        if not 2000 <= month.year <= 9998:
            raise forms.ValidationError(_("Choose a month between 2000 and 9998."))
        return month

    def clean_quarter(self) -> dt.date | None:
        """The chosen quarter's first day, from ``2026-Q4``; None when empty."""
        value = self.cleaned_data["quarter"].strip()
        if not value:
            return None
        match = QUARTER.match(value)
        if match is None or not 2000 <= int(match.group(1)) <= 9998:
            raise forms.ValidationError(
                _("Choose a quarter such as %(example)s."),
                params={"example": f"{self.today.year}-Q{(self.today.month - 1) // 3 + 1}"},
            )
        return dt.date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("period") or "month"
        data["period"] = kind
        if kind == "quarter" and not self.has_error("quarter"):
            if data.get("quarter") is None:
                self.add_error("quarter", _("Choose a quarter."))
        if kind == "range":
            start, end = data.get("start"), data.get("end")
            if start is None and not self.has_error("start"):
                self.add_error("start", _("Choose the first day."))
            if end is None and not self.has_error("end"):
                self.add_error("end", _("Choose the last day."))
            if start and end:
                if end < start:
                    self.add_error("end", _("The last day cannot come before the first."))
                elif end - start > LONGEST_RANGE:
                    self.add_error("end", _("Choose a range of at most three years."))
                elif not (2000 <= start.year and end.year <= 9998):
                    self.add_error("start", _("Choose days between 2000 and 9998."))
        return data

    def period_value(self) -> Period:
        """The period chosen; call after :meth:`is_valid` returned True."""
        data = self.cleaned_data
        if data["period"] == "quarter":
            start = data["quarter"]
            end = month_following(month_following(month_following(start)))
            return Period("quarter", start, end)
        if data["period"] == "range":
            return Period("range", data["start"], data["end"] + dt.timedelta(days=1))
        return Period.month(data["month"])

    def filters_value(self) -> TicketFilters:
        data = self.cleaned_data
        return TicketFilters(
            organisation=data["organisation"],
            plan=data["plan"],
            priority=data["priority"],
            category=data["category"],
            channel=data["channel"],
            line=data["line"],
            agent=data["agent"],
        )

    def query(self, **changes: object) -> str:
        """The form's valid values as a query string, with ``changes`` (a drill-down link)."""
        params: dict[str, object] = {}
        for name in self.fields:
            value = self.data.get(name, "") if self.is_bound else ""
            if value and not self.has_error(name):
                params[name] = value
        params.update({k: v for k, v in changes.items()})
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


class TicketListForm(DashboardForm):
    """The dashboard's form and which part of a chart was followed (:class:`DrillDown`)."""

    metric = forms.ChoiceField(label=_("Metric"), required=False)
    missed = forms.BooleanField(label=_("Targets missed"), required=False)
    age = forms.ChoiceField(label=_("Age"), required=False)
    band = forms.ChoiceField(label=_("Share of the target used"), required=False)
    feedback = forms.ChoiceField(
        label=_("Rating or review"),
        choices=[
            ("", "—"),
            ("rated", _("Rated")),
            ("good", _("Rated good")),
            ("bad", _("Rated bad")),
            ("reviewed", _("Review done or overdue")),
            ("done", _("Review done")),
            ("overdue", _("Review overdue")),
        ],
        required=False,
    )

    hidden_names = ("metric", "missed", "age", "band", "feedback")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["metric"].choices = [("", "—"), *((k, r.label) for k, r in METRICS.items())]
        fields["age"].choices = [
            ("", "—"),
            ("all", _("Any age")),
            *((b.key, b.label) for b in AGE_BUCKETS),
        ]
        fields["band"].choices = [
            ("", "—"),
            ("all", _("Any share")),
            *((b.key, b.label) for b in BANDS),
        ]
