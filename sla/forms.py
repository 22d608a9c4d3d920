"""Forms of the SLA admin pages: parsing only; :mod:`sla.services` validates and saves."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sla.choices import SupportLine
from supportdesk.models import Membership, User

from .calendar import BusinessCalendar
from .calendar_errors import calendar_error
from .models import Calendar, EscalationRule, Metric, Priority, SLAPolicy, TargetUnit
from .services import TargetSpec

EXAMPLE_CONFIG: dict[str, Any] = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "SE", "categories": ["public", "de_facto"], "extra": [], "exclude": []},
    "eve_hours": None,
    "closures": [],
    "overrides": {},
    "always_open": False,
}


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_default = forms.BooleanField(label=_("Tenant default"), required=False)
    config = forms.CharField(
        label=_("Configuration (JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
        help_text=_(
            "timezone; week: mon..sun lists of HH:MM-HH:MM; holidays: country, categories, "
            "extra, exclude; eve_hours: hours on the day before a holiday; closures: "
            "[{from, to}] as MM-DD or YYYY-MM-DD; overrides: {date: [hours]}; always_open."
        ),
    )

    def clean_config(self) -> dict[str, Any]:
        raw = self.cleaned_data["config"]
        try:
            config = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON at line %(line)d, column %(col)d: %(msg)s."),
                params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
            ) from exc
        try:
            BusinessCalendar.from_dict(config)
        except ValueError as exc:
            # The engine names the field ("week.mon[0]: malformed interval '8-12'") in
            # English, with a code and parameters this app words in the reader's language.
            raise calendar_error(exc) from exc
        return config  # type: ignore[no-any-return]


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    calendar = forms.ModelChoiceField(label=_("Calendar"), queryset=Calendar.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = Calendar.objects.all()  # type: ignore[attr-defined]


class TargetGridForm(forms.Form):
    """One row per priority (and one for every priority), one cell per metric."""

    def __init__(self, *args: Any, priorities: list[Priority], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.priorities: list[Priority | None] = [None, *priorities]
        calendars = Calendar.objects.all()
        for priority in self.priorities:
            for metric in Metric.values:
                prefix = self.cell(metric, priority)
                self.fields[f"{prefix}-amount"] = forms.IntegerField(
                    min_value=1, max_value=100000, required=False, label=_("Amount")
                )
                self.fields[f"{prefix}-unit"] = forms.ChoiceField(
                    choices=TargetUnit.choices,
                    initial=TargetUnit.HOURS,
                    required=False,
                    label=_("Unit"),
                )
                self.fields[f"{prefix}-calendar"] = forms.ModelChoiceField(
                    queryset=calendars,
                    required=False,
                    label=_("Calendar"),
                    empty_label=_("policy's calendar"),
                )

    @staticmethod
    def cell(metric: str, priority: Priority | None) -> str:
        return f"{metric}-{priority.pk if priority else 'all'}"

    def rows(self) -> list[tuple[Priority | None, list[tuple[Any, list[Any]]]]]:
        """For the template: each priority with its metric cells' bound fields."""
        return [
            (
                priority,
                [
                    (
                        Metric(metric).label,
                        [
                            self[f"{self.cell(metric, priority)}-{part}"]
                            for part in ("amount", "unit", "calendar")
                        ],
                    )
                    for metric in Metric.values
                ],
            )
            for priority in self.priorities
        ]

    def specs(self) -> list[TargetSpec]:
        out = []
        for priority in self.priorities:
            for metric in Metric.values:
                prefix = self.cell(metric, priority)
                out.append(
                    TargetSpec(
                        metric=metric,
                        priority=priority,
                        amount=self.cleaned_data.get(f"{prefix}-amount"),
                        unit=self.cleaned_data.get(f"{prefix}-unit") or TargetUnit.HOURS,
                        calendar=self.cleaned_data.get(f"{prefix}-calendar"),
                    )
                )
        return out

    @classmethod
    def initial_for(cls, policy: SLAPolicy) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for target in policy.targets.all():
            prefix = f"{target.metric}-{target.priority_id or 'all'}"
            initial[f"{prefix}-amount"] = target.amount
            initial[f"{prefix}-unit"] = target.unit
            initial[f"{prefix}-calendar"] = target.calendar_id
        return initial


class PriorityForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=10)
    name = forms.CharField(label=_("Name"), max_length=100)
    rank = forms.IntegerField(label=_("Rank"), min_value=1, max_value=99)
    definition = forms.CharField(
        label=_("Definition"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    examples = forms.CharField(
        label=_("Examples"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    is_default = forms.BooleanField(label=_("Default for new tickets"), required=False)


class EscalationRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    policy = forms.ModelChoiceField(
        label=_("Policy"),
        queryset=SLAPolicy.objects.none(),
        required=False,
        empty_label=_("every policy"),
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"),
        queryset=Priority.objects.none(),
        required=False,
        empty_label=_("every priority"),
    )
    metric = forms.ChoiceField(label=_("Metric"), choices=Metric.choices)
    threshold_percent = forms.IntegerField(
        label=_("At this share of the target (%)"),
        min_value=0,
        max_value=100,
        help_text=_("0 acts as soon as the clock starts; 100 acts at breach."),
    )
    move_to_line = forms.TypedChoiceField(
        label=_("Move to support line"),
        choices=[("", _("do not move")), *SupportLine.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    notify_assignee = forms.BooleanField(label=_("Notify the assignee"), required=False)
    notify_account_manager = forms.BooleanField(
        label=_("Notify the account manager"), required=False
    )
    notify_service_owner = forms.BooleanField(label=_("Notify the service owner"), required=False)
    notify_users = forms.ModelMultipleChoiceField(
        label=_("Also notify"), queryset=User.objects.none(), required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = SLAPolicy.objects.all()  # type: ignore[attr-defined]
        self.fields["priority"].queryset = Priority.objects.all()  # type: ignore[attr-defined]
        staff = Membership.objects.values("user_id")
        self.fields["notify_users"].queryset = User.objects.filter(pk__in=staff)  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(rule: EscalationRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "policy": rule.policy_id,
            "priority": rule.priority_id,
            "metric": rule.metric,
            "threshold_percent": rule.threshold_percent,
            "move_to_line": rule.move_to_line,
            "notify_assignee": rule.notify_assignee,
            "notify_account_manager": rule.notify_account_manager,
            "notify_service_owner": rule.notify_service_owner,
            "notify_users": [u.pk for u in rule.notify_users.all()],
            "is_active": rule.is_active,
        }
