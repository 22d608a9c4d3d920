"""The admin pages under /manage/: each task works, and only for admins."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

import pytest
from django.urls import reverse
from django_scopes import scope

from contracts.models import (
    Contact,
    Contract,
    ContractStatus,
    Feature,
    NamedContact,
    Organisation,
    SupportPlan,
)
from tests.conftest import Cast, client_for

from .conftest import give_feature, make_contract, make_plan


def _in_a(cast: Cast) -> AbstractContextManager[None]:
    return scope(tenant=cast.tenant_a)


@pytest.mark.parametrize("role", ["agent", "manager", "customer"])
def test_the_admin_pages_are_404_for_everyone_but_admins(cast: Cast, role: str) -> None:
    client = client_for(cast.users_a()[role], cast.tenant_a)
    for name in ("organisation-list", "contact-list", "plan-list", "contract-list"):
        assert client.get(reverse(f"contracts:{name}")).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(cast: Cast) -> None:
    response = client_for(None, cast.tenant_a).get(reverse("contracts:organisation-list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_admin_creates_an_organisation_with_an_account_manager(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("contracts:organisation-create"),
        {
            "name": "Acme",
            "org_number": "556677-8899",
            "is_licence_customer": "on",
            "account_manager": cast.agent.pk,
        },
    )
    assert response.status_code == 302
    with _in_a(cast):
        acme = Organisation.objects.get(name="Acme")
    assert acme.is_licence_customer and acme.account_manager == cast.agent
    assert client.get(response["Location"]).status_code == 200


def test_a_customer_cannot_be_made_account_manager(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("contracts:organisation-create"),
        {"name": "Acme", "account_manager": cast.customer.pk},
    )
    assert response.status_code == 200
    assert "account_manager" in response.context["form"].errors
    with _in_a(cast):
        assert not Organisation.objects.filter(name="Acme").exists()


def test_a_duplicate_organisation_name_is_a_form_error_not_a_crash(cast: Cast) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:organisation-create"), {"name": "org a"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_the_organisation_list_costs_a_fixed_number_of_queries(
    cast: Cast, django_assert_max_num_queries: object
) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a)
        for i in range(15):
            org = Organisation.objects.create(tenant=cast.tenant_a, name=f"Org {i:02}")
            make_contract(org, plan)
    client = client_for(cast.admin, cast.tenant_a)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = client.get(reverse("contracts:organisation-list"))
    assert response.status_code == 200
    assert "Org 14" in response.content.decode()


def test_the_contact_list_searches_and_costs_a_fixed_number_of_queries(
    cast: Cast, django_assert_max_num_queries: object
) -> None:
    with _in_a(cast):
        for i in range(15):
            Contact.objects.create(
                tenant=cast.tenant_a, organisation=cast.org_a, name=f"P{i}", email=f"p{i}@x.test"
            )
    client = client_for(cast.admin, cast.tenant_a)
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        response = client.get(reverse("contracts:contact-list"), {"q": "carla"})
    assert list(response.context["page"]) == [cast.customer_contact]


def test_an_admin_edits_a_contacts_training_date(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("contracts:contact-edit", kwargs={"contact_id": cast.named_contact.pk})
    response = client.post(
        url,
        {
            "organisation": cast.org_a.pk,
            "name": "Nils Named",
            "email": "nils@orga.example.test",
            "trained_on": "2026-02-03",
        },
    )
    assert response.status_code == 302
    cast.named_contact.refresh_from_db()
    assert cast.named_contact.trained_on == dt.date(2026, 2, 3)


def test_a_contact_cannot_be_put_in_another_tenants_organisation(cast: Cast) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:contact-create"),
        {"organisation": cast.org_b.pk, "name": "Sneaky", "email": "sneaky@x.test"},
    )
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors


def test_an_admin_builds_a_plan_with_its_feature_matrix(cast: Cast) -> None:
    with _in_a(cast):
        Feature.objects.create(
            tenant=cast.tenant_a, key="knowledge_centre", name="Knowledge centre"
        )
        Feature.objects.create(
            tenant=cast.tenant_a, key="vendor_follow_up", name="Vendor follow-up"
        )
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("contracts:plan-create"),
        {
            "name": "Silver",
            "position": 2,
            "currency": "SEK",
            "price_licence": "5000",
            "price_non_licence": "7500",
            "consulting_discount_percent": "10",
            "allowed_channels": ["email", "phone", "portal"],
            "included_categories": ["question", "incident"],
            "feature_knowledge_centre": "on",
            "feature_vendor_follow_up": "on",
            "feature_vendor_follow_up_value": "Proactive",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    with _in_a(cast):
        silver = SupportPlan.objects.get(name="Silver")
        assert silver.has_feature("knowledge_centre")
        assert silver.plan_features.get(feature__key="vendor_follow_up").value == "Proactive"
        assert silver.allowed_channels == ["email", "phone", "portal"]
    page = client.get(reverse("contracts:plan-list")).content.decode()
    assert "Proactive" in page


def test_unticking_a_feature_removes_it_from_the_plan(cast: Cast) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a, name="Silver")
        give_feature(plan, "knowledge_centre")
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("contracts:plan-edit", kwargs={"plan_id": plan.pk}),
        {
            "name": "Silver",
            "position": 0,
            "currency": "SEK",
            "price_licence": "1",
            "price_non_licence": "1",
            "consulting_discount_percent": "0",
        },
    )
    assert response.status_code == 302
    with _in_a(cast):
        assert not plan.has_feature("knowledge_centre")


def test_a_negative_price_is_a_form_error(cast: Cast) -> None:
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:plan-create"),
        {
            "name": "Cheap",
            "position": 0,
            "currency": "SEK",
            "price_licence": "-5",
            "price_non_licence": "0",
            "consulting_discount_percent": "0",
        },
    )
    assert response.status_code == 200
    assert "price_licence" in response.context["form"].errors


def test_a_second_fallback_plan_is_refused_with_a_message(cast: Cast) -> None:
    with _in_a(cast):
        make_plan(cast.tenant_a, name="No contract", is_fallback=True)
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:plan-create"),
        {
            "name": "Also no contract",
            "position": 0,
            "currency": "SEK",
            "price_licence": "0",
            "price_non_licence": "0",
            "consulting_discount_percent": "0",
            "is_fallback": "on",
        },
    )
    assert response.status_code == 200
    assert "already holds the rules" in response.content.decode()


def test_an_admin_creates_a_contract_and_an_end_before_start_is_refused(cast: Cast) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a)
    client = client_for(cast.admin, cast.tenant_a)
    data = {
        "organisation": cast.org_a.pk,
        "plan": plan.pk,
        "starts_on": "2026-01-01",
        "ends_on": "2025-12-31",
        "extra_named_contacts": 0,
    }
    bad = client.post(reverse("contracts:contract-create"), data)
    assert bad.status_code == 200
    assert "The end date cannot be before the start date." in bad.content.decode()
    good = client.post(reverse("contracts:contract-create"), {**data, "ends_on": "2026-12-31"})
    assert good.status_code == 302
    with _in_a(cast):
        assert Contract.objects.get().ends_on == dt.date(2026, 12, 31)


def test_an_overlapping_contract_is_refused_on_the_page(cast: Cast) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a)
        make_contract(cast.org_a, plan)
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:contract-create"),
        {
            "organisation": cast.org_a.pk,
            "plan": plan.pk,
            "starts_on": "2026-05-01",
            "extra_named_contacts": 0,
        },
    )
    assert response.status_code == 200
    assert "already has a current contract" in response.content.decode()


def test_the_contract_page_shows_places_used_and_suspends_and_resumes(cast: Cast) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a, named_contacts_only=True, named_contact_limit=2)
        contract = make_contract(cast.org_a, plan)
    client = client_for(cast.admin, cast.tenant_a)
    detail = reverse("contracts:contract-detail", kwargs={"contract_id": contract.pk})
    add = reverse("contracts:named-contact-add", kwargs={"contract_id": contract.pk})
    client.post(add, {"contact": cast.named_contact.pk})
    client.post(add, {"contact": cast.customer_contact.pk})
    assert "2 of 2 used" in client.get(detail).content.decode()

    client.post(
        reverse("contracts:contract-suspend", kwargs={"contract_id": contract.pk}),
        {"reason": "Invoice overdue"},
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SUSPENDED
    assert "Invoice overdue" in client.get(detail).content.decode()
    client.post(reverse("contracts:contract-resume", kwargs={"contract_id": contract.pk}))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_adding_beyond_the_limit_shows_the_reason(cast: Cast) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a, named_contacts_only=True, named_contact_limit=1)
        contract = make_contract(cast.org_a, plan)
    client = client_for(cast.admin, cast.tenant_a)
    add = reverse("contracts:named-contact-add", kwargs={"contract_id": contract.pk})
    client.post(add, {"contact": cast.named_contact.pk})
    response = client.post(add, {"contact": cast.customer_contact.pk}, follow=True)
    assert (
        "All named-contact places of this contract are used (1 of 1)" in response.content.decode()
    )
    with _in_a(cast):
        assert NamedContact.objects.count() == 1


def test_removing_a_named_contact(cast: Cast) -> None:
    with _in_a(cast):
        contract = make_contract(cast.org_a, make_plan(cast.tenant_a))
        named = NamedContact.objects.create(
            tenant=cast.tenant_a, contract=contract, contact=cast.named_contact
        )
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("contracts:named-contact-remove", kwargs={"named_contact_id": named.pk})
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    with _in_a(cast):
        assert not NamedContact.objects.exists()


def test_suspending_without_a_reason_changes_nothing(cast: Cast) -> None:
    with _in_a(cast):
        contract = make_contract(cast.org_a, make_plan(cast.tenant_a))
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("contracts:contract-suspend", kwargs={"contract_id": contract.pk}),
        {"reason": ""},
        follow=True,
    )
    assert "Give a reason for the suspension." in response.content.decode()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_the_entitlement_page_answers_with_reasons(cast: Cast) -> None:
    with _in_a(cast):
        make_contract(cast.org_a, make_plan(cast.tenant_a, allowed_channels=["email"]))
    response = client_for(cast.admin, cast.tenant_a).get(
        reverse("contracts:entitlement-check"),
        {
            "contact": cast.customer_contact.pk,
            "channel": "phone",
            "category": "bug",
            "at": "2026-06-01T10:00",
        },
    )
    page = response.content.decode()
    assert "Refused" in page
    assert "does not include support by phone" in page


def test_the_contract_list_filters_by_status(
    cast: Cast, django_assert_max_num_queries: object
) -> None:
    with _in_a(cast):
        plan = make_plan(cast.tenant_a)
        make_contract(cast.org_a, plan, status=ContractStatus.SUSPENDED)
        for i in range(10):
            org = Organisation.objects.create(tenant=cast.tenant_a, name=f"O{i}")
            make_contract(org, plan)
    client = client_for(cast.admin, cast.tenant_a)
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        response = client.get(reverse("contracts:contract-list"), {"status": "suspended"})
    assert [c.organisation.name for c in response.context["page"]] == ["Org A"]


def test_an_admin_gives_a_contact_a_portal_login_by_link(cast: Cast) -> None:
    from contracts.models import Contact
    from tickets.mail.models import OutboundEmail

    with scope(tenant=cast.tenant_a):
        contact = Contact.objects.create(
            tenant=cast.tenant_a,
            organisation=cast.org_a,
            name="New Person",
            email="new@orga.example.test",
        )
    client = client_for(cast.admin, cast.tenant_a)
    page = client.get(f"/manage/contacts/{contact.pk}/edit/").content.decode()
    assert "no portal login yet" in page
    assert client.post(f"/manage/contacts/{contact.pk}/invite/").status_code == 302
    with scope(tenant=cast.tenant_a):
        contact.refresh_from_db()
        links = OutboundEmail.objects.filter(kind="login_link", to_address=contact.email)
        assert contact.user is not None
        assert links.count() == 1
    assert (
        "has a portal login" in client.get(f"/manage/contacts/{contact.pk}/edit/").content.decode()
    )


def test_only_admins_invite_contacts(cast: Cast) -> None:
    url = f"/manage/contacts/{cast.customer_contact.pk}/invite/"
    assert client_for(cast.agent, cast.tenant_a).post(url).status_code == 404
    assert client_for(cast.admin, cast.tenant_a).get(url).status_code == 405
