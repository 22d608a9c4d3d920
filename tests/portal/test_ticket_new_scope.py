"""Filing in the portal under a plan with a scope table (issue #15 item 8): the customer sees
what is included and what is billed, and the type picked decides (Syneton)."""

from __future__ import annotations

from typing import Any

from django_scopes import scope

from contracts.models import PlanRequestType, RequestType
from tests.conftest import B_MARKER, Cast, client_for
from tests.portal.conftest import Desk
from tickets.choices import Category
from tickets.models import Ticket


def _table(cast: Cast, desk: Desk) -> dict[str, RequestType]:
    with scope(tenant=cast.tenant_a):
        made = {
            "question": RequestType.objects.create(
                tenant=cast.tenant_a, name="User question", category=Category.QUESTION
            ),
            "training": RequestType.objects.create(
                tenant=cast.tenant_a, name="Training", category=Category.OUT_OF_SCOPE
            ),
            "script": RequestType.objects.create(
                tenant=cast.tenant_a, name="Database script", category=Category.OUT_OF_SCOPE
            ),
        }
        for key, included in (("question", True), ("training", False)):
            PlanRequestType.objects.create(
                tenant=cast.tenant_a, plan=desk.plan, request_type=made[key], included=included
            )
    return made


def _post(cast: Cast, **data: object) -> Any:
    payload = {"subject": "Course", "description": "For two people.", **data}
    return client_for(cast.customer, cast.tenant_a).post("/portal/new/", payload)


def _tickets(cast: Cast) -> list[Ticket]:
    with scope(tenant=cast.tenant_a):
        return list(Ticket.objects.select_related("request_type"))


def test_the_form_shows_the_plans_table_and_a_type_select(cast: Cast, desk: Desk) -> None:
    types = _table(cast, desk)
    html = client_for(cast.customer, cast.tenant_a).get("/portal/new/").content.decode()
    table = html[html.index('id="scope-table"') : html.index("</table>")]
    assert "User question" in table and "Training" in table and "Billable" in table
    assert "Database script" not in html  # not in the plan's table
    assert f'<option value="{types["training"].pk}">Training (billable)</option>' in html
    assert 'name="category"' not in html


def test_a_plan_without_a_table_keeps_the_category_select(cast: Cast, desk: Desk) -> None:
    html = client_for(cast.customer, cast.tenant_a).get("/portal/new/").content.decode()
    assert 'name="category"' in html and 'id="scope-table"' not in html


def test_an_included_type_is_filed_free(cast: Cast, desk: Desk) -> None:
    types = _table(cast, desk)
    response = _post(cast, request_type=types["question"].pk)
    assert response.status_code == 302
    (ticket,) = _tickets(cast)
    assert (ticket.request_type, ticket.billable, ticket.category) == (
        types["question"],
        False,
        Category.QUESTION,
    )


def test_a_billed_type_asks_for_acceptance_before_filing(cast: Cast, desk: Desk) -> None:
    types = _table(cast, desk)
    asked = _post(cast, request_type=types["training"].pk)
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Accept the charge to file this request" in html
    assert "Training is not included in the Gold plan and is billed." in html
    assert _tickets(cast) == []
    filed = _post(cast, request_type=types["training"].pk, accept_billable="on")
    assert filed.status_code == 302
    (ticket,) = _tickets(cast)
    assert (ticket.billable, ticket.billing_accepted) == (True, True)


def test_a_type_outside_the_table_or_of_another_tenant_is_refused_saying_so(
    cast: Cast, desk: Desk
) -> None:
    types = _table(cast, desk)
    with scope(tenant=cast.tenant_b):
        theirs = RequestType.objects.create(tenant=cast.tenant_b, name=f"Type {B_MARKER}")
    for value in (types["script"].pk, theirs.pk, "garbage", ""):
        response = _post(cast, request_type=value, accept_billable="on")
        assert response.status_code == 200
        html = response.content.decode()
        assert "request types of your plan" in html or "This field is required" in html
        assert B_MARKER not in html
    assert _tickets(cast) == []


def test_the_preview_follows_the_chosen_type(cast: Cast, desk: Desk) -> None:
    types = _table(cast, desk)
    client = client_for(cast.customer, cast.tenant_a)
    billed = client.get("/portal/new/preview/", {"request_type": types["training"].pk})
    assert "This request is billed" in billed.content.decode()
    free = client.get("/portal/new/preview/", {"request_type": types["question"].pk})
    assert "This request is billed" not in free.content.decode()


def test_the_filing_page_reads_in_swedish(cast: Cast, desk: Desk) -> None:
    _table(cast, desk)
    cast.customer.language = "sv"
    cast.customer.save()
    html = client_for(cast.customer, cast.tenant_a).get("/portal/new/").content.decode()
    assert "Vad din plan omfattar" in html and "Debiterbart" in html and "Ingår" in html
