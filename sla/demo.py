"""Demo SLA configuration (calendars, priorities, policies, escalation rules) from the
tenant's ``demo/<slug>.yaml``, created through the configuration services an admin's pages
use, so it is validated and audited like theirs. Idempotent: every row is looked up by its
name or key first, and a service saving it unchanged writes nothing.

Choices where the sources are silent (also in docs/sla.md):

- Synerity "Guld": 2 business hours for every ticket, and 1 business hour for P1 "Akut"
  ("snabbare responstid vid akuta incidenter"): faster, but not around the clock, since
  support answers weekdays 08-17. The "Dygnet runt" calendar stays configured so an admin
  can choose a 24/7 promise visibly. Response only: the tiers promise no resolution time.
- Stratsys: the page gives no hours; we assume weekdays 08:00-17:00, Swedish holidays.
- SoftOne: "påbörjar arbetet" is modelled as the first-response target (work started).
- ITSL: P2 resolution "1-2 arbetsdagar" is taken at its outer bound, 2 working days; P4
  resolution is "by agreement": no target.
- Syneton "Maintenance": the contract states hours but no times; we assume a first answer by
  the end of the next working day for every priority, 4 business hours for "Hoog", and no
  resolution promise (issues and change requests are planned into releases).
- Swedish offices close on Midsommarafton, Julafton and Nyårsafton: in the holidays package
  those are "de facto" holidays, so the Swedish calendars list both categories. With them
  closed, SoftOne's short day falls on the working day before.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from supportdesk.demo import Section, tenant_demo
from supportdesk.models import Tenant, User

from .models import Calendar, EscalationRule, Metric, Priority, SLAPolicy, TargetUnit
from .services import (
    TargetSpec,
    calendar_create,
    calendar_update,
    escalation_rule_save,
    policy_save,
    policy_targets_set,
    priority_save,
)

# The flags an escalation rule may set besides its metric and threshold.
RULE_FLAGS = ("notify_assignee", "notify_account_manager", "notify_service_owner")


def _choice(section: Section, key: str, choices: list[str], default: Any = None) -> str:
    value = section.str(key) if default is None else section.str(key, default)
    if value not in choices:
        raise section.error(key, f"unknown value {value!r}; choose one of {', '.join(choices)}")
    return str(value)


def _calendars(tenant: Tenant, data: Section) -> dict[str, Calendar]:
    out = {}
    for item in data.sections("calendars"):
        name, config = item.str("name"), item.mapping("config")
        default = item.bool("default", False)
        existing = Calendar.objects.filter(name=name).first()
        try:
            if existing is None:
                existing = calendar_create(
                    tenant=tenant, name=name, config=config, is_default=default, actor=None
                )
            else:
                calendar_update(
                    calendar=existing, name=name, config=config, is_default=default, actor=None
                )
        except ValidationError as exc:
            raise item.refused(exc, {"is_default": "default"}) from exc
        out[name] = existing
    return out


def _priorities(tenant: Tenant, data: Section) -> dict[str, Priority]:
    out = {}
    for rank, item in enumerate(data.sections("priorities"), start=1):
        key = item.str("key")
        try:
            out[key] = priority_save(
                tenant=tenant,
                priority=Priority.objects.filter(key=key).first(),
                key=key,
                name=item.str("name"),
                definition=item.str("definition", ""),
                examples=item.str("examples", ""),
                rank=rank,
                is_default=item.bool("default", False),
                actor=None,
            )
        except ValidationError as exc:
            raise item.refused(exc, {"is_default": "default"}) from exc
    return out


def _named(section: Section, key: str, known: dict[str, Any], what: str) -> Any:
    """The row ``section[key]`` names among ``known``; None when the key is null or absent."""
    name = section.str(key, None)
    if name is None:
        return None
    if name not in known:
        raise section.error(key, f"unknown {what} {name!r}")
    return known[name]


def _policies(
    tenant: Tenant, data: Section, calendars: dict[str, Calendar], priorities: dict[str, Priority]
) -> None:
    for item in data.sections("policies"):
        name = item.str("name")
        calendar = _named(item, "calendar", calendars, "calendar")
        if calendar is None:
            raise item.error("calendar", "missing")
        targets = [
            TargetSpec(
                metric=_choice(target, "metric", Metric.values),
                priority=_named(target, "priority", priorities, "priority"),
                amount=target.int("amount"),
                unit=_choice(target, "unit", TargetUnit.values),
                calendar=_named(target, "calendar", calendars, "calendar"),
            )
            for target in item.sections("targets")
        ]
        try:
            policy = policy_save(
                tenant=tenant,
                policy=SLAPolicy.objects.filter(name=name).first(),
                name=name,
                description=item.str("description", ""),
                calendar=calendar,
                actor=None,
            )
            policy_targets_set(policy=policy, targets=targets, actor=None)
        except ValidationError as exc:
            raise item.refused(exc) from exc


def _staff(tenant: Tenant, role: str) -> User | None:
    return User.objects.filter(username=f"{tenant.slug}-{role}").first()


def _rules(tenant: Tenant, data: Section, priorities: dict[str, Priority]) -> None:
    for item in data.sections("escalation_rules"):
        name = item.str("name")
        values: dict[str, Any] = {
            "name": name,
            "metric": _choice(item, "metric", Metric.values),
            "threshold_percent": item.int("threshold_percent"),
        }
        if item.has("priority"):
            values["priority"] = _named(item, "priority", priorities, "priority")
        if item.has("move_to_line"):
            values["move_to_line"] = item.int("move_to_line")
        for flag in RULE_FLAGS:
            if item.has(flag):
                values[flag] = item.bool(flag)
        # Staff named by role ("admin"); a tenant without that login simply has no one to tell.
        notify = [_staff(tenant, role) for role in item.str_list("notify_users", [])]
        try:
            escalation_rule_save(
                tenant=tenant,
                rule=EscalationRule.objects.filter(name=name).first(),
                values=values,
                notify_users=[user for user in notify if user is not None],
                actor=None,
            )
        except ValidationError as exc:
            raise item.refused(exc) from exc


def load(tenant: Tenant, data: Section | None = None) -> list[tuple[str, str]]:
    """Create the tenant's SLA configuration from ``data`` (default: its demo file, if any).

    Caller holds ``scope(tenant=tenant)``. No logins are created; a tenant without demo data
    gets nothing.
    """
    data = data if data is not None else tenant_demo(tenant.slug)
    if data is None:
        return []
    calendars = _calendars(tenant, data)
    priorities = _priorities(tenant, data)
    _policies(tenant, data, calendars, priorities)
    _rules(tenant, data, priorities)
    return []
