"""Scope as a table (issue #15 item 8): the tenant's request types, marked included or
billable per plan; the type a customer picks decides billable and acceptance (Syneton)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from contracts.models import PlanRequestType, RequestType, SupportPlan
from contracts.services import entitlement_check, plan_save
from supportdesk.models import AuditEvent
from tests.conftest import B_MARKER, Cast, api_client_for, client_for
from tests.portal.conftest import Desk, build_desk
from tickets.choices import Category, Channel, Status
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import (
    AcceptanceRequired,
    ticket_billing_decline,
    ticket_change_request_type,
    ticket_convert,
    ticket_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _types(cast: Cast, plan: SupportPlan) -> dict[str, RequestType]:
    """Syneton's table on ``plan``: bug reports included, training billed; a script type
    that the table leaves out."""
    with scope(tenant=cast.tenant_a):
        made = {
            "bug": RequestType.objects.create(
                tenant=cast.tenant_a, name="Bug report", category=Category.BUG, position=1
            ),
            "training": RequestType.objects.create(
                tenant=cast.tenant_a, name="Training", category=Category.OUT_OF_SCOPE, position=2
            ),
            "script": RequestType.objects.create(
                tenant=cast.tenant_a, name="Database script", category=Category.OUT_OF_SCOPE
            ),
        }
        PlanRequestType.objects.create(
            tenant=cast.tenant_a, plan=plan, request_type=made["bug"], included=True
        )
        PlanRequestType.objects.create(
            tenant=cast.tenant_a, plan=plan, request_type=made["training"], included=False
        )
    return made


def _file(cast: Cast, request_type: RequestType, **extra: Any) -> Ticket:
    return ticket_create(
        tenant=cast.tenant_a,
        requester=cast.customer_contact,
        subject="Help",
        description="Please.",
        channel=Channel.PORTAL,
        request_type=request_type,
        **extra,
    )


def test_an_included_type_is_filed_free_under_its_category(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["bug"])
    assert (ticket.billable, ticket.category, ticket.request_type_id) == (
        False,
        Category.BUG,
        types["bug"].pk,
    )
    assert "Bug report is included in the Gold plan." in ticket.entitlement_reasons


def test_an_excluded_type_is_billable_and_the_customer_must_accept_first(
    cast: Cast, desk: Desk
) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        with pytest.raises(AcceptanceRequired) as asked:
            _file(cast, types["training"])
        assert asked.value.entitlement.billable and asked.value.entitlement.requires_acceptance
        assert not Ticket.objects.exists()
        ticket = _file(cast, types["training"], accepted_billable=True)
    assert (ticket.billable, ticket.billing_accepted) == (True, True)
    assert "Training is not included in the Gold plan and is billed." in (
        ticket.entitlement_reasons
    )


def test_a_type_the_plans_table_does_not_list_is_refused_saying_which_it_offers(
    cast: Cast, desk: Desk
) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as refused:
            _file(cast, types["script"], accepted_billable=True)
        assert not Ticket.objects.exists()
    message = refused.value.message_dict["request_type"][0]
    assert message == (
        "Database script is not offered under the Gold plan; choose one of: Bug report, Training."
    )


def test_another_tenants_type_is_refused_and_nothing_is_saved(cast: Cast, desk: Desk) -> None:
    _types(cast, desk.plan)
    with scope(tenant=cast.tenant_b):
        theirs = RequestType.objects.create(tenant=cast.tenant_b, name=f"Type {B_MARKER}")
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as refused:
            _file(cast, theirs)
        assert not Ticket.objects.exists()
    assert refused.value.message_dict == {"request_type": ["Unknown request type."]}


def test_an_inactive_type_is_no_longer_offered(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        RequestType.objects.filter(pk=types["bug"].pk).update(is_active=False)
        types["bug"].refresh_from_db()
        assert [r.request_type.name for r in desk.plan.scope_table()] == ["Training"]
        with pytest.raises(ValidationError):
            _file(cast, types["bug"])


def test_a_plan_without_a_table_keeps_deciding_by_category(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        SupportPlan.objects.filter(pk=desk.plan.pk).update(included_categories=["bug"])
        training = RequestType.objects.create(
            tenant=cast.tenant_a, name="Training", category=Category.OUT_OF_SCOPE
        )
        bug = RequestType.objects.create(tenant=cast.tenant_a, name="Bug", category="bug")
        billed = entitlement_check(
            contact=cast.customer_contact, channel="portal", category="bug", request_type=training
        )
        free = entitlement_check(
            contact=cast.customer_contact,
            channel="portal",
            category="question",
            request_type=bug,
        )
    assert billed.billable and billed.requires_acceptance
    assert not free.billable


def test_the_reasons_read_in_swedish_and_dutch(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        result = entitlement_check(
            contact=cast.customer_contact,
            channel="portal",
            category="question",
            request_type=types["training"],
        )
    texts = {}
    for language in ("sv", "nl"):
        with translation.override(language):
            texts[language] = " ".join(str(r) for r in result.reasons)
    assert "Training ingår inte i planen Gold och debiteras." in texts["sv"]
    assert "Training is niet inbegrepen in het plan Gold en wordt gefactureerd." in texts["nl"]


# --- The admin editor -----------------------------------------------------------------


def test_an_admin_adds_a_request_type_and_marks_it_on_a_plan(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    added = client.post(
        reverse("contracts:request-type-list"),
        {"name": "Training", "description": "Courses", "category": "out_of_scope",
         "position": "3", "is_active": "on"},
    )  # fmt: skip
    assert added.status_code == 302
    with scope(tenant=cast.tenant_a):
        training = RequestType.objects.get(name="Training")
    edit_url = reverse("contracts:plan-edit", kwargs={"plan_id": desk.plan.pk})
    page = client.get(edit_url).content.decode()
    assert f'name="scope_{training.pk}"' in page and "Scope table" in page
    form = {
        "name": "Gold", "description": "Our best plan.", "position": "0", "currency": "SEK",
        "price_licence": "0", "price_non_licence": "0", "consulting_discount_percent": "0",
        "allowed_channels": ["email", "portal"], "included_categories": ["question"],
        "sla_policy": str(desk.policy.pk), "feature_knowledge_centre": "on",
        "feature_knowledge_centre_value": "full", f"scope_{training.pk}": "billable",
    }  # fmt: skip
    saved = client.post(edit_url, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    with scope(tenant=cast.tenant_a):
        row = PlanRequestType.objects.get(plan=desk.plan)
        audit = AuditEvent.objects.filter(object_id=str(desk.plan.pk)).latest("id")
    assert (row.request_type_id, row.included) == (training.pk, False)
    assert audit.changes["scope"] == [{}, {"Training": "billable"}]
    listing = client.get(reverse("contracts:plan-list")).content.decode()
    assert "Training: billable" in listing


def test_the_plan_editor_refuses_another_tenants_type(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_b):
        theirs = RequestType.objects.create(tenant=cast.tenant_b, name=f"Type {B_MARKER}")
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as refused:
            plan_save(plan=desk.plan, scope={theirs.pk: True}, actor=cast.admin)
        assert not PlanRequestType.objects.exists()
    assert "scope" in refused.value.message_dict


def test_the_request_type_list_costs_a_fixed_number_of_queries(
    cast: Cast, desk: Desk, django_assert_max_num_queries: Any
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    client.get(reverse("contracts:request-type-list"))
    _types(cast, desk.plan)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("contracts:request-type-list"))
    assert "Database script" in page.content.decode()


def test_the_request_type_list_reads_in_swedish(cast: Cast, desk: Desk) -> None:
    _types(cast, desk.plan)
    cast.admin.language = "sv"
    cast.admin.save()
    client = client_for(cast.admin, cast.tenant_a)
    page = client.get(reverse("contracts:request-type-list"))
    html = page.content.decode()
    assert "Ärendetyper" in html and "Lägg till en ärendetyp" in html


# --- The API --------------------------------------------------------------------------


def test_the_plan_api_shows_and_replaces_the_scope_table_with_names(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    client = api_client_for(cast.admin, cast.tenant_a)
    url = f"/api/v1/plans/{desk.plan.pk}/"
    scope_rows = client.get(url).json()["scope"]
    assert scope_rows == [
        {"request_type": types["bug"].pk, "request_type_name": "Bug report", "included": True},
        {"request_type": types["training"].pk, "request_type_name": "Training", "included": False},
    ]
    changed = client.patch(
        url,
        {"scope": [{"request_type": types["script"].pk, "included": False}]},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.json()
    assert [r["request_type_name"] for r in changed.json()["scope"]] == ["Database script"]


def test_the_plan_api_refuses_another_tenants_type_with_400(cast: Cast, desk: Desk) -> None:
    _types(cast, desk.plan)
    with scope(tenant=cast.tenant_b):
        theirs = RequestType.objects.create(tenant=cast.tenant_b, name=f"Type {B_MARKER}")
    client = api_client_for(cast.admin, cast.tenant_a)
    response = client.patch(
        f"/api/v1/plans/{desk.plan.pk}/",
        {"scope": [{"request_type": theirs.pk, "included": True}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    with scope(tenant=cast.tenant_a):
        assert PlanRequestType.objects.filter(plan=desk.plan).count() == 2


def test_an_admin_creates_a_request_type_by_api(cast: Cast, desk: Desk) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = client.post(
        "/api/v1/request-types/",
        {"name": "Training", "category": "out_of_scope"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["category_label"] == "Out-of-scope work"


def test_a_customer_files_by_api_by_type_and_sees_its_name(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    client = api_client_for(cast.customer, cast.tenant_a)

    def file(**extra: Any) -> Any:
        body = {"subject": "Course", "description": "For two.", **extra}
        return client.post("/api/v1/portal/tickets/", body, content_type="application/json")

    assert file(request_type=types["training"].pk).status_code == 400
    assert file(request_type=types["script"].pk, accepted_billable=True).status_code == 400
    assert file(request_type=2**70).status_code == 400
    filed = file(request_type=types["training"].pk, accepted_billable=True)
    assert filed.status_code == 201, filed.json()
    assert filed.json()["request_type"] == "Training"
    listed = client.get("/api/v1/portal/tickets/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["request_type"] for row in rows] == ["Training"]
    agent = api_client_for(cast.agent, cast.tenant_a)
    detail = agent.get(f"/api/v1/tickets/{filed.json()['id']}/").json()
    assert (detail["request_type"], detail["billable"], detail["category"]) == (
        "Training",
        True,
        "out_of_scope",
    )


def test_the_agent_page_and_timeline_name_the_type_in_words(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["training"], accepted_billable=True, actor=cast.customer)
    page = client_for(cast.agent, cast.tenant_a).get(f"/agent/tickets/{ticket.pk}/")
    html = page.content.decode()
    assert "Request type: Training" in html
    assert "Billable: yes" in html
    assert "True" not in html.split('id="timeline"')[1].split("</section>")[0]


# --- the agent says what the request is -----------------------------------------------------


def test_an_agent_changes_the_type_and_a_billed_type_asks_the_customer_who_may_decline(
    cast: Cast, desk: Desk
) -> None:
    """Bug report (included) -> Training (billed): the category follows the type, the
    customer is asked before billable work, and declining puts the bug report back."""
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["bug"])
        ticket = ticket_change_request_type(
            ticket=ticket, request_type=types["training"], actor=cast.agent
        )
        assert (ticket.request_type_id, ticket.category) == (
            types["training"].pk,
            Category.OUT_OF_SCOPE,
        )
        assert (ticket.billable, ticket.billing_accepted, ticket.status) == (
            True,
            False,
            Status.PENDING,
        )
        converted = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CONVERTED).get()
        assert (converted.old_value, converted.new_value) == ("Bug report", "Training")
        ticket = ticket_billing_decline(ticket=ticket, contact=cast.customer_contact)
        assert (ticket.request_type_id, ticket.category, ticket.billable) == (
            types["bug"].pk,
            Category.BUG,
            False,
        )
        back = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CONVERTED).latest("id")
        assert (back.old_value, back.new_value) == ("Training", "Bug report")


def test_converting_a_typed_ticket_to_another_category_clears_its_type(
    cast: Cast, desk: Desk
) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["bug"])
        ticket = ticket_convert(ticket=ticket, category=Category.QUESTION, actor=cast.agent)
        assert (ticket.request_type_id, ticket.category) == (None, Category.QUESTION)
        event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CONVERTED).get()
        assert event.old_value == "Bug report"
        assert event.data["from_type"] == types["bug"].pk and event.data["to_type"] is None
        # The same category again changes nothing and keeps what is there.
        typed = _file(cast, types["bug"])
        same = ticket_convert(ticket=typed, category=Category.BUG, actor=cast.agent)
        assert same.request_type_id == types["bug"].pk


def test_a_type_outside_the_table_another_tenants_or_an_inactive_one_is_refused(
    cast: Cast, desk: Desk
) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_b):
        foreign = RequestType.objects.create(tenant=cast.tenant_b, name="B type")
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["bug"])
        RequestType.objects.filter(pk=types["training"].pk).update(is_active=False)
        types["training"].refresh_from_db()
        for refused in (types["script"], foreign, types["training"]):
            with pytest.raises(ValidationError) as error:
                ticket_change_request_type(ticket=ticket, request_type=refused, actor=cast.agent)
            assert "request_type" in error.value.message_dict
            ticket.refresh_from_db()
            assert (ticket.request_type_id, ticket.category, ticket.billable) == (
                types["bug"].pk,
                Category.BUG,
                False,
            )
        assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CONVERTED).count() == 0


def test_the_ticket_page_and_the_api_change_the_type(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    with scope(tenant=cast.tenant_a):
        ticket = _file(cast, types["training"], accepted_billable=True)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket-request-type", args=[ticket.pk])
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert url in page and "Database script" in page
    assert client.post(url, {"request_type": types["bug"].pk}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.request_type_id, ticket.category) == (types["bug"].pk, Category.BUG)
    # Bad input: a message, nothing changed.
    bad = client.post(url, {"request_type": "999999"}, follow=True).content.decode()
    assert "Select a valid choice" in bad
    ticket.refresh_from_db()
    assert ticket.request_type_id == types["bug"].pk
    api = api_client_for(cast.agent, cast.tenant_a)
    detail = f"/api/v1/tickets/{ticket.pk}/"
    version = api.get(detail).json()["version"]
    cleared = api.patch(
        detail, {"version": version, "request_type": None}, content_type="application/json"
    )
    assert cleared.status_code == 200, cleared.content
    ticket.refresh_from_db()
    assert (ticket.request_type_id, ticket.category) == (None, Category.BUG)
    version = cleared.json()["version"]
    script = api.patch(
        detail,
        {"version": version, "request_type": types["script"].pk},
        content_type="application/json",
    )
    assert script.status_code == 400 and "request_type" in script.json()


def test_the_admins_entitlement_check_asks_by_request_type(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("contracts:entitlement-check")
    ask = {"contact": cast.customer_contact.pk, "channel": "portal", "category": "question"}
    page = client.get(url, {**ask, "request_type": types["training"].pk}).content.decode()
    assert "Training is not included in the Gold plan and is billed." in page
    assert f'<option value="{types["script"].pk}">Database script</option>' in page
    # A type the plan's table leaves out: the answer is on the field, not a 500.
    refused = client.get(url, {**ask, "request_type": types["script"].pk})
    assert refused.status_code == 200
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as why:
            entitlement_check(
                contact=cast.customer_contact,
                channel="portal",
                category="question",
                request_type=types["script"],
            )
    assert why.value.messages[0] in refused.content.decode().replace("&#x27;", "'")


def test_a_phone_call_is_logged_by_request_type(cast: Cast, desk: Desk) -> None:
    types = _types(cast, desk.plan)
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:call-log")
    call = {
        "contact": cast.customer_contact.email,
        "subject": "Wants a course",
        "category": Category.QUESTION,
        "request_type": types["training"].pk,
    }
    assert "Database script" in client.get(url).content.decode()
    asked = client.post(url, call).content.decode()
    assert "Ask the caller to accept the charge" in asked
    assert "Training is not included in the Gold plan and is billed." in asked
    left_out = client.post(url, {**call, "request_type": types["script"].pk})
    assert left_out.status_code == 200
    assert "Database script is not offered under the Gold plan; choose one of: Bug report" in (
        left_out.content.decode()
    )
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()
    logged = client.post(url, {**call, "accepted_billable": "on"})
    assert logged.status_code == 302
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
    assert (ticket.request_type_id, ticket.category, ticket.billable, ticket.channel) == (
        types["training"].pk,
        Category.OUT_OF_SCOPE,
        True,
        Channel.PHONE,
    )


def test_the_phone_log_offers_no_type_where_the_tenant_has_none(cast: Cast, desk: Desk) -> None:
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:call-log"))
    assert 'name="request_type"' not in page.content.decode()
