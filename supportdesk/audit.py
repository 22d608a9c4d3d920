"""The audit trail as people read it: the model's name, field labels and values in the
reader's language, dates in their format, and only the values that really changed.

Events store raw values (``{"is_fallback": [false, true], "organisation_id": [3, 4]}``,
see :func:`supportdesk.services.audit_record`), so the trail stays exact whatever the
language; this module turns them into words at read time. It looks models and fields up
by the event's ``object_type`` through the app registry, so it needs no import of the apps
above this one (the layers point one way).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format, number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .models import AuditEvent

# Keys some services add beside the model's own fields (see their ``extra=`` arguments).
EXTRA_LABELS = {
    "features": gettext_lazy("Feature matrix"),
    "plans": gettext_lazy("Plans that may read it"),
    "configuration": gettext_lazy("Configuration"),
    "clocks_recomputed": gettext_lazy("Due times recomputed"),
}
# Where an extra key's values are ids or keys of another model: (app label, model, lookup).
EXTRA_TARGETS = {
    "features": ("contracts", "feature", "key"),
    "plans": ("contracts", "supportplan", "pk"),
}
EMPTY = "—"
# The parts of a business calendar's configuration (``sla/calendar.py``, ``to_dict()``).
CONFIG_LABELS = {
    "timezone": gettext_lazy("Time zone"),
    "week": gettext_lazy("Opening hours"),
    "holidays": gettext_lazy("Public holidays"),
    "eve_hours": gettext_lazy("Hours on the day before a public holiday"),
    "closures": gettext_lazy("Closures"),
    "overrides": gettext_lazy("Date overrides"),
    "always_open": gettext_lazy("Open around the clock"),
}
# Lists of rows inside a configuration: (app label, model) whose fields name their values.
CONFIG_ROWS = {"targets": ("sla", "slatarget")}
CONFIG_LABELS["targets"] = gettext_lazy("Targets")
DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class ChangeLine:
    label: str
    old: str
    new: str


@dataclass
class AuditRow:
    event: AuditEvent
    kind: str
    lines: list[ChangeLine] = field(default_factory=list)


def model_for(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


# Models that keep Django's default verbose name (made from the class name, so not marked
# for translation); named here so makemessages finds them and gettext translates them.
DEFAULT_NAMES = [
    gettext_noop("calendar"),
    gettext_noop("priority"),
    gettext_noop("escalation rule"),
]


def kind_label(object_type: str) -> str:
    """``contracts.contact`` as the reader's language names it ("Kontakt")."""
    model = model_for(object_type)
    if model is None:
        return object_type.rpartition(".")[2].replace("_", " ")
    return str(capfirst(_(str(model._meta.verbose_name))))


def _field(model: type[models.Model] | None, key: str) -> models.Field[Any, Any] | None:
    if model is None:
        return None
    for f in model._meta.concrete_fields:
        if key in (f.name, f.attname):
            return f
    return None


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _moment(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return date_format(moment, "SHORT_DATETIME_FORMAT")


def _day(value: Any) -> str:
    day = parse_date(value) if isinstance(value, str) else value
    return str(value) if day is None else date_format(day, "SHORT_DATE_FORMAT")


def _number(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if number == number.to_integral_value():
        return number_format(int(number))
    return number_format(number)


def _list_choices(f: models.Field[Any, Any]) -> dict[str, str]:
    """Labels for a JSON list of choice values: a validator names its choices class."""
    for validator in f.validators:
        choices = getattr(validator, "choices", None)
        if choices is not None:
            return {str(v): str(label) for v, label in choices.choices}
    return {}


class _Related:
    """Names of related rows, fetched once per model for the whole page."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[type[models.Model], str], set[Any]] = defaultdict(set)
        self.names: dict[tuple[type[models.Model], str], dict[str, str]] = {}

    def want(self, model: type[models.Model], lookup: str, values: Iterable[Any]) -> None:
        self.wanted[(model, lookup)].update(v for v in values if v not in (None, ""))

    def fetch(self) -> None:
        for (model, lookup), values in self.wanted.items():
            rows = model._default_manager.filter(**{f"{lookup}__in": list(values)})
            key = "pk" if lookup == "pk" else lookup
            self.names[(model, lookup)] = {
                str(getattr(row, key) if key != "pk" else row.pk): str(row) for row in rows
            }

    def name(self, model: type[models.Model], lookup: str, value: Any) -> str:
        if value in (None, ""):
            return EMPTY
        found = self.names.get((model, lookup), {}).get(str(value))
        return found if found is not None else _("deleted (#%(id)s)") % {"id": value}


def _values_of(f: models.Field[Any, Any] | None, value: Any) -> list[Any]:
    """The related keys a raw value refers to (for one batched lookup)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return value
    return [value]


def _plain(f: models.Field[Any, Any] | None, value: Any, related: _Related) -> str:
    """One stored value in words."""
    if value is None or value == "" or value == []:
        return EMPTY
    if f is None:
        if isinstance(value, bool):
            return _yes_no(value)
        if isinstance(value, (int, float, Decimal)):
            return _number(value)
        if isinstance(value, dict):
            return _("changed")
        return str(value)
    if f.is_relation and f.related_model is not None:
        return related.name(f.related_model, "pk", value)  # type: ignore[arg-type]
    if f.flatchoices:
        labels = {str(v): str(label) for v, label in f.flatchoices}
        return labels.get(str(value), str(value))
    if isinstance(f, models.BooleanField) or isinstance(value, bool):
        return _yes_no(bool(value))
    if isinstance(f, models.DateTimeField):
        return _moment(value)
    if isinstance(f, models.DateField):
        return _day(value)
    if isinstance(f, models.TimeField):
        return str(value)[:5]
    if isinstance(f, (models.DecimalField, models.IntegerField, models.FloatField)):
        return _number(value)
    if isinstance(value, list):
        labels = _list_choices(f)
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):
        return _("changed")
    return str(value)


def _lines(
    model: type[models.Model] | None, changes: dict[str, Any], related: _Related
) -> list[ChangeLine]:
    lines = []
    for key, pair in changes.items():
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        f = _field(model, key)
        if key in EXTRA_TARGETS:
            app_label, model_name, lookup = EXTRA_TARGETS[key]
            target = apps.get_model(app_label, model_name)
            lines.extend(_target_lines(key, old, new, target, lookup, related))
            continue
        if isinstance(old, dict) or isinstance(new, dict):
            lines.extend(_config_lines(model, old or {}, new or {}, related))
            continue
        label = (
            str(capfirst(f.verbose_name))
            if f is not None
            else str(EXTRA_LABELS.get(key, key.replace("_", " ")))
        )
        old_words, new_words = _plain(f, old, related), _plain(f, new, related)
        if old_words == new_words and not isinstance(new, dict):
            continue  # the same in words (0 and 0.00): not a change anyone can see
        lines.append(ChangeLine(label, old_words, new_words))
    return lines


def _target_lines(
    key: str,
    old: Any,
    new: Any,
    target: type[models.Model],
    lookup: str,
    related: _Related,
) -> list[ChangeLine]:
    """A matrix ({feature key: label}) or a set of ids, as the lines that differ."""
    label = str(EXTRA_LABELS[key])
    if isinstance(old, dict) or isinstance(new, dict):
        old, new = old or {}, new or {}
        lines = []
        for item in sorted(set(old) | set(new)):
            if old.get(item) == new.get(item) and (item in old) == (item in new):
                continue
            name = f"{label}: {related.name(target, lookup, item)}"
            lines.append(ChangeLine(name, _included(old, item), _included(new, item)))
        return lines
    before = [related.name(target, lookup, v) for v in old or []]
    after = [related.name(target, lookup, v) for v in new or []]
    if sorted(before) == sorted(after):
        return []
    return [ChangeLine(label, ", ".join(before) or EMPTY, ", ".join(after) or EMPTY)]


def _config_lines(
    model: type[models.Model] | None, old: dict[str, Any], new: dict[str, Any], related: _Related
) -> list[ChangeLine]:
    """A configuration's changed parts, each in words: the model's own fields by their
    labels, a calendar's parts (week, holidays, ...) by theirs."""
    lines = []
    for part in [*CONFIG_LABELS, *sorted((set(old) | set(new)) - set(CONFIG_LABELS))]:
        if part not in old and part not in new:
            continue
        f = _field(model, part)
        if f is not None:
            label = f.verbose_name
            before, after = _plain(f, old.get(part), related), _plain(f, new.get(part), related)
        elif part in CONFIG_ROWS:
            label = CONFIG_LABELS[part]
            row_model = apps.get_model(*CONFIG_ROWS[part])
            rows_before = _rows_words(row_model, old.get(part), related)
            rows_after = _rows_words(row_model, new.get(part), related)
            # Only the rows that differ: a grid of twenty targets with one changed is one line.
            before = "; ".join(w for w in rows_before if w not in rows_after) or EMPTY
            after = "; ".join(w for w in rows_after if w not in rows_before) or EMPTY
        else:
            label = CONFIG_LABELS.get(part, part.replace("_", " "))
            before, after = _config_words(part, old.get(part)), _config_words(part, new.get(part))
        if before != after:
            lines.append(ChangeLine(str(capfirst(label)), before, after))
    return lines


def _rows_words(model: type[models.Model], rows: Any, related: _Related) -> list[str]:
    """Rows stored as dicts of field values, each as its labelled values, in a stable order."""
    words = []
    for row in rows or []:
        if isinstance(row, dict):
            parts = []
            for key, value in row.items():
                f = _field(model, key)
                if f is not None and value is not None:
                    parts.append(f"{capfirst(f.verbose_name)} {_plain(f, value, related)}")
            words.append(", ".join(parts))
    return sorted(words)


def _intervals(value: Any) -> str:
    return ", ".join(str(v).replace("-", "–") for v in value or []) or _("closed")


def _config_words(part: str, value: Any) -> str:
    if value is None or value in ([], {}):
        return EMPTY
    if isinstance(value, bool):
        return _yes_no(value)
    if part == "week" and isinstance(value, dict):
        names = dict(zip(DAY_KEYS, WEEKDAYS_ABBR.values(), strict=True))
        return "; ".join(
            f"{capfirst(names.get(day, day))} {_intervals(value[day])}"
            for day in DAY_KEYS + sorted(set(value) - set(DAY_KEYS))
            if day in value
        )
    if part == "eve_hours":
        return _intervals(value)
    if part == "overrides" and isinstance(value, dict):
        return "; ".join(f"{_day(day)} {_intervals(ivs)}" for day, ivs in sorted(value.items()))
    if part == "closures" and isinstance(value, list):
        return "; ".join(
            f"{_day(c.get('from'))}–{_day(c.get('to'))}"
            + (f" {c['name']}" if c.get("name") else "")
            for c in value
            if isinstance(c, dict)
        )
    if part == "holidays" and isinstance(value, dict):
        words = [str(value.get("country") or "")]
        if value.get("subdiv"):
            words.append(str(value["subdiv"]))
        extra = [_day(d) for d in value.get("extra") or []]
        exclude = [_day(d) for d in value.get("exclude") or []]
        if extra:
            words.append(_("also closed %(days)s") % {"days": ", ".join(extra)})
        if exclude:
            words.append(_("open on %(days)s") % {"days": ", ".join(exclude)})
        return ", ".join(w for w in words if w)
    if isinstance(value, (dict, list)):
        return _("changed")
    return str(value)


def _included(matrix: dict[str, Any], item: str) -> str:
    if item not in matrix:
        return _("not included")
    return str(matrix[item]) or _("included")


def _want_config(
    model: type[models.Model] | None, config: dict[str, Any], related: _Related
) -> None:
    for part, value in config.items():
        f = _field(model, part)
        if f is not None and f.is_relation and f.related_model is not None:
            related.want(f.related_model, "pk", [value])  # type: ignore[arg-type]
        elif part in CONFIG_ROWS and isinstance(value, list):
            row_model = apps.get_model(*CONFIG_ROWS[part])
            for row in value:
                if isinstance(row, dict):
                    _want_config(row_model, row, related)


def _fill_missing_before(events: list[AuditEvent]) -> None:
    """A changed configuration recorded with its new state only: its old state is the
    previous event's new state of the same object (looked up once when off the page)."""
    newest_first = sorted(events, key=lambda e: (e.at, e.pk), reverse=True)
    for position, event in enumerate(newest_first):
        pair = (event.changes or {}).get("configuration")
        if event.action != "changed" or not isinstance(pair, list) or pair[0] is not None:
            continue
        earlier = next(
            (
                e
                for e in newest_first[position + 1 :]
                if (e.object_type, e.object_id) == (event.object_type, event.object_id)
            ),
            None,
        ) or (
            AuditEvent.objects.filter(
                object_type=event.object_type, object_id=event.object_id, pk__lt=event.pk
            )
            .order_by("-pk")
            .first()
        )
        previous = (earlier.changes or {}).get("configuration") if earlier else None
        if isinstance(previous, list) and len(previous) == 2 and isinstance(previous[1], dict):
            event.changes = {**event.changes, "configuration": [previous[1], pair[1]]}


def audit_rows(events: Iterable[AuditEvent]) -> list[AuditRow]:
    """The events as rows of words, related names fetched once per model for all of them."""
    events = list(events)
    _fill_missing_before(events)
    related = _Related()
    for event in events:
        model = model_for(event.object_type)
        for key, pair in (event.changes or {}).items():
            values = pair if isinstance(pair, list) else [None, pair]
            if key in EXTRA_TARGETS:
                app_label, model_name, lookup = EXTRA_TARGETS[key]
                target = apps.get_model(app_label, model_name)
                for value in values:
                    related.want(target, lookup, _values_of(None, value))
                continue
            f = _field(model, key)
            if f is not None and f.is_relation and f.related_model is not None:
                related.want(f.related_model, "pk", values)  # type: ignore[arg-type]
            for value in values:
                if isinstance(value, dict):
                    _want_config(model, value, related)
    related.fetch()
    return [
        AuditRow(
            event=event,
            kind=kind_label(event.object_type),
            lines=_lines(model_for(event.object_type), event.changes or {}, related),
        )
        for event in events
    ]
