"""The organisation's contract page: plan, features, named contacts, hours, how to reach us."""

from __future__ import annotations

import time_machine
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.portal.conftest import Desk, stockholm

# Tuesday before Easter 2024: Maundy Thursday closes at 13:00, Good Friday and Easter
# Monday are closed.
BEFORE_EASTER = stockholm(2024, 3, 26, 10, 0)


@time_machine.travel(BEFORE_EASTER, tick=False)
def test_the_contract_page_shows_plan_features_named_contacts_and_hours(
    cast: Cast, desk: Desk
) -> None:
    response = client_for(cast.customer, cast.tenant_a).get("/portal/contract/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Gold" in content and "Our best plan." in content
    assert "Knowledge centre access" in content and "(full)" in content
    assert "Nils Named" in content
    assert "Monday" in content and "08:00–12:00, 13:00–16:00" in content
    assert "Day before Långfredagen" in content and "08:00–13:00" in content
    assert "Långfredagen" in content and "Annandag påsk" in content
    assert "Påskdagen" not in content  # a Sunday: closed anyway, not news
    assert "support@tenant-a.example.test" in content
    assert "+46 8 555 010 00" in content
    assert "P1 Critical" in content and "within 2 business hours" in content


@time_machine.travel(BEFORE_EASTER, tick=False)
def test_the_named_contact_is_marked_as_you(cast: Cast, desk: Desk) -> None:
    content = client_for(cast.named, cast.tenant_a).get("/portal/contract/").content.decode()
    assert 'Nils Named <span class="badge">you</span>' in content


@time_machine.travel(BEFORE_EASTER, tick=False)
def test_a_suspended_contract_says_so_and_why(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        desk.contract.status = "suspended"
        desk.contract.suspended_reason = "Invoices are overdue"
        desk.contract.save()
    content = client_for(cast.customer, cast.tenant_a).get("/portal/contract/").content.decode()
    assert "Suspended" in content and "Invoices are overdue" in content


def test_without_a_contract_the_page_says_so(cast: Cast) -> None:
    response = client_for(cast.customer, cast.tenant_a).get("/portal/contract/")
    assert response.status_code == 200
    assert "Your organisation has no support contract." in response.content.decode()


@time_machine.travel(BEFORE_EASTER, tick=False)
def test_the_page_speaks_swedish_and_dutch(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    for language in ("sv", "nl"):
        client.post("/language/", {"language": language, "next": "/portal/contract/"})
        response = client.get("/portal/contract/")
        assert response["Content-Language"] == language
        assert f'<html lang="{language}">' in response.content.decode()
