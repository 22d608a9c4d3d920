"""Monthly reports reach the organisation (issue #15 item 12): who receives them and why,
nobody skipped silently, and the report's list of the month's tickets with their outcomes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from contracts.models import Contact, Feature, NamedContact, PlanFeature
from contracts.services import contact_save
from reports.services import (
    ClockOutcome,
    RecipientSource,
    report_recipients,
    sla_report_build,
    sla_reports_send,
)
from supportdesk.celery import app as celery_app
from supportdesk.models import User
from tests.conftest import Cast, api_client_for, client_for
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Category
from tickets.mail.models import OutboundEmail
from tickets.services import time_entry_log

from .test_monthly_report import OCTOBER, _ticket

pytestmark = pytest.mark.django_db

DAY = OCTOBER.replace(day=31)


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


@pytest.fixture
def entitled(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        feature = Feature.objects.create(tenant=cast.tenant_a, key="monthly_reports", name="R")
        PlanFeature.objects.create(tenant=cast.tenant_a, plan=desk.plan, feature=feature)


def _recipients(cast: Cast):  # type: ignore[no-untyped-def]
    with scope(tenant=cast.tenant_a):
        cast.org_a.refresh_from_db()
        return report_recipients(organisation=cast.org_a, day=DAY)


def test_the_defaults_go_from_named_contacts_to_portal_users_to_the_account_manager(
    cast: Cast, desk: Desk
) -> None:
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    got = _recipients(cast)
    assert got.source == RecipientSource.NAMED
    assert [p.email for p in got.people] == [cast.named_contact.email]

    with scope(tenant=cast.tenant_a):
        NamedContact.objects.all().delete()
    got = _recipients(cast)
    assert got.source == RecipientSource.PORTAL
    assert {p.email for p in got.people} == {cast.customer_contact.email, cast.named_contact.email}

    with scope(tenant=cast.tenant_a):
        Contact.objects.filter(organisation=cast.org_a).update(user=None)
        cast.org_a.account_manager = cast.agent
        cast.org_a.save()
    got = _recipients(cast)
    assert got.source == RecipientSource.ACCOUNT_MANAGER
    assert [p.key for p in got.people] == [f"user{cast.agent.pk}"]

    User.objects.filter(pk=cast.agent.pk).update(email="")
    got = _recipients(cast)
    assert (got.source, got.people) == (RecipientSource.NOBODY, [])


def test_contacts_chosen_by_the_admin_come_before_the_defaults(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
        Contact.objects.filter(pk=cast.customer_contact.pk).update(receives_monthly_report=True)
    got = _recipients(cast)
    assert got.source == RecipientSource.CHOSEN
    assert [p.email for p in got.people] == [cast.customer_contact.email]


def test_a_contact_without_an_organisation_cannot_receive_a_report(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        contact = Contact(tenant=cast.tenant_a, name="Loose", email="loose@x.test")
        contact.receives_monthly_report = True
        with pytest.raises(ValidationError) as error:
            contact_save(contact=contact)
        assert "receives_monthly_report" in error.value.message_dict
        assert not Contact.objects.filter(email="loose@x.test").exists()


def test_the_api_shows_the_choice_and_refuses_it_without_an_organisation(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    bad = client.post(
        "/api/v1/contacts/",
        json.dumps({"name": "Loose", "email": "loose@x.test", "receives_monthly_report": True}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "receives_monthly_report" in bad.json()
    # Another tenant's organisation is refused as before, flag or not.
    sneak = client.post(
        "/api/v1/contacts/",
        json.dumps(
            {
                "name": "Sneak",
                "email": "sneak@x.test",
                "organisation": cast.org_b.pk,
                "receives_monthly_report": True,
            }
        ),
        content_type="application/json",
    )
    assert sneak.status_code == 400 and "organisation" in sneak.json()
    with scope(tenant=cast.tenant_a):
        assert not Contact.objects.filter(email__in=["loose@x.test", "sneak@x.test"]).exists()
    good = client.patch(
        f"/api/v1/contacts/{cast.customer_contact.pk}/",
        json.dumps({"receives_monthly_report": True}),
        content_type="application/json",
    )
    assert good.status_code == 200 and good.json()["receives_monthly_report"] is True


def test_the_admin_chooses_a_recipient_on_the_contact_page(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    page = client.get(f"/manage/contacts/{cast.customer_contact.pk}/edit/")
    assert 'name="receives_monthly_report"' in page.content.decode()


def test_nobody_to_receive_it_is_told_to_the_managers_not_skipped(
    cast: Cast, desk: Desk, entitled: None
) -> None:
    with scope(tenant=cast.tenant_a):
        Contact.objects.filter(organisation=cast.org_a).update(user=None)
    _ticket(cast, desk, "Q", Category.QUESTION, at(2026, 10, 6, 9), None)
    with time_machine.travel(at(2026, 11, 1, 6), tick=False), scope(tenant=cast.tenant_a):
        queued = sla_reports_send(tenant=cast.tenant_a, month=OCTOBER)
        rows = list(OutboundEmail.objects.filter(kind="sla_report"))
    assert queued == 1
    assert [r.to_address for r in rows] == [cast.manager.email]
    assert "could not be delivered" in rows[0].body
    assert "Org A: nobody" in rows[0].body
    page = client_for(cast.manager, cast.tenant_a).get(
        "/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk}
    )
    assert "nobody can receive it" in page.content.decode()


def test_the_account_manager_gets_it_when_there_are_no_contacts_once(
    cast: Cast, desk: Desk, entitled: None
) -> None:
    with scope(tenant=cast.tenant_a):
        Contact.objects.filter(organisation=cast.org_a).update(user=None)
        cast.org_a.account_manager = cast.agent
        cast.org_a.save()
    with time_machine.travel(at(2026, 11, 1, 6), tick=False), scope(tenant=cast.tenant_a):
        sla_reports_send(tenant=cast.tenant_a, month=OCTOBER)
        sla_reports_send(tenant=cast.tenant_a, month=OCTOBER)
        rows = list(OutboundEmail.objects.filter(kind="sla_report", to_address=cast.agent.email))
    assert len(rows) == 1
    assert "could not be delivered" not in rows[0].body
    page = client_for(cast.manager, cast.tenant_a).get(
        "/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk}
    )
    assert "no contacts: the account manager" in page.content.decode()


def test_the_report_lists_each_ticket_with_its_outcomes_due_and_actual_times(
    cast: Cast, desk: Desk, entitled: None
) -> None:
    met = _ticket(
        cast, desk, "Met question", Category.QUESTION, at(2026, 10, 6, 9), at(2026, 10, 6, 10)
    )
    _ticket(cast, desk, "Late incident", Category.INCIDENT, at(2026, 10, 6, 9), at(2026, 10, 7, 9))
    with scope(tenant=cast.tenant_a):
        time_entry_log(ticket=met, agent=cast.agent, minutes=90, billable=True, work_date=OCTOBER)
        time_entry_log(ticket=met, agent=cast.agent, minutes=30, billable=False, work_date=OCTOBER)
    with time_machine.travel(at(2026, 11, 20, 12), tick=False), scope(tenant=cast.tenant_a):
        report = sla_report_build(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
    first, late = report.tickets
    assert (first.subject, late.subject) == ("Met question", "Late incident")
    first_response = dict(first.targets)["First response"]
    assert first_response.outcome == ClockOutcome.MET
    assert first_response.done_at == at(2026, 10, 6, 10)
    assert first_response.due_at == at(2026, 10, 6, 13)
    assert dict(late.targets)["First response"].outcome == ClockOutcome.MISSED
    assert (first.billable_minutes, late.billable_minutes, report.billable_minutes) == (90, 0, 90)
    assert report.plan == desk.plan.name
    # The targets promised per priority: the policy's all-priorities ones, and P1's own.
    promised = [(p.metric, p.priority) for p in report.promises]
    assert ("First response", "") in promised and ("First response", desk.p1.name) in promised
    assert promised.index(("First response", "")) < promised.index(("Resolution", ""))

    page = client_for(cast.manager, cast.tenant_a).get(
        "/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk}
    )
    html = page.content.decode()
    assert "Late incident" in html and "missed" in html and "1:30" in html
    with time_machine.travel(at(2026, 11, 1, 6), tick=False), scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
        sla_reports_send(tenant=cast.tenant_a, month=OCTOBER)
        body = OutboundEmail.objects.get(to_address=cast.named_contact.email).body
    assert "Late incident" in body and "First response: missed" in body
    assert "Targets promised" in body and "4 business hours" in body
    # The tenant's time zone: 10:00 in Stockholm, not 08:00 UTC.
    assert "10:00" in body


def test_an_organisations_report_costs_the_same_queries_whatever_the_ticket_count(
    cast: Cast, desk: Desk
) -> None:
    def count() -> int:
        with scope(tenant=cast.tenant_a), CaptureQueriesContext(connection) as ctx:
            sla_report_build(tenant=cast.tenant_a, month=OCTOBER, organisation=cast.org_a)
        return len(ctx.captured_queries)

    _ticket(cast, desk, "One", Category.QUESTION, at(2026, 10, 6, 9), None)
    few = count()
    for day in range(7, 15):
        _ticket(cast, desk, f"More {day}", Category.INCIDENT, at(2026, 10, day, 9), None)
    assert count() == few <= 9


def test_an_organisation_without_the_feature_says_it_is_not_mailed(cast: Cast, desk: Desk) -> None:
    page = client_for(cast.manager, cast.tenant_a).get(
        "/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk}
    )
    assert "does not include monthly reports" in page.content.decode()


def test_the_tickets_csv_has_a_row_per_ticket_in_the_readers_language(
    cast: Cast, desk: Desk
) -> None:
    _ticket(cast, desk, "Met question", Category.QUESTION, at(2026, 10, 6, 9), at(2026, 10, 6, 10))
    User.objects.filter(pk=cast.manager.pk).update(language="sv")
    client = client_for(cast.manager, cast.tenant_a)
    with time_machine.travel(at(2026, 11, 20, 12), tick=False):
        tenant_wide = client.get("/reports/monthly/tickets.csv", {"month": "2026-10"})
        one = client.get(
            "/reports/monthly/tickets.csv", {"month": "2026-10", "organisation": cast.org_a.pk}
        )
    header, row = csv.reader(io.StringIO(one.content.decode()))
    assert "Första svar: utfall" in header
    assert row[1:3] == ["Met question", "Org A"]
    assert row[header.index("Första svar: utfall")] == "uppfyllt"
    assert row[header.index("Första svar: utfört")] == "2026-10-06 10:00"
    assert tenant_wide.content == one.content
    bad = client.get("/reports/monthly/tickets.csv", {"month": "oct"})
    assert bad.status_code == 400
    assert (
        client.get("/reports/monthly/tickets.csv", {"organisation": cast.org_b.pk}).status_code
        == 404
    )


def test_the_schema_documents_the_recipient_choice(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    schema = json.loads(client.get("/api/v1/schema/", {"format": "json"}).content)
    contact = schema["components"]["schemas"]["Contact"]["properties"]
    assert contact["receives_monthly_report"]["type"] == "boolean"
