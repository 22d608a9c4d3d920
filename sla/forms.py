"""Forms of the SLA admin pages: parsing only; :mod:`sla.services` validates and saves."""

from __future__ import annotations

import json
import re
from typing import Any
from zoneinfo import available_timezones

import holidays
from babel import Locale, UnknownLocaleError
from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from sla.choices import SupportLine
from supportdesk.models import Membership, User

from .calendar import WEEKDAYS, BusinessCalendar
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


WEEKDAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}
HOURS_HELP = _("For example 08:00-12:00, 13:00-17:00 (a lunch closure); empty: closed.")
_CLOSURE_LINE = re.compile(r"^(\S+)\s*(?:\.\.|–|—|\bto\b)?\s*(\S+)?\s*(.*)$")


def _country_choices() -> list[tuple[str, Any]]:
    """Every country the holidays library knows, by its name in the reader's language (the
    CLDR's, through Babel), with its code."""
    try:
        names = Locale.parse(translation.to_locale(translation.get_language() or "en")).territories
    except (ValueError, UnknownLocaleError):
        names = Locale.parse("en").territories
    codes = {info[1] for info in holidays.registry.COUNTRIES.values()}
    return [("", _("No public holidays"))] + sorted(
        ((code, f"{names.get(code, code)} ({code})") for code in codes),
        key=lambda choice: choice[1].casefold(),
    )


def _day_field(day: str) -> forms.CharField:
    """A day of the week grid: its hours as text; the grid's one help text describes it."""
    widget = forms.TextInput(attrs={"aria-describedby": "week-help"})
    return forms.CharField(label=WEEKDAY_LABELS[day], required=False, widget=widget)


def _hours_text(hours: Any) -> str:
    return ", ".join(hours) if isinstance(hours, list) else ""


def _hours_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


class CalendarForm(forms.Form):
    """A calendar as fields (the week as a grid of days, holidays from a list of countries,
    closures and date overrides as rows) with the JSON under "Advanced".

    The JSON the page was drawn from travels in ``config_original``: when the admin edited
    the JSON, it wins; otherwise the fields are laid over that JSON, so keys the fields do
    not show (holiday categories, extra and excluded dates, a subdivision) are kept. A post
    without ``config_original`` (an older page, a script) is the JSON alone.
    """

    name = forms.CharField(label=_("Name"), max_length=100)
    is_default = forms.BooleanField(label=_("Tenant default"), required=False)
    timezone = forms.ChoiceField(label=_("Time zone"), required=False)
    always_open = forms.BooleanField(
        label=_("Always open (24/7): the weekly hours do not apply"), required=False
    )
    mon = _day_field("mon")
    tue = _day_field("tue")
    wed = _day_field("wed")
    thu = _day_field("thu")
    fri = _day_field("fri")
    sat = _day_field("sat")
    sun = _day_field("sun")
    eve_hours = forms.CharField(
        label=_("The day before a public holiday"),
        required=False,
        help_text=_("Shorter hours on eves, e.g. 08:00-13:00; empty: a normal day."),
    )
    holiday_country = forms.ChoiceField(label=_("Public holidays of"), required=False)
    closures = forms.CharField(
        label=_("Closures"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line: first and last day (MM-DD every year, or YYYY-MM-DD once) and a "
            "name, e.g. 07-01 07-31 Summer closure."
        ),
    )
    overrides = forms.CharField(
        label=_("Days with other hours"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line: a date and its hours, e.g. 2026-12-30: 09:00-12:00; "
            "'closed' for a day closed."
        ),
    )
    config = forms.CharField(
        label=_("Configuration (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
        help_text=_(
            "timezone; week: mon..sun lists of HH:MM-HH:MM; holidays: country, categories, "
            "extra, exclude; eve_hours: hours on the day before a holiday; closures: "
            "[{from, to}] as MM-DD or YYYY-MM-DD; overrides: {date: [hours]}; always_open."
        ),
    )
    config_original = forms.CharField(required=False, widget=forms.HiddenInput)

    VISUAL = ("timezone", "always_open", *WEEKDAYS, "eve_hours", "holiday_country")
    ROWS = ("closures", "overrides")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(z, z) for z in sorted(available_timezones())]  # type: ignore[attr-defined]
        self.fields["holiday_country"].choices = _country_choices()  # type: ignore[attr-defined]
        raw = self.initial.get("config")
        if raw and not self.is_bound:
            self.initial.update(self.visual_initial(json.loads(raw)))
            self.initial["config_original"] = raw

    @staticmethod
    def visual_initial(config: dict[str, Any]) -> dict[str, Any]:
        """The fields' values for ``config``."""
        week = config.get("week") or {}
        holidays_raw = config.get("holidays") or {}
        closures = config.get("closures") or []
        overrides = config.get("overrides") or {}
        return {
            "timezone": config.get("timezone", ""),
            "always_open": bool(config.get("always_open")),
            **{day: _hours_text(week.get(day)) for day in WEEKDAYS},
            "eve_hours": _hours_text(config.get("eve_hours")),
            "holiday_country": holidays_raw.get("country") or "",
            "closures": "\n".join(
                " ".join(filter(None, (c.get("from"), c.get("to"), c.get("name"))))
                for c in closures
                if isinstance(c, dict)
            ),
            "overrides": "\n".join(
                f"{day}: {_hours_text(hours) or 'closed'}" for day, hours in overrides.items()
            ),
        }

    def visual_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("timezone", "always_open", "holiday_country")]

    hours_help = HOURS_HELP

    def week_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in (*WEEKDAYS, "eve_hours")]

    def row_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ROWS]

    def _json(self, raw: str, field: str) -> Any:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            self.add_error(
                field,
                forms.ValidationError(
                    _("Not valid JSON at line %(line)d, column %(col)d: %(msg)s."),
                    params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
                ),
            )
            return None

    def _from_fields(self, base: dict[str, Any]) -> dict[str, Any] | None:
        """``base`` with the fields laid over it, or None after adding a field's error."""
        data = self.cleaned_data
        config = dict(base)

        def put(key: str, value: Any, empty: Any) -> None:
            # A key the saved JSON lacks stays out while the field is empty: an unchanged
            # form saves the same configuration (no audit row, no recompute).
            if key in base or value != empty:
                config[key] = value

        config["timezone"] = data.get("timezone") or base.get("timezone")
        put("always_open", bool(data.get("always_open")), False)
        base_week = base.get("week") or {}
        week = {day: _hours_list(data.get(day, "")) for day in WEEKDAYS}
        put("week", {day: hours for day, hours in week.items() if hours or day in base_week}, {})
        put("eve_hours", _hours_list(data.get("eve_hours", "")) or None, None)
        holidays_raw = dict(base.get("holidays") or {})
        if data.get("holiday_country"):
            if holidays_raw.get("country") != data["holiday_country"]:
                holidays_raw.pop("subdiv", None)  # another country's subdivision is meaningless
            holidays_raw["country"] = data["holiday_country"]
            holidays_raw.setdefault("categories", ["public"])
            config["holidays"] = holidays_raw
        else:
            put("holidays", None, None)
        closures = []
        for line in (data.get("closures") or "").splitlines():
            if not line.strip():
                continue
            match = _CLOSURE_LINE.match(line.strip())
            first, last, name = match.groups() if match else (line, None, "")
            closure = {"from": first, "to": last or first}
            if name.strip():
                closure["name"] = name.strip()
            closures.append(closure)
        put("closures", closures, [])
        overrides: dict[str, list[str]] = {}
        for line in (data.get("overrides") or "").splitlines():
            if not line.strip():
                continue
            day, colon, hours = line.partition(":")
            if not colon:
                self.add_error(
                    "overrides",
                    _("%(line)r: expected a date, a colon and its hours.") % {"line": line},
                )
                return None
            hours = hours.strip()
            closed = hours.lower() in ("closed", str(_("closed")).lower())
            overrides[day.strip()] = [] if closed else _hours_list(hours)
        put("overrides", overrides, {})
        return config

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw, original = data.get("config") or "", data.get("config_original") or ""
        if not raw and not original:
            self.add_error("config", _("This field is required."))
            return data
        edited = self._json(raw, "config") if raw else None
        before = self._json(original, "config") if original else None
        if self.errors:
            return data
        if raw and edited != before:
            config, error_field = edited, "config"  # the JSON was edited: it wins
        else:
            config, error_field = self._from_fields(before or {}), ""
        if config is None:
            return data
        try:
            BusinessCalendar.from_dict(config)
        except ValueError as exc:
            # The engine names the field ("week.mon[0]: malformed interval '8-12'") in
            # English, with a code and parameters this app words in the reader's language.
            self.add_error(error_field or self._field_of(exc), calendar_error(exc))
            return data
        data["config"] = config
        return data

    @staticmethod
    def _field_of(exc: ValueError) -> str | None:
        """The form field a refusal of the fields' calendar belongs to (None: the form)."""
        path = str(getattr(exc, "params", {}).get("field", "")) or getattr(exc, "code", "")
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        if head == "week":
            day = re.match(r"week\.(\w+)", path)
            return day.group(1) if day and day.group(1) in WEEKDAYS else None
        return {
            "timezone": "timezone",
            "eve_hours": "eve_hours",
            "holidays": "holiday_country",
            "closures": "closures",
            "closure": "closures",
            "overrides": "overrides",
        }.get(head)


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
