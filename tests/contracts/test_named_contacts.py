"""Named contacts: the limit, the organisation rule, and two admins racing for the last place."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django_scopes import scope

from contracts.models import Contact, Contract, NamedContact, Organisation, SupportPlan
from contracts.services import named_contact_add, named_contact_remove, named_contacts_used
from tests.conftest import Cast, build_cast

from .conftest import make_contract, make_plan


@pytest.fixture
def limited(cast: Cast, in_tenant_a: object) -> Contract:
    plan = make_plan(
        cast.tenant_a, name="Standard", named_contacts_only=True, named_contact_limit=2
    )
    return make_contract(cast.org_a, plan)


def _contact(cast: Cast, name: str, organisation: Organisation | None = None) -> Contact:
    return Contact.objects.create(
        tenant=cast.tenant_a,
        organisation=organisation or cast.org_a,
        name=name,
        email=f"{name.lower()}@orga.example.test",
    )


def test_it_refuses_a_third_named_contact(cast: Cast, limited: Contract) -> None:
    named_contact_add(contract=limited, contact=cast.customer_contact, actor=cast.admin)
    named_contact_add(contract=limited, contact=cast.named_contact, actor=cast.admin)
    with pytest.raises(ValidationError) as excinfo:
        named_contact_add(contract=limited, contact=_contact(cast, "Third"), actor=cast.admin)
    assert "(2 of 2)" in excinfo.value.messages[0]
    assert named_contacts_used(contract=limited) == (2, 2)


def test_extra_places_on_the_contract_raise_the_limit(cast: Cast, limited: Contract) -> None:
    limited.extra_named_contacts = 1
    limited.save()
    for name in ("One", "Two", "Three"):
        named_contact_add(contract=limited, contact=_contact(cast, name), actor=None)
    assert named_contacts_used(contract=limited) == (3, 3)


def test_removing_a_named_contact_frees_a_place(cast: Cast, limited: Contract) -> None:
    first = named_contact_add(contract=limited, contact=cast.customer_contact, actor=None)
    named_contact_add(contract=limited, contact=cast.named_contact, actor=None)
    named_contact_remove(named_contact=first, actor=cast.admin)
    named_contact_add(contract=limited, contact=_contact(cast, "Third"), actor=None)
    assert named_contacts_used(contract=limited) == (2, 2)


def test_a_contact_of_another_organisation_cannot_be_named(cast: Cast, limited: Contract) -> None:
    elsewhere = Organisation.objects.create(tenant=cast.tenant_a, name="Elsewhere")
    stranger = _contact(cast, "Stranger", elsewhere)
    with pytest.raises(ValidationError) as excinfo:
        named_contact_add(contract=limited, contact=stranger, actor=None)
    assert "is not a contact of Org A" in excinfo.value.messages[0]
    assert not NamedContact.objects.exists()


def test_the_same_contact_is_not_named_twice(cast: Cast, limited: Contract) -> None:
    named_contact_add(contract=limited, contact=cast.named_contact, actor=None)
    with pytest.raises(ValidationError, match="already a named contact"):
        named_contact_add(contract=limited, contact=cast.named_contact, actor=None)


def test_a_plan_without_a_limit_takes_any_number(cast: Cast, in_tenant_a: object) -> None:
    plan: SupportPlan = make_plan(cast.tenant_a, name="Open")
    contract = make_contract(cast.org_a, plan)
    for name in ("A1", "A2", "A3", "A4"):
        named_contact_add(contract=contract, contact=_contact(cast, name), actor=None)
    assert named_contacts_used(contract=contract) == (4, None)


@pytest.mark.django_db(transaction=True)
def test_two_admins_taking_the_last_place_at_once_cannot_both_win() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite runs one writer at a time, so there is no race")
    cast = build_cast()
    with scope(tenant=cast.tenant_a):
        plan = make_plan(
            cast.tenant_a, name="Standard", named_contacts_only=True, named_contact_limit=2
        )
        contract = make_contract(cast.org_a, plan)
        named_contact_add(contract=contract, contact=cast.customer_contact, actor=None)
        rivals = [cast.named_contact, _contact(cast, "Rival")]

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take_last_place(contact: Contact) -> None:
        try:
            with scope(tenant=cast.tenant_a):
                barrier.wait(timeout=10)
                named_contact_add(contract=contract, contact=contact, actor=None)
            outcomes.append("won")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take_last_place, args=(c,)) for c in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["refused", "won"]
    with scope(tenant=cast.tenant_a):
        assert NamedContact.objects.filter(contract=contract).count() == 2
