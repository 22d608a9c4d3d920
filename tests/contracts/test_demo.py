"""The demo data: all five providers' rules, loaded twice without duplicates."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from contracts import demo
from contracts.models import (
    Contact,
    Contract,
    ContractStatus,
    NamedContact,
    Organisation,
    RequestType,
    SupportPlan,
)
from contracts.services import Entitlement, contact_has_feature, entitlement_check
from reports.services import RecipientSource, report_recipients
from supportdesk.models import Membership, Role, Tenant, User

SLUGS = ["synerity", "stratsys", "softone", "itsl", "syneton"]


@pytest.fixture
def tenants(db: None) -> dict[str, Tenant]:
    result = {}
    for slug in SLUGS:
        tenant = Tenant.objects.create(slug=slug, name=slug.title())
        with scope(tenant=tenant):
            for role in (Role.ADMIN, Role.AGENT, Role.MANAGER):
                user = User.objects.create_user(username=f"{slug}-{role}")
                Membership.objects.create(tenant=tenant, user=user, role=role)
            with transaction.atomic():
                logins = demo.load(tenant)
            assert logins == [("customer", f"{slug}-customer"), ("named", f"{slug}-named")]
        result[slug] = tenant
    return result


def _contact(email_start: str) -> Contact:
    return Contact.objects.get(email__startswith=email_start)


def _check(contact: Contact, channel: str = "email", category: str = "bug") -> Entitlement:
    return entitlement_check(contact=contact, channel=channel, category=category)


def test_loading_twice_creates_nothing_new(tenants: dict[str, Tenant]) -> None:
    def counts() -> list[int]:
        with scope(tenant=list(tenants.values())):
            return [m.objects.count() for m in (SupportPlan, Contract, Contact, NamedContact)]

    before = counts()
    for tenant in tenants.values():
        with scope(tenant=tenant), transaction.atomic():
            demo.load(tenant)
    assert counts() == before


def test_every_portal_user_has_a_contact_with_an_active_contract(
    tenants: dict[str, Tenant],
) -> None:
    for slug, tenant in tenants.items():
        with scope(tenant=tenant):
            for suffix in ("customer", "named"):
                contact = Contact.objects.get(user__username=f"{slug}-{suffix}")
                assert contact.user is not None and contact.user.check_password("demo")
                contract = Contract.objects.get(
                    organisation=contact.organisation, status=ContractStatus.ACTIVE
                )
                if suffix == "named":
                    assert NamedContact.objects.filter(contract=contract, contact=contact).exists()


def test_synerity_prices_and_feature_matrix(tenants: dict[str, Tenant]) -> None:
    with scope(tenant=tenants["synerity"]):
        plans = {p.name: p for p in SupportPlan.objects.all()}
        prices = [
            (plans[n].price_licence, plans[n].price_non_licence) for n in ("Free", "Silver", "Guld")
        ]
        assert [(int(a), int(b)) for a, b in prices] == [(0, 2500), (5000, 7500), (10000, 15000)]
        assert not plans["Free"].has_feature("knowledge_centre")
        assert plans["Silver"].has_feature("monthly_reports")
        assert plans["Guld"].has_feature("advanced_configuration_fixes")
        assert not plans["Silver"].has_feature("advanced_configuration_fixes")
        assert plans["Guld"].plan_features.get(feature__key="vendor_follow_up").value == "Proaktivt"
        assert (
            plans["Free"].plan_features.get(feature__key="vendor_follow_up").value == "På begäran"
        )
        named = Contact.objects.get(user__username="synerity-named")
        assert contact_has_feature(contact=named, key="knowledge_centre")
        # The expired Silver contract of Ekdal: the fallback plan applies, so support is
        # billable (accepted by the customer first), as the README promises a suspended one.
        expired = _check(_contact("eva.dahl"))
        assert expired.allowed and expired.billable and expired.requires_acceptance


def test_stratsys_named_admins_digital_only_and_out_of_scope(tenants: dict[str, Tenant]) -> None:
    with scope(tenant=tenants["stratsys"]):
        akerby = Contract.objects.get(organisation__name="Åkerby kommun")
        assert akerby.named_contacts.count() == 2  # the third, Olle Ek, was refused
        assert not NamedContact.objects.filter(contact__name="Olle Ek").exists()
        named = Contact.objects.get(user__username="stratsys-named")
        customer = Contact.objects.get(user__username="stratsys-customer")
        assert _check(named).allowed
        refused = _check(customer)
        assert not refused.allowed
        out_of_scope = _check(named, category="change_request")
        assert out_of_scope.billable and out_of_scope.notify
        meetings = _contact("hugo@lindqvistbygg")
        assert not _check(meetings, channel="phone").allowed
        assert _check(meetings, channel="portal").allowed
        untrained = _contact("greta.wik")
        assert not _check(untrained).allowed


def test_softone_suspended_customer_may_still_report_bugs_in_the_portal(
    tenants: dict[str, Tenant],
) -> None:
    with scope(tenant=tenants["softone"]):
        assert (
            Contract.objects.get(organisation__name="Norrsken Bemanning AB").status == "suspended"
        )
        tove = _contact("tove.sjoberg")
        bug = _check(tove, channel="portal", category="bug")
        assert bug.allowed and not bug.billable
        assert not _check(tove, channel="email").allowed
        assert any("suspended" in r for r in map(str, bug.reasons))
        assert _check(Contact.objects.get(user__username="softone-named")).allowed
        assert not _check(_contact("rune.moberg")).allowed


def test_itsl_has_a_service_owner_and_its_plan(tenants: dict[str, Tenant]) -> None:
    with scope(tenant=tenants["itsl"]):
        named = Contact.objects.get(user__username="itsl-named")
        assert named.organisation is not None
        assert named.organisation.service_owner is not None
        assert _check(named, channel="chat").allowed


def test_syneton_without_a_contract_or_expired_is_served_and_billed(
    tenants: dict[str, Tenant],
) -> None:
    with scope(tenant=tenants["syneton"]):
        for email in ("an@peeters", "wim.claes"):
            result = _check(_contact(email), category="question")
            assert result.allowed and result.billable and result.requires_acceptance
        assert Contract.objects.get(organisation__name="Van Damme Logistiek NV").status == "expired"
        named = Contact.objects.get(user__username="syneton-named")
        assert not _check(named, category="change_request").billable
        assert _check(named, category="out_of_scope").billable


def test_syneton_ships_its_scope_table_and_the_type_decides_billing(
    tenants: dict[str, Tenant],
) -> None:
    with scope(tenant=tenants["syneton"]):
        plan = SupportPlan.objects.get(name="Onderhoudscontract")
        table = {r.request_type.name: r.included for r in plan.scope_table()}
        assert len(table) == 9 and sum(table.values()) == 4
        assert table["Melden van problemen/bugs"] and not table["Opleiding"]
        named = Contact.objects.get(user__username="syneton-named")
        training = RequestType.objects.get(name="Opleiding")
        bug = RequestType.objects.get(name="Melden van problemen/bugs")
        billed = entitlement_check(
            contact=named, channel="portal", category="question", request_type=training
        )
        free = entitlement_check(
            contact=named, channel="portal", category="question", request_type=bug
        )
        assert billed.billable and billed.requires_acceptance and not free.billable
        assert RequestType.objects.count() == 9
        with transaction.atomic():
            demo.load(tenants["syneton"])
        assert RequestType.objects.count() == 9


def test_an_unknown_tenant_gets_no_demo_data(db: None) -> None:
    tenant = Tenant.objects.create(slug="elsewhere", name="Elsewhere")
    with scope(tenant=tenant):
        assert demo.load(tenant) == []
        assert not SupportPlan.objects.exists()


def test_synerity_says_who_receives_each_monthly_report(tenants: dict[str, Tenant]) -> None:
    with scope(tenant=tenants["synerity"]):
        day = timezone.localdate()
        by_name = {
            o.name: report_recipients(organisation=o, day=day) for o in Organisation.objects.all()
        }
    nordljus, havsbris = by_name["Nordljus Retail AB"], by_name["Havsbris Logistik AB"]
    # Guld: its named contact; Silver: the contact the admin chose.
    assert nordljus.source == RecipientSource.NAMED
    assert [p.email for p in nordljus.people] == ["nils.holm@nordljus.example.se"]
    assert havsbris.source == RecipientSource.CHOSEN
    assert [p.email for p in havsbris.people] == ["sara.lund@havsbris.example.se"]
