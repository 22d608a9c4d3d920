"""Every write to contracts, and the one entitlement check the whole product asks.

The portal, e-mail intake, phone logging and the API all call :func:`entitlement_check`
before a ticket is filed; feature gates (knowledge centre, monthly reports) call
:func:`contact_has_feature`. Both read the contract in force, or the tenant's fallback plan.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from contracts.choices import Category, Channel
from supportdesk.models import Tenant, User
from supportdesk.services import audit_record, audit_snapshot

from .models import (
    CURRENT_STATUSES,
    Contact,
    Contract,
    ContractEvent,
    ContractEventKind,
    ContractStatus,
    EntitlementChange,
    Feature,
    NamedContact,
    Organisation,
    PlanFeature,
    PlanRequestType,
    RequestType,
    SupportPlan,
)
from .reasons import Reason

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sla.models import SLAPolicy


@dataclass(frozen=True)
class Entitlement:
    """The answer to "may this contact ask this, by this channel, now?"."""

    allowed: bool
    billable: bool
    reasons: list[Reason]  # one per rule that decided; str() is the sentence, translated
    contract: Contract | None  # the contract that applies, if any
    plan: SupportPlan | None  # the contract's plan, or the tenant's fallback plan
    sla_policy: SLAPolicy | None  # None = no promise
    notify: list[User]  # people to notify, e.g. the account manager for out-of-scope work
    requires_acceptance: bool  # billable: the customer must accept before filing (portal)


def _local_day(tenant: Tenant, at: dt.datetime) -> dt.date:
    """The calendar day at ``at`` in the tenant's time zone: contracts run in local days."""
    return timezone.localtime(at, ZoneInfo(tenant.time_zone)).date()


def _day(value: dt.date) -> str:
    return date_format(value, "DATE_FORMAT")


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


def contract_for_organisation(*, organisation: Organisation, day: dt.date) -> Contract | None:
    """The organisation's contract that speaks for ``day``: the current one, else the latest.

    At most one contract is current (active or suspended); when none is, the most recent
    expired one explains why there is no cover. The plan and SLA policy come along.
    """
    contracts = Contract.objects.filter(organisation=organisation).select_related(
        "plan", "plan__sla_policy"
    )
    current = contracts.current().first()
    if current is not None:
        return current
    return contracts.filter(starts_on__lte=day).order_by("-starts_on", "-id").first()


def _contract_reasons(contract: Contract, day: dt.date) -> list[Reason]:
    """Why ``contract`` does not cover ``day``; empty when it does."""
    if contract.status == ContractStatus.SUSPENDED:
        if contract.suspended_reason:
            why = contract.suspended_reason.rstrip(".")
            return [Reason("suspended_because", {"reason": why})]
        return [Reason("suspended")]
    if contract.is_expired_on(day):
        if contract.ends_on is not None:
            return [Reason("ended_on", {"day": contract.ends_on.isoformat()})]
        return [Reason("expired")]
    if contract.starts_on > day:
        return [Reason("starts_on", {"day": contract.starts_on.isoformat()})]
    return []


def fallback_plan(*, tenant: Tenant) -> SupportPlan | None:
    """The tenant's rules for customers without a valid contract, if it has any."""
    return (
        SupportPlan.objects.filter(tenant=tenant, is_fallback=True)
        .select_related("sla_policy")
        .first()
    )


def _validate_request_kind(channel: str, category: str) -> None:
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = _("Unknown channel %(value)r; choose one of: %(choices)s.") % {
            "value": channel,
            "choices": ", ".join(Channel.values),
        }
    if category not in Category.values:
        errors["category"] = _("Unknown category %(value)r; choose one of: %(choices)s.") % {
            "value": category,
            "choices": ", ".join(Category.values),
        }
    if errors:
        raise ValidationError(errors)


def _scope_decision(
    *, plan: SupportPlan, category: str, organisation: Organisation | None
) -> tuple[bool, list[Reason], list[User]]:
    """Billable or not for ``category`` under ``plan``, with reasons and people to notify."""
    if plan.includes_category(category):
        return False, [Reason("in_scope", {"category": category, "plan": plan.name})], []
    reasons = [Reason("out_of_scope", {"category": category, "plan": plan.name})]
    return _billed(plan=plan, organisation=organisation, reasons=reasons)


def _billed(
    *, plan: SupportPlan, organisation: Organisation | None, reasons: list[Reason]
) -> tuple[bool, list[Reason], list[User]]:
    """Billable, with the plan's quote and account-manager rules added to ``reasons``."""
    if plan.quote_free_hours is not None:
        reasons.append(Reason("quote_free_hours", {"hours": _hours(plan.quote_free_hours)}))
    notify: list[User] = []
    if plan.notify_account_manager_out_of_scope:
        manager = organisation.account_manager if organisation is not None else None
        if manager is not None:
            notify.append(manager)
            reasons.append(Reason("account_manager_notified", {"name": str(manager)}))
        else:
            reasons.append(Reason("no_account_manager"))
    return True, reasons, notify


def _type_scope_decision(
    *, plan: SupportPlan, request_type: RequestType, organisation: Organisation | None
) -> tuple[bool, list[Reason], list[User]] | None:
    """Billable or not for ``request_type`` by the plan's scope table; None when the plan has
    no table (its categories decide). A type the table does not list raises ValidationError."""
    table = plan.scope_table()
    if not table:
        return None
    row = next((r for r in table if r.request_type_id == request_type.pk), None)
    if row is None:
        raise ValidationError(
            {
                "request_type": _(
                    "%(type)s is not offered under the %(plan)s plan; choose one of: %(choices)s."
                )
                % {
                    "type": request_type.name,
                    "plan": plan.name,
                    "choices": ", ".join(r.request_type.name for r in table),
                }
            }
        )
    params = {"type": request_type.name, "plan": plan.name}
    if row.included:
        return False, [Reason("type_in_scope", params)], []
    return _billed(
        plan=plan, organisation=organisation, reasons=[Reason("type_out_of_scope", params)]
    )


def request_type_check(*, tenant: Tenant, request_type: RequestType | None) -> None:
    """Refuse a request type of another tenant, or one no longer offered (inactive)."""
    if request_type is None:
        return
    if request_type.tenant_id != tenant.pk or not request_type.is_active:
        raise ValidationError({"request_type": _("Unknown request type.")})


def entitlement_check(
    *,
    contact: Contact,
    channel: str,
    category: str,
    at: dt.datetime | None = None,
    request_type: RequestType | None = None,
) -> Entitlement:
    """Whether ``contact`` may file a ``category`` request by ``channel`` at ``at`` (now).

    Reads the organisation's contract in force; without one (none, not started, expired by
    status or date, suspended) the tenant's fallback plan applies, and without a fallback
    plan the request is refused. Every rule that decides the answer adds one reason.
    ``request_type`` (the tenant's own kind of request) replaces ``category`` by its own;
    when the plan has a scope table, the table's row for it decides billable, and a type the
    table does not list (or another tenant's) raises ``ValidationError``. Unknown channel or
    category values raise ``ValidationError``. Caller holds the scope.
    """
    request_type_check(tenant=contact.tenant, request_type=request_type)
    if request_type is not None:
        category = request_type.category
    _validate_request_kind(channel, category)
    at = at or timezone.now()
    tenant = contact.tenant
    day = _local_day(tenant, at)
    organisation = contact.organisation
    reasons: list[Reason] = []

    contract: Contract | None = None
    if organisation is None:
        reasons.append(Reason("no_organisation", {"name": contact.name}))
    else:
        contract = contract_for_organisation(organisation=organisation, day=day)
        if contract is None:
            reasons.append(Reason("no_contract", {"organisation": str(organisation)}))
        else:
            reasons.extend(_contract_reasons(contract, day))
            if reasons:
                contract = None

    if contract is None:
        plan = fallback_plan(tenant=tenant)
        if plan is None:
            reasons.append(Reason("contract_required"))
            return Entitlement(
                allowed=False,
                billable=False,
                reasons=reasons,
                contract=None,
                plan=None,
                sla_policy=None,
                notify=[],
                requires_acceptance=False,
            )
        reasons.append(Reason("fallback_plan", {"plan": plan.name}))
    else:
        plan = contract.plan

    refusals: list[Reason] = []
    if not plan.allows_channel(channel):
        refusals.append(Reason("channel_excluded", {"plan": plan.name, "channel": channel}))
    if contract is not None and (plan.named_contacts_only or plan.training_required):
        is_named = NamedContact.objects.filter(contract=contract, contact=contact).exists()
        if plan.named_contacts_only and not is_named:
            refusals.append(Reason("not_named", {"name": contact.name}))
        # Training is asked of those who may ask at all; a contact turned away for not
        # being named needs no second reason.
        may_ask = is_named or not plan.named_contacts_only
        if plan.training_required and may_ask and not contact.is_trained_on(day):
            refusals.append(Reason("training_missing", {"plan": plan.name, "name": contact.name}))
    if refusals:
        return Entitlement(
            allowed=False,
            billable=False,
            reasons=reasons + refusals,
            contract=contract,
            plan=plan,
            sla_policy=None,
            notify=[],
            requires_acceptance=False,
        )

    decided = (
        _type_scope_decision(plan=plan, request_type=request_type, organisation=organisation)
        if request_type is not None
        else None
    )
    billable, scope_reasons, notify = decided or _scope_decision(
        plan=plan, category=category, organisation=organisation
    )
    if contract is not None and not billable:
        reasons.insert(0, Reason("contract_valid", {"plan": plan.name}))
    return Entitlement(
        allowed=True,
        billable=billable,
        reasons=reasons + scope_reasons,
        contract=contract,
        plan=plan,
        sla_policy=plan.sla_policy,
        notify=notify,
        requires_acceptance=billable,
    )


def plan_for_contact(*, contact: Contact, at: dt.datetime | None = None) -> SupportPlan | None:
    """The plan whose features the contact enjoys: the valid contract's, else the fallback."""
    tenant = contact.tenant
    day = _local_day(tenant, at or timezone.now())
    if contact.organisation is not None:
        contract = contract_for_organisation(organisation=contact.organisation, day=day)
        if contract is not None and contract.is_valid_on(day):
            return contract.plan
    return fallback_plan(tenant=tenant)


def contact_has_feature(*, contact: Contact, key: str, at: dt.datetime | None = None) -> bool:
    """Whether the contact's plan (at ``at``, default now) includes feature ``key``.

    Used as a gate, e.g. ``knowledge_centre`` or ``monthly_reports``; an unknown key is
    simply not included.
    """
    plan = plan_for_contact(contact=contact, at=at)
    return plan is not None and plan.has_feature(key)


def organisation_has_feature(
    *, organisation: Organisation, key: str, at: dt.datetime | None = None
) -> bool:
    """Whether the organisation's valid contract (at ``at``) includes feature ``key``."""
    day = _local_day(organisation.tenant, at or timezone.now())
    contract = contract_for_organisation(organisation=organisation, day=day)
    if contract is not None and contract.is_valid_on(day):
        return contract.plan.has_feature(key)
    plan = fallback_plan(tenant=organisation.tenant)
    return plan is not None and plan.has_feature(key)


def organisations_with_feature(
    *, tenant: Tenant, organisation_ids: set[int | None], key: str, at: dt.datetime
) -> set[int | None]:
    """Which of the organisations (None: a requester without one) have feature ``key`` at
    ``at``, by the rule of :func:`organisation_has_feature`, in a fixed number of queries
    whatever their number (a sweep's). Caller holds the tenant's scope."""
    day = _local_day(tenant, at)
    contracts = (
        Contract.objects.filter(organisation_id__in=[i for i in organisation_ids if i])
        .select_related("plan")
        .prefetch_related("plan__plan_features__feature")
        .order_by("-starts_on", "-id")
    )
    chosen: dict[int, Contract] = {}
    for contract in contracts:
        current = chosen.get(contract.organisation_id)
        if contract.status in CURRENT_STATUSES and (
            current is None or current.status not in CURRENT_STATUSES
        ):
            chosen[contract.organisation_id] = contract
        elif current is None and contract.starts_on <= day:
            chosen[contract.organisation_id] = contract
    fallback = fallback_plan(tenant=tenant)
    fallback_has = fallback is not None and fallback.has_feature(key)
    found: set[int | None] = set()
    for organisation_id in organisation_ids:
        speaking = chosen.get(organisation_id) if organisation_id else None
        if speaking is not None and speaking.is_valid_on(day):
            if speaking.plan.has_feature(key):
                found.add(organisation_id)
        elif fallback_has:
            found.add(organisation_id)
    return found


# --- Writes ------------------------------------------------------------------------------


def _validated(instance: Any) -> None:
    """Model validation (fields, clean(), constraints) with the readable messages."""
    instance.full_clean()


def _save_or_conflict(instance: Any) -> None:
    """Save; a constraint that another writer won meanwhile becomes a ValidationError."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This conflicts with a change saved meanwhile; try again.")
        ) from exc


EntitlementsChanged = Callable[[int, list[int], int], None]
_entitlement_listeners: list[EntitlementsChanged] = []

# A change nobody marked done this long after it was written is handed to the listeners
# again (its task was lost with the broker, or failed); the listeners' work is idempotent.
ENTITLEMENT_CHANGE_RETRY_AFTER = dt.timedelta(minutes=5)
ENTITLEMENT_CHANGE_MAX_ATTEMPTS = 10


def entitlements_changed_subscribe(listener: EntitlementsChanged) -> None:
    """Call ``listener(tenant_id, organisation_ids, change_id)`` after each commit that may
    have changed what those organisations are entitled to (a contract's plan or status, a
    plan's SLA policy). The tickets app subscribes to move open tickets to the policy now in
    force, and calls :func:`entitlement_change_done` with ``change_id`` when it has; this app
    never imports it (it is a higher layer)."""
    if listener not in _entitlement_listeners:
        _entitlement_listeners.append(listener)


def _entitlements_changed(
    *, tenant_id: int, organisation_ids: list[int], changed: Contract | SupportPlan
) -> None:
    """Record the change (``changed``: the contract or plan edited) in the caller's
    transaction; tell the listeners after commit."""
    if not organisation_ids:
        return
    change = EntitlementChange.objects.create(
        tenant_id=tenant_id,
        organisation_ids=sorted(set(organisation_ids)),
        object_type=changed._meta.label_lower,
        object_id=str(changed.pk),
    )

    def notify() -> None:
        _entitlement_change_notify(change)

    transaction.on_commit(notify)


def _entitlement_change_notify(change: EntitlementChange) -> None:
    for listener in list(_entitlement_listeners):
        try:
            listener(change.tenant_id, list(change.organisation_ids), change.pk)
        except Exception:  # the row stays pending: the replay hands it out again
            logger.exception("entitlement change %s: listener %r failed", change.pk, listener)


def entitlement_change_done(*, change_id: int) -> None:
    """A listener has acted on the change (idempotent). Caller holds the tenant's scope."""
    EntitlementChange.objects.filter(pk=change_id, done_at__isnull=True).update(
        done_at=timezone.now()
    )


def entitlement_changes_replay(*, now: dt.datetime | None = None) -> int:
    """Hand every change still pending after :data:`ENTITLEMENT_CHANGE_RETRY_AFTER` to the
    listeners again, each at most :data:`ENTITLEMENT_CHANGE_MAX_ATTEMPTS` times (then it
    stays pending, logged); returns how many. Across tenants: the beat task serves them all."""
    now = now or timezone.now()
    with scopes_disabled():
        stale = list(
            EntitlementChange.objects.filter(
                done_at__isnull=True,
                created_at__lt=now - ENTITLEMENT_CHANGE_RETRY_AFTER,
                attempts__lt=ENTITLEMENT_CHANGE_MAX_ATTEMPTS,
            ).order_by("created_at")[:200]
        )
        for change in stale:
            EntitlementChange.objects.filter(pk=change.pk).update(attempts=F("attempts") + 1)
            if change.attempts + 1 == ENTITLEMENT_CHANGE_MAX_ATTEMPTS:
                logger.error("entitlement change %s: last attempt", change.pk)
    for change in stale:
        _entitlement_change_notify(change)
    return len(stale)


def _event(
    contract: Contract,
    kind: str,
    actor: User | None,
    detail: str = "",
    at: dt.datetime | None = None,
) -> None:
    ContractEvent.objects.create(
        tenant_id=contract.tenant_id,
        contract=contract,
        kind=kind,
        actor=actor,
        detail=detail[:300],
        at=at or timezone.now(),
    )
    # Every change of a contract may change its organisation's SLA policy.
    _entitlements_changed(
        tenant_id=contract.tenant_id, organisation_ids=[contract.organisation_id], changed=contract
    )


@transaction.atomic
def organisation_save(*, organisation: Organisation, actor: User | None = None) -> Organisation:
    """Validate and store a new or changed organisation; the change is audited.

    Account manager, CSM, service owner and project manager must be staff of the tenant.
    """
    _validated(organisation)
    before = audit_snapshot(organisation)
    _save_or_conflict(organisation)
    audit_record(instance=organisation, actor=actor, before=before)
    return organisation


@transaction.atomic
def contact_save(*, contact: Contact, actor: User | None = None) -> Contact:
    """Validate and store a new or changed contact (e-mail unique per tenant); audited."""
    contact.email = contact.email.strip()
    _validated(contact)
    before = audit_snapshot(contact)
    _save_or_conflict(contact)
    audit_record(instance=contact, actor=actor, before=before)
    return contact


@transaction.atomic
def feature_save(*, feature: Feature, actor: User | None = None) -> Feature:
    """Validate and store a line of the tenant's feature matrix; audited."""
    _validated(feature)
    before = audit_snapshot(feature)
    _save_or_conflict(feature)
    audit_record(instance=feature, actor=actor, before=before)
    return feature


@transaction.atomic
def plan_save(
    *,
    plan: SupportPlan,
    features: Mapping[str, str] | None = None,
    scope: Mapping[int, bool] | None = None,
    actor: User | None = None,
) -> SupportPlan:
    """Validate and store a plan and, when ``features`` is given, its feature matrix.

    ``features`` maps feature keys to an optional label ("" = simply included); it replaces
    the plan's matrix. ``scope`` maps request type ids to included (True) or billable
    (False); it replaces the plan's scope table (empty: no table, the categories decide).
    Unknown keys or types (another tenant's) are refused and nothing is saved. The change,
    matrix and table included, is audited.
    """
    _validated(plan)
    if plan.is_fallback and plan.pk is not None and plan.contracts.exists():
        raise ValidationError(
            {
                "is_fallback": _(
                    "Contracts use this plan, so it cannot hold the rules for customers "
                    "without a contract."
                )
            }
        )
    known: dict[str, Feature] = {}
    if features is not None:
        known = {f.key: f for f in Feature.objects.filter(tenant_id=plan.tenant_id)}
        unknown = sorted(set(features) - set(known))
        if unknown:
            raise ValidationError(
                {"features": _("Unknown features: %(keys)s.") % {"keys": ", ".join(unknown)}}
            )
    types: dict[int, RequestType] = {}
    if scope is not None:
        types = {t.pk: t for t in RequestType.objects.filter(tenant_id=plan.tenant_id)}
        if set(scope) - set(types):
            raise ValidationError({"scope": _("Choose request types of this tenant.")})
    before = audit_snapshot(plan)
    matrix_before = _matrix(plan)
    table_before = _scope_words(plan)
    _save_or_conflict(plan)
    if before is not None and before.get("sla_policy_id") != plan.sla_policy_id:
        _entitlements_changed(
            tenant_id=plan.tenant_id,
            organisation_ids=list(plan.contracts.values_list("organisation_id", flat=True)),
            changed=plan,
        )
    if features is not None:
        PlanFeature.objects.filter(plan=plan).exclude(feature__key__in=list(features)).delete()
        for key, value in features.items():
            PlanFeature.objects.update_or_create(
                tenant_id=plan.tenant_id,
                plan=plan,
                feature=known[key],
                defaults={"value": (value or "").strip()[:100]},
            )
    if scope is not None:
        PlanRequestType.objects.filter(plan=plan).exclude(request_type_id__in=list(scope)).delete()
        for type_id, included in scope.items():
            PlanRequestType.objects.update_or_create(
                tenant_id=plan.tenant_id,
                plan=plan,
                request_type=types[type_id],
                defaults={"included": bool(included)},
            )
    matrix_after = _matrix(plan)
    table_after = _scope_words(plan)
    extra: dict[str, Any] = {}
    if matrix_after != matrix_before:
        extra["features"] = [matrix_before, matrix_after]
    if table_after != table_before:
        extra["scope"] = [table_before, table_after]
    audit_record(instance=plan, actor=actor, before=before, extra=extra)
    return plan


def _scope_words(plan: SupportPlan) -> dict[str, str]:
    """The plan's scope table as {type name: "included" / "billable"} for the audit trail,
    in words, not ids and booleans."""
    if plan.pk is None:
        return {}
    rows = PlanRequestType.objects.filter(plan=plan).values_list("request_type__name", "included")
    return {name: "included" if included else "billable" for name, included in sorted(rows)}


@transaction.atomic
def request_type_save(*, request_type: RequestType, actor: User | None = None) -> RequestType:
    """Validate and store one of the tenant's request types (name unique per tenant);
    audited."""
    _validated(request_type)
    before = audit_snapshot(request_type)
    _save_or_conflict(request_type)
    audit_record(instance=request_type, actor=actor, before=before)
    return request_type


def _matrix(plan: SupportPlan) -> dict[str, str]:
    """The plan's feature matrix as {key: label}, for the audit trail."""
    if plan.pk is None:
        return {}
    rows = PlanFeature.objects.filter(plan=plan).values_list("feature__key", "value")
    return dict(sorted(rows))


def _current_other(contract: Contract) -> Contract | None:
    return (
        Contract.objects.current()
        .filter(organisation_id=contract.organisation_id)
        .exclude(pk=contract.pk)
        .select_related("plan")
        .first()
    )


def _ranges_overlap(a: Contract, b: Contract) -> bool:
    a_end = a.ends_on or dt.date.max
    b_end = b.ends_on or dt.date.max
    return a.starts_on <= b_end and b.starts_on <= a_end


@transaction.atomic
def contract_save(
    *, contract: Contract, actor: User | None, today: dt.date | None = None
) -> Contract:
    """Validate and store a new or changed contract.

    Refuses end-before-start, negative prices, the fallback plan, and a second current
    contract for the organisation. A current contract whose end date has already passed
    is expired first, so a renewal can follow it. Locks the organisation row so two admins
    creating contracts for it at once are serialised.
    """
    today = today or _local_day(contract.organisation.tenant, timezone.now())
    Organisation.objects.select_for_update().filter(pk=contract.organisation_id).first()
    is_new = contract.pk is None
    _validated_without_current_constraint(contract)
    other = _current_other(contract)
    if other is not None and contract.status != ContractStatus.EXPIRED:
        if other.is_expired_on(today) and not _ranges_overlap(contract, other):
            contract_expire(contract=other, actor=actor)
        else:
            end = _day(other.ends_on) if other.ends_on else _("open-ended")
            raise ValidationError(
                _(
                    "%(organisation)s already has a current contract (%(plan)s, from %(start)s, "
                    "until %(end)s); its dates would overlap. End or expire it first."
                )
                % {
                    "organisation": contract.organisation,
                    "plan": other.plan,
                    "start": _day(other.starts_on),
                    "end": end,
                }
            )
    _save_or_conflict(contract)
    _event(contract, ContractEventKind.CREATED if is_new else ContractEventKind.CHANGED, actor)
    return contract


def _validated_without_current_constraint(contract: Contract) -> None:
    # The one-current-contract constraint gets its own, more precise message above.
    contract.full_clean(validate_constraints=False)
    errors: dict[str, Any] = {}
    for constraint in Contract._meta.constraints:
        if constraint.name == "contract_one_current_per_organisation":
            continue
        try:
            cast(Any, constraint).validate(Contract, contract)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _locked_contract(contract: Contract) -> Contract:
    """Re-read the contract under a row lock (a no-op lock on SQLite, whose IMMEDIATE
    transactions already serialise writers)."""
    return (
        Contract.objects.select_for_update()
        .select_related("plan", "organisation")
        .get(pk=contract.pk)
    )


@transaction.atomic
def contract_suspend(
    *, contract: Contract, reason: str, actor: User | None, at: dt.datetime | None = None
) -> Contract:
    """Suspend an active contract (e.g. overdue payments); new requests fall back.

    ``reason`` is required and shown to staff and in the entitlement reasons.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for the suspension.")})
    if len(reason) > 300:
        raise ValidationError({"reason": _("Keep the reason under 300 characters.")})
    locked = _locked_contract(contract)
    if locked.status != ContractStatus.ACTIVE:
        raise ValidationError(
            _("Only an active contract can be suspended; this one is %(status)s.")
            % {"status": locked.get_status_display().lower()}
        )
    locked.status = ContractStatus.SUSPENDED
    locked.suspended_reason = reason
    locked.suspended_at = at or timezone.now()
    locked.suspended_by = actor
    locked.save(update_fields=["status", "suspended_reason", "suspended_at", "suspended_by"])
    _event(locked, ContractEventKind.SUSPENDED, actor, reason, at=locked.suspended_at)
    return locked


@transaction.atomic
def contract_resume(*, contract: Contract, actor: User | None) -> Contract:
    """Lift a suspension: the contract is active again.

    A contract whose end date passed meanwhile still counts as expired in the check, and the
    nightly job marks it so.
    """
    locked = _locked_contract(contract)
    if locked.status != ContractStatus.SUSPENDED:
        raise ValidationError(_("Only a suspended contract can be resumed."))
    locked.status = ContractStatus.ACTIVE
    locked.suspended_reason = ""
    locked.suspended_at = None
    locked.suspended_by = None
    locked.save(update_fields=["status", "suspended_reason", "suspended_at", "suspended_by"])
    _event(locked, ContractEventKind.RESUMED, actor)
    return locked


@transaction.atomic
def contract_expire(*, contract: Contract, actor: User | None = None) -> Contract:
    """Mark a contract expired (its end has passed, or an admin ends it now)."""
    locked = _locked_contract(contract)
    if locked.status == ContractStatus.EXPIRED:
        return locked
    locked.status = ContractStatus.EXPIRED
    locked.save(update_fields=["status"])
    _event(locked, ContractEventKind.EXPIRED, actor)
    return locked


def contracts_expire_due(*, tenant: Tenant, at: dt.datetime | None = None) -> list[int]:
    """Expire every current contract of the tenant whose last day is past; returns their ids.

    Caller holds the tenant's scope. Each contract is expired in its own transaction.
    """
    day = _local_day(tenant, at or timezone.now())
    due = list(Contract.objects.filter(tenant=tenant).past_end(day).values_list("pk", flat=True))
    for contract in Contract.objects.filter(pk__in=due):
        contract_expire(contract=contract)
    return due


@transaction.atomic
def named_contact_add(*, contract: Contract, contact: Contact, actor: User | None) -> NamedContact:
    """Name ``contact`` on ``contract``, within the contract's named-contact limit.

    Locks the contract row first, so two admins taking the last place at once cannot both
    win: the second one waits, then counts the first one's row.
    """
    locked = _locked_contract(contract)
    if contact.tenant_id != locked.tenant_id or contact.organisation_id != locked.organisation_id:
        raise ValidationError(
            {
                "contact": _("%(name)s is not a contact of %(organisation)s.")
                % {"name": contact.name, "organisation": locked.organisation}
            }
        )
    if locked.status == ContractStatus.EXPIRED:
        raise ValidationError(_("This contract has expired; name contacts on a current one."))
    if NamedContact.objects.filter(contract=locked, contact=contact).exists():
        raise ValidationError(
            {"contact": _("%(name)s is already a named contact.") % {"name": contact.name}}
        )
    limit = locked.named_contact_limit
    used = NamedContact.objects.filter(contract=locked).count()
    if limit is not None and used >= limit:
        raise ValidationError(
            _(
                "All named-contact places of this contract are used (%(used)d of %(limit)d). "
                "Remove one first, or add extra places to the contract."
            )
            % {"used": used, "limit": limit}
        )
    named = NamedContact.objects.create(
        tenant_id=locked.tenant_id, contract=locked, contact=contact, added_by=actor
    )
    _event(locked, ContractEventKind.NAMED_CONTACT_ADDED, actor, contact.name)
    return named


@transaction.atomic
def named_contact_remove(*, named_contact: NamedContact, actor: User | None) -> None:
    """Take a contact off the contract's named contacts, freeing the place."""
    locked = _locked_contract(named_contact.contract)
    name = named_contact.contact.name
    named_contact.delete()
    _event(locked, ContractEventKind.NAMED_CONTACT_REMOVED, actor, name)


def named_contacts_used(*, contract: Contract) -> tuple[int, int | None]:
    """(places used, limit or None) for "2 of 2 used"."""
    return contract.named_contacts.count(), contract.named_contact_limit


def staff_choices(*, tenant: Tenant) -> QuerySet[User]:
    """Staff of the tenant, for the account-manager and similar fields."""
    return (
        User.objects.filter(memberships__tenant=tenant)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
