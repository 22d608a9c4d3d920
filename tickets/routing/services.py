"""Routing rules: where a new ticket goes, decided once, when it is filed.

:func:`routing_decide` reads the tenant's active rules (one query) and returns what they
say for the ticket being filed; :func:`tickets.services.ticket_create` puts the assignee and
support line into the ticket's own INSERT and records :func:`routing_record`'s ``routed``
event beside the ``created`` one, in the filing's transaction. The mail channel
(``notifications.channels.email``) reads that event and mails the people it names.

Semantics (as Jira Service Management automation and Zendesk triggers): rules are tried in
``position`` order; the first matching rule that assigns (a person and/or a support line)
decides the assignment and later ones do not change it; the notifications of *every*
matching rule apply, each person mailed once.

The admin's writes (:func:`routing_rule_save`, :func:`routing_rule_delete`,
:func:`routing_rule_move`) are audited like every configuration change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from contracts.models import Organisation
from sla.models import Priority
from supportdesk.models import AuditAction, Membership, Tenant, User
from supportdesk.services import audit_record, audit_snapshot

from ..choices import SupportLine
from ..events import event_record
from ..models import EventKind, NotifyRole, RoutingRule, Ticket, TicketEvent


@dataclass
class Routing:
    """What the matching rules decided for one ticket; ``data`` is the ``routed`` event's."""

    assignee: User | None = None
    support_line: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def acted(self) -> bool:
        return bool(self.data.get("rules"))


def _is_agent(user_id: int) -> bool:
    return Membership.objects.agents().filter(user_id=user_id).exists()


def _notified_user_id(organisation: Organisation, role: str, day: dt.date) -> int | None:
    if role == NotifyRole.PROJECT_MANAGER and not organisation.project_runs_on(day):
        return None
    user_id: int | None = getattr(organisation, f"{role}_id")
    return user_id


def routing_decide(
    *,
    organisation: Organisation | None,
    plan_id: int | None,
    category: str,
    channel: str,
    priority: Priority | None,
    day: dt.date,
) -> Routing:
    """What the tenant's active rules say for a ticket about to be filed with these values.

    ``day`` is the tenant's local day the ticket is received (the project manager is
    notified only while the project runs on it). One query for the rules; one more when
    the deciding rule names a person (still an agent?), one when someone is to be
    notified (their names, for the history). Caller holds the tenant's scope and, when
    filing, the filing's transaction.
    """
    rules = list(RoutingRule.objects.filter(is_active=True).select_related("assignee"))
    matching = [
        rule
        for rule in rules
        if rule.matches(
            organisation_id=organisation.pk if organisation else None,
            plan_id=plan_id,
            category=category,
            channel=channel,
            priority_id=priority.pk if priority else None,
        )
    ]
    routing = Routing()
    if not matching:
        return routing
    acted: list[dict[str, Any]] = []
    data: dict[str, Any] = {"rules": acted}
    deciding = next((rule for rule in matching if rule.assigns), None)
    if deciding is not None:
        data["assigned_by"] = deciding.pk
        if deciding.support_line is not None:
            routing.support_line = deciding.support_line
            data["line"] = deciding.support_line
        if deciding.assignee_id is not None and deciding.assignee is not None:
            if deciding.assignee.is_active and _is_agent(deciding.assignee_id):
                routing.assignee = deciding.assignee
                data["assignee_id"] = deciding.assignee_id
                data["assignee"] = str(deciding.assignee)
            else:  # left the tenant since the rule was saved: the rule's line still applies
                data["assignee_refused"] = str(deciding.assignee)
    people: dict[int, dict[str, Any]] = {}
    unfilled: list[str] = []
    for rule in matching:
        roles = list(rule.notify_roles) if organisation is not None else []
        if rule is not deciding and not roles:
            continue
        acted.append({"id": rule.pk, "name": rule.name, "notify": roles})
        for role in roles:
            user_id = _notified_user_id(organisation, role, day)  # type: ignore[arg-type]
            if user_id is None:
                if role not in unfilled:
                    unfilled.append(role)
                continue
            person = people.setdefault(user_id, {"user_id": user_id, "roles": [], "rules": []})
            if role not in person["roles"]:
                person["roles"].append(role)
            if rule.name not in person["rules"]:
                person["rules"].append(rule.name)
    if people:
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=people)}
        for user_id, person in people.items():
            person["name"] = names.get(user_id, "")
    data["notify"] = list(people.values())
    data["unfilled"] = unfilled
    routing.data = data
    return routing


def routing_record(
    *, ticket: Ticket, routing: Routing, channel: str, at: dt.datetime
) -> TicketEvent:
    """The ``routed`` event of a filing: which rules acted, the assignment they made and who
    is to be told (internal; the mail channel reads ``data["notify"]``). Caller is inside
    the filing's transaction and publishes the event with the ``created`` one."""
    names = ", ".join(rule["name"] for rule in routing.data["rules"])
    return event_record(
        ticket=ticket,
        kind=EventKind.ROUTED,
        channel=channel,
        new=names,
        is_public=False,
        at=at,
        data=routing.data,
    )


# --- The admin's writes ------------------------------------------------------------------


def _validated(rule: RoutingRule) -> None:
    rule.name = " ".join(rule.name.split())
    rule.full_clean(exclude=["tenant", "position"])
    errors: dict[str, Any] = {}
    # Foreign-key validation does not look at tenants; a rule never crosses one.
    if rule.organisation is not None and rule.organisation.tenant_id != rule.tenant_id:
        errors["organisation"] = _("Choose an organisation of this tenant.")
    if rule.plan is not None and rule.plan.tenant_id != rule.tenant_id:
        errors["plan"] = _("Choose a plan of this tenant.")
    if rule.priority is not None and rule.priority.tenant_id != rule.tenant_id:
        errors["priority"] = _("Unknown priority.")
    if rule.assignee_id is not None and not _is_agent(rule.assignee_id):
        errors["assignee"] = _("Choose an agent of this organisation.")
    if rule.support_line is not None and rule.support_line not in SupportLine.values:
        errors["support_line"] = _("Choose the 1st, 2nd or 3rd line.")
    if errors:
        raise ValidationError(errors)
    rule.notify_roles = [r for r in NotifyRole.values if r in rule.notify_roles]
    if not rule.assigns and not rule.notify_roles:
        raise ValidationError(
            _("A rule must do something: assign a person or a support line, or notify someone.")
        )


def routing_rule_save(*, rule: RoutingRule, actor: User) -> RoutingRule:
    """Check and store a routing rule (new or changed); audited. A new rule goes last.

    Refuses with ``ValidationError`` on the field: an organisation, plan or priority of
    another tenant, an assignee who is not an agent of this tenant, a rule with no action;
    nothing is saved. Caller checked ``actor`` is an admin and holds the tenant's scope.
    """
    _validated(rule)
    with transaction.atomic():
        if rule.pk is None:
            last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
            rule.position = (last or 0) + 1
        before = audit_snapshot(rule)
        rule.save()
        audit_record(instance=rule, actor=actor, before=before)
    return rule


def _renumbered(rules: list[RoutingRule]) -> None:
    for number, rule in enumerate(rules, start=1):
        if rule.position != number:
            rule.position = number
            rule.save(update_fields=["position"])


def routing_rule_delete(*, rule: RoutingRule, actor: User) -> None:
    """Delete a rule (tickets it routed keep their history); audited."""
    with transaction.atomic():
        before = audit_snapshot(rule)
        audit_record(instance=rule, actor=actor, before=before, action=AuditAction.DELETED)
        rule.delete()
        _renumbered(list(RoutingRule.objects.select_for_update()))


def routing_rule_move(*, rule: RoutingRule, position: int, actor: User) -> RoutingRule:
    """Put ``rule`` at ``position`` (1 is tried first; beyond the end means last) and number
    the tenant's rules 1, 2, 3 … again; audited. Caller holds the tenant's scope."""
    if position < 1:
        raise ValidationError({"position": _("Positions start at 1.")})
    with transaction.atomic():
        rules = [r for r in RoutingRule.objects.select_for_update() if r.pk != rule.pk]
        before = audit_snapshot(rule)
        rules.insert(min(position, len(rules) + 1) - 1, rule)
        _renumbered(rules)
        audit_record(instance=rule, actor=actor, before=before)
    return rule


def tenant_rules(tenant: Tenant) -> list[RoutingRule]:
    """The tenant's rules in the order they are tried, with what their labels show."""
    return list(
        RoutingRule.objects.filter(tenant=tenant).select_related(
            "organisation", "plan", "priority", "assignee"
        )
    )
