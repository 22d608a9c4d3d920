"""Template filters for the agent pages."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.translation import gettext as _

from sla.explanations import business_duration_parts
from tickets.choices import Category, Channel, Rating, Status, SupportLine, VendorState
from tickets.models import EventKind, LinkKind, NotifyRole, link_label

register = template.Library()


@register.filter
def business_time(seconds: float | None, engine: Any = None) -> str:
    """Signed business seconds of ``engine``'s calendar as words: "11 business hours left
    (about 1.5 working days)" / "overdue by 40 business minutes"; around the clock, plain
    hours and days."""
    if seconds is None:
        return _("no due time")
    time, about = business_duration_parts(abs(seconds), engine)
    if math.copysign(1.0, seconds) < 0:  # -0.0 too: due passed while support was closed
        words = _("overdue by %(time)s") % {"time": time}
    else:
        words = _("%(time)s left") % {"time": time}
    return f"{words} ({about})" if about else words


@register.filter
def event_value(event: Any, which: str) -> str:
    """An event's old or new value as the reader's language names it ("Nytt", not "new")."""
    raw = event.old_value if which == "old" else event.new_value
    if event.kind == EventKind.ROUTED and which == "new":
        return routing_words(event.data) if event.data.get("rules") else raw
    labels: dict[str, Any] = {
        EventKind.CREATED: Status,
        EventKind.STATUS_CHANGED: Status,
        EventKind.CONVERTED: Category,
        EventKind.RATED: Rating,
        EventKind.VENDOR_STATE: VendorState,
    }
    if event.kind in (EventKind.LINKED, EventKind.UNLINKED) and which == "new":
        return link_words(event.data) or raw or ""
    if event.kind == EventKind.BILLABLE_CHANGED and raw in ("True", "False"):
        return _("billable") if raw == "True" else _("not billable")
    choices = labels.get(event.kind)
    if choices is None or raw in (None, ""):
        return raw or ""
    names = {str(value): label for value, label in choices.choices}
    return str(names.get(str(raw), raw))


@register.filter
def event_channel(event: Any) -> str:
    """The channel an event came by, in words, when it tells the reader something.

    Staff working in these pages act through the "portal" channel; "· Portal" beside an
    agent's change would read as if the customer did it, so only a customer's channel,
    and staff's phone, e-mail or API, are named.
    """
    if not event.channel or (event.by_staff and event.channel == Channel.PORTAL):
        return ""
    labels = dict(Channel.choices)
    return str(labels.get(event.channel, event.channel))


def link_words(data: dict[str, Any]) -> str:
    """A link event in the reader's language: "caused by TA-1002" on one ticket, "causes
    TA-1001" on the other. Empty for events written before the data held the side."""
    kind, reference = data.get("link_kind"), data.get("other_reference")
    if kind not in LinkKind.values or "outgoing" not in data or not reference:
        return ""
    return f"{link_label(kind, outgoing=bool(data['outgoing']))} {reference}"


def routing_words(data: dict[str, Any]) -> str:
    """A ``routed`` event in the reader's language: "Enterprise: assigned to Anna; notified:
    Lena (Customer Success Manager)"."""
    roles = dict(NotifyRole.choices)
    parts = []
    if data.get("assignee"):
        parts.append(_("assigned to %(person)s") % {"person": data["assignee"]})
    if data.get("line") in SupportLine.values:
        parts.append(_("support line: %(line)s") % {"line": SupportLine(data["line"]).label})
    if data.get("assignee_refused"):
        parts.append(
            _("%(person)s is no longer an agent and was not assigned")
            % {"person": data["assignee_refused"]}
        )
    people = [
        f"{p.get('name', '')} ({', '.join(str(roles.get(r, r)) for r in p.get('roles', []))})"
        for p in data.get("notify", [])
    ]
    if people:
        parts.append(_("notified: %(people)s") % {"people": "; ".join(people)})
    if data.get("unfilled"):
        missing = ", ".join(str(roles.get(r, r)) for r in data["unfilled"])
        parts.append(_("nobody to notify as: %(roles)s") % {"roles": missing})
    names = ", ".join(str(rule.get("name", "")) for rule in data.get("rules", []))
    return f"{names}: " + "; ".join(parts) if parts else names
