"""Demo features, plans, organisations, contacts, contracts and portal logins from the
tenant's ``demo/<slug>.yaml``, created through the contracts services (validated, audited,
the named-contact limit enforced) as an admin's pages would.

Called by ``seed_demo`` inside the tenant's scope and a transaction, after ``sla.demo``.
Idempotent: every row is looked up by its natural key first. The mapping from each
provider's own words to plans, features and categories is explained in docs/contracts.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from contracts.choices import Category
from sla.models import SLAPolicy
from supportdesk.demo import Section, tenant_demo
from supportdesk.models import Tenant, User

from .models import (
    Contact,
    Contract,
    ContractStatus,
    Feature,
    NamedContact,
    Organisation,
    RequestType,
    SupportPlan,
)
from .services import (
    contact_save,
    contract_save,
    contract_suspend,
    feature_save,
    named_contact_add,
    organisation_save,
    plan_save,
    request_type_save,
)

DEMO_PASSWORD = "demo"  # noqa: S105 - demo data only, printed by seed_demo

STAFF_ROLES = ("admin", "agent", "manager")
PORTAL_ROLES = ("customer", "named")


def periods(today: dt.date | None = None) -> dict[str, dt.date]:
    """Dates the demo files may name, relative to today, so the demo stays valid whenever
    it is run: contracts current from last year to next, and one that ended last summer."""
    year = (today or timezone.localdate()).year
    return {
        "start_of_last_year": dt.date(year - 1, 1, 1),
        "end_of_next_year": dt.date(year + 1, 12, 31),
        "july_three_years_ago": dt.date(year - 3, 7, 1),
        "june_last_year": dt.date(year - 1, 6, 30),
    }


def _set(instance: Any, item: Section, fields: dict[str, Callable[[Section, str], Any]]) -> None:
    """Copy the fields the file gives onto ``instance``; absent ones keep their value."""
    for field, read in fields.items():
        if item.has(field):
            setattr(instance, field, read(item, field))


def _str(item: Section, key: str) -> Any:
    return item.str(key)


def _bool(item: Section, key: str) -> Any:
    return item.bool(key)


def _int_or_none(item: Section, key: str) -> Any:
    return item.int(key, None)


def _decimal_or_none(item: Section, key: str) -> Any:
    return item.decimal(key, None)


def _str_list(item: Section, key: str) -> Any:
    return item.str_list(key)


def _known(item: Section, key: str, known: dict[str, Any], what: str) -> Any:
    """The row ``item[key]`` names among ``known``; None when the key is null or absent."""
    name = item.str(key, None)
    if name is None:
        return None
    if name not in known:
        raise item.error(key, f"unknown {what} {name!r}")
    return known[name]


def _staff(tenant: Tenant, item: Section, key: str) -> User | None:
    """The tenant's demo login for the role ``item[key]`` names ("manager"), if it exists."""
    role = item.str(key, None)
    if role is None:
        return None
    if role not in STAFF_ROLES:
        raise item.error(
            key, f"unknown staff role {role!r}; choose one of {', '.join(STAFF_ROLES)}"
        )
    return User.objects.filter(username=f"{tenant.slug}-{role}").first()


def _request_types(tenant: Tenant, data: Section) -> dict[str, RequestType]:
    out = {}
    for position, item in enumerate(data.sections("request_types"), start=1):
        name = item.str("name")
        request_type = RequestType.objects.filter(name=name).first() or RequestType(
            tenant=tenant, name=name
        )
        request_type.description = item.str("description", "")
        request_type.category = (
            _known(item, "category", {c: c for c in Category.values}, "category")
            or Category.QUESTION
        )
        request_type.position = position
        out[name] = item.saved(request_type_save, request_type=request_type)
    return out


SCOPE_WORDS = {"included": True, "billable": False}


def _scope(item: Section, types: dict[str, RequestType]) -> dict[int, bool] | None:
    """A plan's ``scope``: {request type name: included | billable}."""
    if not item.has("scope"):
        return None
    table = item.section("scope")
    out = {}
    for name in table.keys():
        if name not in types:
            raise table.error(name, f"unknown request type {name!r}")
        included = _known(table, name, SCOPE_WORDS, "scope (included or billable)")
        if included is None:
            raise table.error(name, "expected included or billable")
        out[types[name].pk] = included
    return out


def _features(tenant: Tenant, data: Section) -> None:
    for position, item in enumerate(data.sections("features"), start=1):
        key = item.str("key")
        feature = Feature.objects.filter(key=key).first() or Feature(tenant=tenant, key=key)
        feature.name = item.str("name")
        feature.description = item.str("description", "")
        feature.position = position
        item.saved(feature_save, feature=feature)


PLAN_FIELDS: dict[str, Callable[[Section, str], Any]] = {
    "position": lambda item, key: item.int(key),
    "description": _str,
    "currency": _str,
    "price_licence": lambda item, key: item.decimal(key),
    "price_non_licence": lambda item, key: item.decimal(key),
    "consulting_discount_percent": lambda item, key: item.decimal(key),
    "named_contacts_only": _bool,
    "named_contact_limit": _int_or_none,
    "training_required": _bool,
    "allowed_channels": _str_list,
    "included_categories": _str_list,
    "quote_free_hours": _decimal_or_none,
    "notify_account_manager_out_of_scope": _bool,
    "is_fallback": _bool,
}


def _policy_names(data: Section) -> list[str]:
    return [str(item.str("name")) for item in data.sections("policies")]


def _plans(
    tenant: Tenant, data: Section, types: dict[str, RequestType] | None = None
) -> dict[str, SupportPlan]:
    # A plan may name the policies of the file's ``policies``; they exist once ``sla.demo``
    # has run (the contracts tests load plans without it: the plan then has no policy).
    stored = {p.name: p for p in SLAPolicy.objects.all()}
    policies = {name: stored.get(name) for name in _policy_names(data)}
    out = {}
    for item in data.sections("plans"):
        name = item.str("name")
        plan = SupportPlan.objects.filter(name=name).first() or SupportPlan(
            tenant=tenant, name=name
        )
        _set(plan, item, PLAN_FIELDS)
        plan.sla_policy = _known(item, "sla_policy", policies, "SLA policy")
        matrix = item.section("features") if item.has("features") else None
        features = None
        if matrix is not None:
            features = {key: matrix.str(key) for key in matrix.keys()}
        scope = _scope(item, types or {})
        out[name] = item.saved(plan_save, plan=plan, features=features, scope=scope)
    return out


ORGANISATION_FIELDS: dict[str, Callable[[Section, str], Any]] = {
    "org_number": _str,
    "email_domains": _str,
    "language": _str,
    "notes": _str,
    "is_licence_customer": _bool,
}
ORGANISATION_STAFF = (
    "account_manager",
    "customer_success_manager",
    "service_owner",
    "project_manager",
)


def _organisations(
    tenant: Tenant, data: Section, dates: dict[str, dt.date]
) -> dict[str, Organisation]:
    out = {}
    for item in data.sections("organisations"):
        name = item.str("name")
        organisation = Organisation.objects.filter(name=name).first() or Organisation(
            tenant=tenant, name=name
        )
        _set(organisation, item, ORGANISATION_FIELDS)
        for role_field in ORGANISATION_STAFF:
            if item.has(role_field):
                setattr(organisation, role_field, _staff(tenant, item, role_field))
        if item.has("project_ends_on"):
            organisation.project_ends_on = item.date("project_ends_on", dates, None)
        out[name] = item.saved(organisation_save, organisation=organisation)
    return out


CONTACT_FIELDS: dict[str, Callable[[Section, str], Any]] = {
    "name": _str,
    "phone": _str,
    "language": _str,
    "training_notes": _str,
    "receives_monthly_report": _bool,
}


def _contacts(
    tenant: Tenant, data: Section, organisations: dict[str, Organisation], dates: dict[str, dt.date]
) -> dict[str, Contact]:
    out = {}
    for item in data.sections("contacts"):
        email = item.str("email")
        contact = Contact.objects.filter(email=email).first() or Contact(tenant=tenant, email=email)
        contact.organisation = _known(item, "organisation", organisations, "organisation")
        _set(contact, item, CONTACT_FIELDS)
        if item.has("trained_on"):
            contact.trained_on = item.date("trained_on", dates, None)
        out[email] = item.saved(contact_save, contact=contact)
    return out


def _contracts(
    tenant: Tenant,
    data: Section,
    organisations: dict[str, Organisation],
    plans: dict[str, SupportPlan],
    contacts: dict[str, Contact],
    dates: dict[str, dt.date],
) -> None:
    statuses = [ContractStatus.ACTIVE.value, ContractStatus.EXPIRED.value]
    for item in data.sections("contracts"):
        organisation = _known(item, "organisation", organisations, "organisation")
        plan = _known(item, "plan", plans, "plan")
        if organisation is None or plan is None:
            raise item.error("organisation" if organisation is None else "plan", "missing")
        status = item.str("status", ContractStatus.ACTIVE.value)
        if status not in statuses:
            raise item.error(
                "status", f"unknown status {status!r}; choose one of {', '.join(statuses)}"
            )
        contract = Contract.objects.filter(organisation=organisation, plan=plan).first()
        if contract is None:
            contract = Contract(
                tenant=tenant,
                organisation=organisation,
                plan=plan,
                starts_on=item.date("starts_on", dates),
                ends_on=item.date("ends_on", dates, None),
                status=status,
            )
            try:
                contract = contract_save(contract=contract, actor=None)
                if item.has("suspended_reason"):
                    contract = contract_suspend(
                        contract=contract, reason=item.str("suspended_reason"), actor=None
                    )
            except ValidationError as exc:
                raise item.refused(exc) from exc
        _name(item, contract, contacts)


def _name(item: Section, contract: Contract, contacts: dict[str, Contact]) -> None:
    """Name the listed contacts through the service; those under ``named_contacts_refused``
    must be refused (the demo shows a full contract turning one away)."""
    for i, email in enumerate(item.str_list("named_contacts", [])):
        key = f"named_contacts[{i}]"
        contact = contacts.get(email)
        if contact is None:
            raise item.error(key, f"unknown contact {email!r}")
        if NamedContact.objects.filter(contract=contract, contact=contact).exists():
            continue
        try:
            named_contact_add(contract=contract, contact=contact, actor=None)
        except ValidationError as exc:
            raise item.error(key, " ".join(exc.messages)) from exc
    for i, email in enumerate(item.str_list("named_contacts_refused", [])):
        key = f"named_contacts_refused[{i}]"
        contact = contacts.get(email)
        if contact is None:
            raise item.error(key, f"unknown contact {email!r}")
        try:
            named_contact_add(contract=contract, contact=contact, actor=None)
        except ValidationError:
            continue
        raise item.error(key, "was named, but the file expects the contract to refuse it")


def _portal_logins(
    tenant: Tenant, data: Section, contacts: dict[str, Contact]
) -> list[tuple[str, str]]:
    """The tenant's portal logins ``<slug>-customer`` and ``<slug>-named`` (password "demo")."""
    if not data.has("portal_logins"):
        return []
    logins = data.section("portal_logins")
    out = []
    for role in logins.keys():
        if role not in PORTAL_ROLES:
            raise logins.error(
                role, f"unknown login {role!r}; choose one of {', '.join(PORTAL_ROLES)}"
            )
        email = logins.str(role)
        contact = contacts.get(email)
        if contact is None:
            raise logins.error(role, f"unknown contact {email!r}")
        try:
            out.append((role, _portal_user(contact, f"{tenant.slug}-{role}")))
        except ValidationError as exc:
            raise logins.error(role, " ".join(exc.messages)) from exc
    return out


def _portal_user(contact: Contact, username: str) -> str:
    first, _, last = contact.name.partition(" ")
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=contact.email, first_name=first, last_name=last)
        user.set_password(DEMO_PASSWORD)
        user.full_clean()
        user.save()
    if contact.user_id != user.pk:
        contact.user = user
        contact_save(contact=contact)
    return username


def load(tenant: Tenant, data: Section | None = None) -> list[tuple[str, str]]:
    """Create the tenant's demo plans, organisations and contracts; returns portal logins.

    ``data`` defaults to the tenant's demo file; a tenant without one gets nothing. Caller
    holds ``scope(tenant=tenant)`` and a transaction.
    """
    data = data if data is not None else tenant_demo(tenant.slug)
    if data is None:
        return []
    dates = periods()
    _features(tenant, data)
    types = _request_types(tenant, data)
    plans = _plans(tenant, data, types)
    organisations = _organisations(tenant, data, dates)
    contacts = _contacts(tenant, data, organisations, dates)
    _contracts(tenant, data, organisations, plans, contacts, dates)
    return _portal_logins(tenant, data, contacts)
