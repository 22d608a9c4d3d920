"""Configuration edits (admins): each writes an audit event and recomputes what it moves."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from supportdesk.models import AuditAction, AuditEvent, Tenant, User
from supportdesk.notices import notice_sink
from tickets.models import Ticket

from ..calendar import BusinessCalendar
from ..calendar_errors import calendar_error
from ..models import (
    Calendar,
    EscalationRule,
    Priority,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)
from .recompute import clocks_recompute
from .refresh import sla_refresh

logger = logging.getLogger(__name__)


class CalendarsChanged(Protocol):
    def __call__(
        self,
        *,
        tenant: Tenant,
        calendar_ids: list[int],
        policy_ids: list[int],
        default_moved: bool,
    ) -> int: ...


_calendar_listeners: list[CalendarsChanged] = []


def calendars_changed_subscribe(listener: CalendarsChanged) -> None:
    """Call ``listener`` inside the transaction of each edit that moves what a working day is
    for some tickets: ``calendar_ids`` whose hours, days or closures changed, ``policy_ids``
    whose calendar was swapped, ``default_moved`` when another calendar became the default
    (tickets without a policy count on it). The tickets app subscribes to move its
    post-incident reviews' due times (clocks of its own the SLA app recomputes itself); this
    app never imports it (it is a higher layer). In the transaction, not after commit: the
    due times move with the edit or not at all."""
    if listener not in _calendar_listeners:
        _calendar_listeners.append(listener)


def _calendars_changed(
    *,
    tenant: Tenant,
    calendar_ids: Sequence[int] = (),
    policy_ids: Sequence[int] = (),
    default_moved: bool = False,
) -> None:
    if not (calendar_ids or policy_ids or default_moved):
        return
    for listener in list(_calendar_listeners):
        listener(
            tenant=tenant,
            calendar_ids=list(calendar_ids),
            policy_ids=list(policy_ids),
            default_moved=default_moved,
        )


def _config_event(
    *,
    tenant: Tenant,
    actor: User | None,
    obj: Any,
    action: str,
    old: Any = None,
    new: Any = None,
    recomputed: int = 0,
) -> AuditEvent:
    """One line in the tenant's audit trail (the same trail as every other setting)."""
    changes: dict[str, Any] = {}
    if old is not None or new is not None:
        changes["configuration"] = [old, new]
    if recomputed:
        changes["clocks_recomputed"] = [None, recomputed]
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes,
    )


def _validate_calendar_config(config: Any) -> dict[str, Any]:
    try:
        return BusinessCalendar.from_dict(config).to_dict()
    except ValueError as exc:
        raise ValidationError({"config": calendar_error(exc)}) from exc


def calendar_create(
    *, tenant: Tenant, name: str, config: dict[str, Any], is_default: bool, actor: User | None
) -> Calendar:
    """A new business calendar; ``config`` is validated by the engine (errors name the field)."""
    _validate_calendar_config(config)
    with transaction.atomic():
        if is_default:
            Calendar.objects.filter(is_default=True).update(is_default=False)
        calendar = Calendar(tenant=tenant, name=name.strip(), config=config, is_default=is_default)
        calendar.full_clean()
        calendar.save()
        _config_event(
            tenant=tenant, actor=actor, obj=calendar, action=AuditAction.CREATED, new=config
        )
        _calendars_changed(tenant=tenant, default_moved=is_default)
    return calendar


def calendar_update(
    *,
    calendar: Calendar,
    name: str,
    config: dict[str, Any],
    is_default: bool,
    actor: User | None,
    now: dt.datetime | None = None,
) -> int:
    """Change a calendar and recompute every live clock counted on it; returns that count.

    Saving it unchanged is a success that writes nothing (no audit line, no recompute).
    """
    _validate_calendar_config(config)
    if (calendar.name, calendar.config, calendar.is_default) == (name.strip(), config, is_default):
        return 0
    with transaction.atomic():
        old = calendar.config
        default_moved = is_default != calendar.is_default
        if is_default and not calendar.is_default:
            Calendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(
                is_default=False
            )
        calendar.name = name.strip()
        calendar.config = config
        calendar.is_default = is_default
        calendar.full_clean()
        calendar.save()
        count = 0
        if old != config:
            count = clocks_recompute(
                tenant=calendar.tenant,
                obj=calendar,
                spec={"calendar": calendar.pk, "old_config": old},
                why={"kind": "calendar", "name": calendar.name},
                now=now,
            )
        _config_event(
            tenant=calendar.tenant,
            actor=actor,
            obj=calendar,
            action=AuditAction.CHANGED,
            old=old,
            new=config,
            recomputed=count,
        )
        _calendars_changed(
            tenant=calendar.tenant,
            calendar_ids=[calendar.pk] if old != config else [],
            default_moved=default_moved,
        )
    return count


def policy_save(
    *,
    tenant: Tenant,
    policy: SLAPolicy | None,
    name: str,
    description: str,
    calendar: Calendar,
    actor: User | None,
) -> SLAPolicy:
    """Create or change a policy's name, description and calendar (recomputing its clocks).

    Saving it unchanged writes nothing.
    """
    with transaction.atomic():
        creating = policy is None
        if policy is None:
            policy = SLAPolicy(tenant=tenant)
            old = None
        else:
            old = _policy_json(policy)
            if old == {"name": name.strip(), "description": description, "calendar": calendar.pk}:
                return policy
        calendar_changed = not creating and policy.calendar_id != calendar.pk
        policy.name = name.strip()
        policy.description = description
        policy.calendar = calendar
        policy.full_clean()
        policy.save()
        count = 0
        if calendar_changed:
            count = clocks_recompute(
                tenant=tenant,
                obj=policy,
                spec={"policy_calendar": policy.pk},
                why={"kind": "target", "name": policy.name},
            )
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=policy,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            old=old,
            new=_policy_json(policy),
            recomputed=count,
        )
        if calendar_changed:
            _calendars_changed(tenant=tenant, policy_ids=[policy.pk])
    return policy


def _policy_json(policy: SLAPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "calendar": policy.calendar_id,
    }


def policy_update(
    *,
    tenant: Tenant,
    policy: SLAPolicy,
    name: str,
    description: str,
    calendar: Calendar,
    targets: Sequence[TargetSpec],
    actor: User | None,
) -> int:
    """The policy page's save: name, description, calendar and the target grid, all or
    nothing (one transaction). Returns the count of clocks recomputed."""
    with transaction.atomic():
        policy_save(
            tenant=tenant,
            policy=policy,
            name=name,
            description=description,
            calendar=calendar,
            actor=actor,
        )
        return policy_targets_set(policy=policy, targets=targets, actor=actor)


@dataclass(frozen=True)
class TargetSpec:
    """One cell of a policy's target grid; ``amount`` None means no promise."""

    metric: str
    priority: Priority | None
    amount: int | None
    unit: str = TargetUnit.HOURS
    calendar: Calendar | None = None


def policy_targets_set(
    *, policy: SLAPolicy, targets: Sequence[TargetSpec], actor: User | None
) -> int:
    """Replace the policy's targets with ``targets`` and recompute the clocks they govern.

    Changed amounts, units or calendars are recomputed in bulk from cached segments; tickets
    that gain or lose a promise are derived again from their history. Returns the count of
    clocks recomputed.
    """
    with transaction.atomic():
        existing = {(t.metric, t.priority_id): t for t in policy.targets.all()}
        old = [_target_json(t) for t in existing.values()]
        touched: list[int] = []
        shape_changed = False
        wanted: set[tuple[str, int | None]] = set()
        for spec in targets:
            key = (spec.metric, spec.priority.pk if spec.priority else None)
            current = existing.get(key)
            if spec.amount is None:
                continue
            wanted.add(key)
            if current is None:
                current = SLATarget(
                    tenant=policy.tenant, policy=policy, metric=spec.metric, priority=spec.priority
                )
                shape_changed = True
            elif (current.amount, current.unit, current.calendar_id) == (
                spec.amount,
                spec.unit,
                spec.calendar.pk if spec.calendar else None,
            ):
                continue
            current.amount = spec.amount
            current.unit = spec.unit
            current.calendar = spec.calendar
            current.full_clean(exclude=["policy", "priority"])
            current.save()
            touched.append(current.pk)
        gone = [t for key, t in existing.items() if key not in wanted]
        if not touched and not gone:
            return 0  # saved unchanged: nothing to record, nothing to recompute
        if gone:
            shape_changed = True
            SLATarget.objects.filter(pk__in=[t.pk for t in gone]).delete()
        what: dict[str, Any] = {}
        if touched:
            what["targets"] = touched
        if shape_changed:
            what["refresh_policy"] = policy.pk
        count = clocks_recompute(
            tenant=policy.tenant,
            obj=policy,
            spec=what,
            why={"kind": "target", "name": policy.name},
        )
        _config_event(
            tenant=policy.tenant,
            actor=actor,
            obj=policy,
            action=AuditAction.CHANGED,
            old={"targets": old},
            new={"targets": [_target_json(t) for t in policy.targets.all()]},
            recomputed=count,
        )
    return count


def _target_json(target: SLATarget) -> dict[str, Any]:
    return {
        "metric": target.metric,
        "priority": target.priority_id,
        "amount": target.amount,
        "unit": target.unit,
        "calendar": target.calendar_id,
    }


def priority_save(
    *,
    tenant: Tenant,
    priority: Priority | None,
    key: str,
    name: str,
    definition: str,
    examples: str,
    rank: int,
    is_default: bool,
    actor: User | None,
) -> Priority:
    """Create or change one level of the tenant's priority scheme; unchanged, writes nothing."""
    with transaction.atomic():
        creating = priority is None
        if priority is None:
            priority = Priority(tenant=tenant)
        old = None if creating else _priority_json(priority)
        wanted = {
            "key": key.strip(),
            "name": name.strip(),
            "rank": rank,
            "is_default": is_default,
            "definition": definition,
            "examples": examples,
        }
        if old == wanted:
            return priority
        if is_default:
            Priority.objects.filter(is_default=True).exclude(pk=priority.pk).update(
                is_default=False
            )
        priority.key = key.strip()
        priority.name = name.strip()
        priority.definition = definition
        priority.examples = examples
        priority.rank = rank
        priority.is_default = is_default
        priority.full_clean()
        priority.save()
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=priority,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            old=old,
            new=_priority_json(priority),
        )
    return priority


def _priority_json(priority: Priority) -> dict[str, Any]:
    return {
        "key": priority.key,
        "name": priority.name,
        "rank": priority.rank,
        "is_default": priority.is_default,
        "definition": priority.definition,
        "examples": priority.examples,
    }


def escalation_rule_save(
    *,
    tenant: Tenant,
    rule: EscalationRule | None,
    values: dict[str, Any],
    notify_users: Sequence[User],
    actor: User | None,
) -> EscalationRule:
    """Create or change an escalation rule; live clocks pick up new thresholds in bulk.

    Saving it unchanged writes nothing.
    """
    fields = (
        "name",
        "policy",
        "priority",
        "metric",
        "threshold_percent",
        "move_to_line",
        "notify_assignee",
        "notify_account_manager",
        "notify_service_owner",
        "is_active",
    )
    with transaction.atomic():
        creating = rule is None
        if rule is None:
            rule = EscalationRule(tenant=tenant)
        else:
            unchanged = all(getattr(rule, f) == values[f] for f in fields if f in values) and {
                u.pk for u in rule.notify_users.all()
            } == {u.pk for u in notify_users}
            if unchanged:
                return rule
        for field_name in fields:
            if field_name in values:
                setattr(rule, field_name, values[field_name])
        rule.full_clean()
        rule.save()
        rule.notify_users.set(notify_users)
        # New thresholds change when each live clock next needs the sweep.
        count = clocks_recompute(tenant=tenant, obj=rule, spec={"running": True}, why=None)
        _config_event(
            tenant=tenant,
            actor=actor,
            obj=rule,
            action=AuditAction.CREATED if creating else AuditAction.CHANGED,
            new={f: getattr(rule, f"{f}_id" if f in ("policy", "priority") else f) for f in fields},
            recomputed=count,
        )
    return rule


def sla_rebuild(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Rebuild every ticket's clocks and schedule row from its history; returns the count.

    For repairs after a restore or a migration that lost derived rows: each ticket goes
    through :func:`sla_refresh` in its own short transaction under its row lock, so the desk
    keeps working meanwhile. Thresholds already acted on are not acted on again (alerts are
    kept); one notice flush per tenant at the end. Caller is outside any transaction.
    """
    now = now or timezone.now()
    count = 0
    with scope(tenant=tenant):
        for ticket_id in Ticket.objects.order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)
                sla_refresh(ticket=ticket, now=now, flush_notices=False)
            count += 1
        with transaction.atomic():
            notice_sink().flush_on_commit(tenant_id=tenant.pk)
    return count
