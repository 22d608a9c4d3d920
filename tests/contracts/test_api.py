"""The contracts API: every resource, the entitlement check, suspension, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from django_scopes import scope

from contracts.models import Contract, ContractStatus, Feature, NamedContact, Organisation
from sla.models import SLAPolicy
from tests.conftest import B_MARKER, Cast, api_client_for

from .conftest import make_contract, make_plan, make_policy


def _json(client: Any, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(url, data=data or {}, content_type="application/json")


def test_an_admin_creates_an_organisation_and_reads_it_back(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/organisations/",
        {"name": "Acme", "is_licence_customer": True, "account_manager": cast.agent.pk},
    )
    assert response.status_code == 201, response.json()
    body = client.get(f"/api/v1/organisations/{response.json()['id']}/").json()
    assert body["name"] == "Acme" and body["account_manager"] == cast.agent.pk


def test_an_account_manager_who_is_not_staff_here_is_a_400(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/organisations/",
        {"name": "Acme", "account_manager": cast.agent_b.pk},
    )
    assert response.status_code == 400
    assert "account_manager" in response.json()


def test_the_organisation_list_is_paginated_by_name_with_few_queries(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        for i in range(20):
            Organisation.objects.create(tenant=cast.tenant_a, name=f"Org {i:02}")
    client = api_client_for(cast.manager, cast.tenant_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/organisations/")
    names = [o["name"] for o in response.json()["results"]]
    assert names == sorted(names) and len(names) == 21
    assert B_MARKER not in response.content.decode()


def test_managers_read_but_do_not_write_organisations(cast: Cast) -> None:
    client = api_client_for(cast.manager, cast.tenant_a)
    assert client.get("/api/v1/organisations/").status_code == 200
    assert _json(client, "post", "/api/v1/organisations/", {"name": "X"}).status_code == 404


def test_agents_create_contacts_but_not_in_another_tenants_organisation(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    good = _json(
        client,
        "post",
        "/api/v1/contacts/",
        {"name": "Pia", "email": "pia@orga.example.test", "organisation": cast.org_a.pk},
    )
    assert good.status_code == 201, good.json()
    bad = _json(
        client,
        "post",
        "/api/v1/contacts/",
        {"name": "Sneak", "email": "sneak@x.test", "organisation": cast.org_b.pk},
    )
    assert bad.status_code == 400
    assert "organisation" in bad.json()


def test_a_duplicate_contact_email_is_a_400_with_a_message(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    response = _json(
        client, "post", "/api/v1/contacts/", {"name": "Dup", "email": "CARLA@orga.example.test"}
    )
    assert response.status_code == 400
    assert "already exists" in str(response.json())


def test_contacts_filter_by_organisation_with_few_queries(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/contacts/", {"organisation": cast.org_a.pk})
    assert {c["name"] for c in response.json()["results"]} == {"Carla Customer", "Nils Named"}
    assert client.get("/api/v1/contacts/", {"organisation": cast.org_b.pk}).json()["results"] == []


def test_a_plan_is_created_with_features_channels_scope_and_sla(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        Feature.objects.create(tenant=cast.tenant_a, key="knowledge_centre", name="KC")
        policy = make_policy(cast.tenant_a, "Digital tickets")
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/plans/",
        {
            "name": "Standard",
            "named_contacts_only": True,
            "named_contact_limit": 2,
            "training_required": True,
            "allowed_channels": ["email", "portal"],
            "included_categories": ["bug", "incident"],
            "quote_free_hours": "2",
            "notify_account_manager_out_of_scope": True,
            "sla_policy": policy.pk,
            "features": [{"key": "knowledge_centre", "value": "full"}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["features"] == [{"key": "knowledge_centre", "value": "full"}]
    assert body["sla_policy"] == policy.pk


def test_unknown_plan_features_are_refused_and_nothing_is_saved(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client, "post", "/api/v1/plans/", {"name": "Odd", "features": [{"key": "teleportation"}]}
    )
    assert response.status_code == 400
    assert "teleportation" in str(response.json())
    with scope(tenant=cast.tenant_a):
        from contracts.models import SupportPlan

        assert not SupportPlan.objects.exists()


@pytest.mark.parametrize(
    ("item", "saved"),
    [({"value": "full"}, None), ({}, None), ({"key": "knowledge_centre"}, "")],
)
def test_a_plan_patch_with_an_incomplete_feature_item_is_a_400_or_takes_the_default(
    cast: Cast, item: dict[str, str], saved: str | None
) -> None:
    with scope(tenant=cast.tenant_a):
        Feature.objects.create(tenant=cast.tenant_a, key="knowledge_centre", name="KC")
        plan = make_plan(cast.tenant_a, "Silver")
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(client, "patch", f"/api/v1/plans/{plan.pk}/", {"features": [item]})
    if saved is None:
        assert response.status_code == 400
        assert response.json() == {"features": {"0": {"key": ["This field is required."]}}}
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["features"] == [{"key": "knowledge_centre", "value": saved}]


@pytest.mark.parametrize(
    "field, value",
    [("price_licence", "-1"), ("allowed_channels", ["fax"]), ("included_categories", ["poem"])],
)
def test_bad_plan_values_are_a_400(cast: Cast, field: str, value: object) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(client, "post", "/api/v1/plans/", {"name": "Bad", field: value})
    assert response.status_code == 400
    assert field in response.json()


def test_another_tenants_sla_policy_is_a_400(cast: Cast) -> None:
    with scope(tenant=cast.tenant_b):
        policy_b = make_policy(cast.tenant_b, f"B {B_MARKER}")
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(client, "post", "/api/v1/plans/", {"name": "X", "sla_policy": policy_b.pk})
    assert response.status_code == 400
    assert SLAPolicy is not None


def test_the_plan_list_costs_a_fixed_number_of_queries(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    from .conftest import give_feature

    with scope(tenant=cast.tenant_a):
        for i in range(8):
            plan = make_plan(cast.tenant_a, name=f"Plan {i}")
            give_feature(plan, f"f{i}")
    client = api_client_for(cast.manager, cast.tenant_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/plans/")
    assert len(response.json()["results"]) == 8


def test_a_contract_is_created_and_an_overlap_is_a_400(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(cast.tenant_a)
    client = api_client_for(cast.admin, cast.tenant_a)
    data = {"organisation": cast.org_a.pk, "plan": plan.pk, "starts_on": "2026-01-01"}
    first = _json(client, "post", "/api/v1/contracts/", data)
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "active"
    second = _json(client, "post", "/api/v1/contracts/", {**data, "starts_on": "2026-06-01"})
    assert second.status_code == 400
    assert "already has a current contract" in str(second.json())


def test_a_contract_ending_before_it_starts_is_a_400(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(cast.tenant_a)
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/contracts/",
        {
            "organisation": cast.org_a.pk,
            "plan": plan.pk,
            "starts_on": "2026-02-01",
            "ends_on": "2026-01-01",
        },
    )
    assert response.status_code == 400
    with scope(tenant=cast.tenant_a):
        assert not Contract.objects.exists()


def test_a_contract_for_another_tenants_organisation_is_a_400(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(cast.tenant_a)
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/contracts/",
        {"organisation": cast.org_b.pk, "plan": plan.pk, "starts_on": "2026-01-01"},
    )
    assert response.status_code == 400
    assert "organisation" in response.json()


def test_suspend_and_resume_through_the_api(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        contract = make_contract(cast.org_a, make_plan(cast.tenant_a))
    client = api_client_for(cast.admin, cast.tenant_a)
    url = f"/api/v1/contracts/{contract.pk}/"
    assert _json(client, "post", url + "suspend/", {}).status_code == 400
    suspended = _json(client, "post", url + "suspend/", {"reason": "Invoice 12 overdue"})
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["suspended_reason"] == "Invoice 12 overdue"
    assert _json(client, "post", url + "suspend/", {"reason": "again"}).status_code == 400
    resumed = _json(client, "post", url + "resume/")
    assert resumed.json()["status"] == "active"
    assert _json(client, "post", url + "resume/").status_code == 400


def test_agents_cannot_suspend_contracts(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        contract = make_contract(cast.org_a, make_plan(cast.tenant_a))
    client = api_client_for(cast.agent, cast.tenant_a)
    response = _json(client, "post", f"/api/v1/contracts/{contract.pk}/suspend/", {"reason": "x"})
    assert response.status_code == 404
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_the_contract_list_costs_a_fixed_number_of_queries(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(cast.tenant_a)
        for i in range(10):
            org = Organisation.objects.create(tenant=cast.tenant_a, name=f"O{i}")
            make_contract(org, plan)
    client = api_client_for(cast.manager, cast.tenant_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/contracts/")
    assert len(response.json()["results"]) == 10


def test_named_contacts_through_the_api_respect_the_limit(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(cast.tenant_a, named_contacts_only=True, named_contact_limit=1)
        contract = make_contract(cast.org_a, plan)
    client = api_client_for(cast.admin, cast.tenant_a)
    first = _json(
        client,
        "post",
        "/api/v1/named-contacts/",
        {"contract": contract.pk, "contact": cast.named_contact.pk},
    )
    assert first.status_code == 201, first.json()
    second = _json(
        client,
        "post",
        "/api/v1/named-contacts/",
        {"contract": contract.pk, "contact": cast.customer_contact.pk},
    )
    assert second.status_code == 400
    assert "(1 of 1)" in str(second.json())
    listed = client.get("/api/v1/named-contacts/", {"contract": contract.pk}).json()["results"]
    assert [n["contact"] for n in listed] == [cast.named_contact.pk]
    assert client.delete(f"/api/v1/named-contacts/{first.json()['id']}/").status_code == 204
    with scope(tenant=cast.tenant_a):
        assert not NamedContact.objects.exists()


def test_another_tenants_contact_cannot_be_named(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        contract = make_contract(cast.org_a, make_plan(cast.tenant_a))
    client = api_client_for(cast.admin, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/named-contacts/",
        {"contract": contract.pk, "contact": cast.contact_b.pk},
    )
    assert response.status_code == 400
    assert "contact" in response.json()


def test_the_entitlement_check_endpoint_answers_for_any_staff_member(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        plan = make_plan(
            cast.tenant_a,
            included_categories=["bug"],
            quote_free_hours="2",
            notify_account_manager_out_of_scope=True,
            sla_policy=make_policy(cast.tenant_a),
        )
        contract = make_contract(cast.org_a, plan)
        cast.org_a.account_manager = cast.agent
        cast.org_a.save()
    client = api_client_for(cast.manager, cast.tenant_a)
    response = _json(
        client,
        "post",
        "/api/v1/entitlements/check/",
        {
            "contact": cast.customer_contact.pk,
            "channel": "email",
            "category": "change_request",
            "at": "2026-06-01T10:00:00Z",
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["allowed"] and body["billable"] and body["requires_acceptance"]
    assert body["contract"] == contract.pk and body["plan"] == plan.pk
    assert body["notify"] == [cast.agent.pk]
    assert "Work under 2 hours is done without a quote." in body["reasons"]


def test_the_entitlement_check_refuses_bad_input_and_other_tenants_contacts(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    bad = _json(
        client,
        "post",
        "/api/v1/entitlements/check/",
        {"contact": cast.customer_contact.pk, "channel": "fax", "category": "bug"},
    )
    assert bad.status_code == 400 and "channel" in bad.json()
    other = _json(
        client,
        "post",
        "/api/v1/entitlements/check/",
        {"contact": cast.contact_b.pk, "channel": "email", "category": "bug"},
    )
    assert other.status_code == 400
    assert B_MARKER not in other.content.decode()


def test_without_a_contract_the_endpoint_says_no_and_why(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    body = _json(
        client,
        "post",
        "/api/v1/entitlements/check/",
        {"contact": cast.customer_contact.pk, "channel": "email", "category": "bug"},
    ).json()
    assert body["allowed"] is False
    assert body["plan"] is None and body["contract"] is None and body["sla_policy"] is None
    assert "Support requires a valid contract." in body["reasons"]


def test_every_contracts_endpoint_is_in_the_openapi_schema(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/organisations/",
        "/api/v1/organisations/{organisation_id}/",
        "/api/v1/contacts/{contact_id}/",
        "/api/v1/features/",
        "/api/v1/plans/{plan_id}/",
        "/api/v1/contracts/{contract_id}/suspend/",
        "/api/v1/contracts/{contract_id}/resume/",
        "/api/v1/named-contacts/{named_contact_id}/",
        "/api/v1/entitlements/check/",
    ):
        assert path in paths, path
    check = paths["/api/v1/entitlements/check/"]["post"]
    assert "200" in check["responses"] and "400" in check["responses"]
