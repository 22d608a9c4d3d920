from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.core import mail
from django.utils.text import slugify
from django_scopes import scope
from pypdf import PdfReader

from contracts.models import Feature, NamedContact, PlanFeature
from reports.services import month_start, sla_report_build, sla_reports_send
from supportdesk.celery import app as celery_app
from supportdesk.models import User
from tests.conftest import Cast, client_for
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Category, Channel
from tickets.mail.models import OutboundEmail
from tickets.services import ticket_create, ticket_reply

OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _ticket(
    cast: Cast,
    desk: Desk,
    subject: str,
    category: str,
    received: dt.datetime,
    reply: dt.datetime | None,
):  # type: ignore[no-untyped-def]
    with time_machine.travel(received, tick=False), scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject=subject,
            description="x",
            channel=Channel.PORTAL,
            category=category,
            priority=desk.p3,
        )
    if reply is not None:
        with time_machine.travel(reply, tick=False), scope(tenant=cast.tenant_a):
            ticket_reply(
                ticket=ticket, body="Answer", public=True, channel=Channel.PORTAL, author=cast.agent
            )
    return ticket


@pytest.fixture
def october(cast: Cast, desk: Desk) -> None:
    """Tuesday 6 Oct 2026, office 08-17, first response within 4 business hours."""
    _ticket(cast, desk, "Met question", Category.QUESTION, at(2026, 10, 6, 9), at(2026, 10, 6, 10))
    _ticket(cast, desk, "Late incident", Category.INCIDENT, at(2026, 10, 6, 9), at(2026, 10, 7, 9))
    _ticket(cast, desk, "Unanswered incident", Category.INCIDENT, at(2026, 10, 20, 9), None)
    _ticket(
        cast,
        desk,
        "November question",
        Category.QUESTION,
        at(2026, 11, 2, 9),
        at(2026, 11, 2, 9, 30),
    )


def test_the_report_counts_a_months_tickets_and_whether_targets_were_met(
    cast: Cast, october: None
) -> None:
    with time_machine.travel(at(2026, 11, 20, 12), tick=False), scope(tenant=cast.tenant_a):
        report = sla_report_build(tenant=cast.tenant_a, month=OCTOBER)
    total = report.total
    assert (total.received, total.questions, total.incidents, total.other) == (3, 1, 2, 0)
    # Met; replied a day late; never answered and long past due.
    assert (total.outcomes["first_response"].met, total.outcomes["first_response"].missed) == (1, 2)
    assert round(total.outcomes["first_response"].rate or 0) == 33
    assert [row.label for row in report.rows] == ["Org A"]


def test_a_month_is_counted_in_the_tenants_time_zone(cast: Cast, desk: Desk) -> None:
    # 00:30 on 1 November in Stockholm is still 31 October in UTC: it belongs to November.
    _ticket(cast, desk, "Edge", Category.QUESTION, at(2026, 11, 1, 0, 30), None)
    with scope(tenant=cast.tenant_a):
        october = sla_report_build(tenant=cast.tenant_a, month=OCTOBER)
        november = sla_report_build(tenant=cast.tenant_a, month=dt.date(2026, 11, 1))
    assert (october.total.received, november.total.received) == (0, 1)


def test_the_report_costs_the_same_queries_whatever_the_ticket_count(
    cast: Cast,
    desk: Desk,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with scope(tenant=cast.tenant_a), CaptureQueriesContext(connection) as ctx:
            sla_report_build(tenant=cast.tenant_a, month=OCTOBER)
        return len(ctx.captured_queries)

    _ticket(cast, desk, "One", Category.QUESTION, at(2026, 10, 6, 9), None)
    few = count_queries()
    for day in range(7, 17):
        _ticket(cast, desk, f"More {day}", Category.INCIDENT, at(2026, 10, day, 9), None)
    assert count_queries() == few <= 4


def test_a_manager_reads_the_report_and_downloads_it(cast: Cast, october: None) -> None:
    client = client_for(cast.manager, cast.tenant_a)
    page = client.get("/reports/monthly/", {"month": "2026-10"})
    assert page.status_code == 200
    assert "Org A" in page.content.decode()
    csv_text = client.get("/reports/export.csv", {"month": "2026-10"}).content.decode()
    assert csv_text.splitlines()[1].startswith("Org A,3,1,2,0,")


def test_the_csv_speaks_the_readers_language_and_labels_its_total(
    cast: Cast, october: None
) -> None:
    User.objects.filter(pk=cast.manager.pk).update(language="sv")
    client = client_for(cast.manager, cast.tenant_a)
    with time_machine.travel(at(2026, 11, 20, 12), tick=False):
        content = client.get("/reports/export.csv", {"month": "2026-10"}).content.decode()
    header, org_a, total = csv.reader(io.StringIO(content))
    assert header[:3] == ["Organisation", "Mottaget", "Frågor"]
    assert "Första svar: uppfyllda" in header and "Första svar: missade" in header
    assert org_a[:2] == ["Org A", "3"]
    # The totals row says what it is, not the tenant's name.
    assert total[:2] == ["Totalt", "3"]
    assert "Tenant A" not in content


def test_agents_and_customers_cannot_read_reports(cast: Cast) -> None:
    for user in (cast.agent, cast.customer):
        assert client_for(user, cast.tenant_a).get("/reports/").status_code == 404


def test_a_bad_month_gets_a_clear_message(cast: Cast) -> None:
    response = client_for(cast.manager, cast.tenant_a).get(
        "/reports/monthly/", {"month": "October"}
    )
    assert response.status_code == 400
    assert "2026-10" in response.content.decode()


def test_another_tenants_organisation_is_not_found(cast: Cast) -> None:
    client = client_for(cast.manager, cast.tenant_a)
    assert client.get("/reports/monthly/", {"organisation": cast.org_b.pk}).status_code == 404
    assert client.get("/reports/monthly/", {"organisation": "x"}).status_code == 404


def test_the_previous_month_is_the_default() -> None:
    assert month_start(None, tenant=None, today=dt.date(2026, 1, 15)) == dt.date(2025, 12, 1)  # type: ignore[arg-type]


def entitle(cast: Cast, desk: Desk) -> None:
    """Org A's plan gets monthly reports, and Nils is named on its contract."""
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        feature = Feature.objects.create(tenant=tenant, key="monthly_reports", name="Reports")
        PlanFeature.objects.create(tenant=tenant, plan=desk.plan, feature=feature)
        NamedContact.objects.create(
            tenant=tenant, contract=desk.contract, contact=cast.named_contact
        )


def test_organisations_with_the_feature_get_their_report_once(
    cast: Cast,
    desk: Desk,
    october: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    tenant = cast.tenant_a
    entitle(cast, desk)
    with scope(tenant=tenant):
        with (
            time_machine.travel(at(2026, 11, 1, 6), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            first = sla_reports_send(tenant=tenant, month=OCTOBER)
            again = sla_reports_send(tenant=tenant, month=OCTOBER)
        rows = list(OutboundEmail.objects.filter(kind="sla_report").order_by("to_address"))
    # The named contact gets Org A's report; the manager gets the tenant's.
    assert (first, again) == (2, 0)
    assert [r.to_address for r in rows] == [cast.manager.email, cast.named_contact.email]
    assert "3" in rows[1].body and "33 %" in rows[1].body
    assert len([m for m in mail.outbox if "SLA report" in m.subject]) == 2


def test_each_report_mail_carries_its_pdf_in_the_readers_language(
    cast: Cast,
    desk: Desk,
    october: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    tenant = cast.tenant_a
    entitle(cast, desk)
    with scope(tenant=tenant):
        cast.named_contact.language = "sv"
        cast.named_contact.save(update_fields=["language"])
        with (
            time_machine.travel(at(2026, 11, 1, 6), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            sla_reports_send(tenant=tenant, month=OCTOBER)
    sent = {m.to[0]: m for m in mail.outbox if m.subject.startswith(("SLA report", "SLA-"))}
    texts = {}
    for address, message in sent.items():
        files = [a for a in message.attachments if isinstance(a, tuple)]
        images = [a for a in message.attachments if not isinstance(a, tuple)]
        ((name, content, mimetype),) = files
        assert mimetype == "application/pdf" and content.startswith(b"%PDF-")
        # The HTML part shows each chart as an inline PNG it names by Content-ID.
        ((html, html_type),) = message.alternatives
        ids = re.findall(r'src="cid:([^"]+)"', html)
        assert html_type == "text/html" and len(ids) == len(images) >= 4
        assert [i["Content-ID"] for i in images] == [f"<{i}>" for i in ids]
        assert all(i.get_content_type() == "image/png" for i in images)
        assert all(i.get_payload(decode=True).startswith(b"\x89PNG") for i in images)
        pages = PdfReader(io.BytesIO(content)).pages
        text = " ".join(page.extract_text() for page in pages)
        texts[address] = (name, re.sub(r"\s+", " ", text))
    # Every word of the Swedish reader's mail is Swedish, the plan's promises too.
    swedish = sent[cast.named_contact.email].body
    assert "Första svar" in swedish and "First response" not in swedish
    org_name, org_text = texts[cast.named_contact.email]
    assert org_name == f"sla-report-2026-10-{slugify(cast.org_a.name)}.pdf"
    assert "Månatlig SLA-rapport 2026-10" in org_text and "Late incident" in org_text
    tenant_name, tenant_text = texts[cast.manager.email]
    assert tenant_name == "sla-report-2026-10.pdf" and "Monthly SLA report 2026-10" in tenant_text
    assert "Late incident" not in tenant_text  # the tenant-wide report has no ticket list


def test_organisations_without_the_feature_get_no_report(
    cast: Cast, desk: Desk, october: None
) -> None:
    with scope(tenant=cast.tenant_a):
        sla_reports_send(tenant=cast.tenant_a, month=OCTOBER)
        recipients = set(
            OutboundEmail.objects.filter(kind="sla_report").values_list("to_address", flat=True)
        )
    assert recipients == {cast.manager.email}
