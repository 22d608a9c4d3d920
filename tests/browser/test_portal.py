"""The portal in a real browser: filing, following and answering a ticket."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel
from tickets.models import Message, Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.browser


def test_a_customer_files_a_ticket_and_sees_the_promised_time(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    page = open_session("a-customer").go("/portal/new/")
    expect(page.locator("#preview")).to_contain_text("You will get a first response by")
    page.get_by_label("Subject").fill("Invoice export stops at 99 rows")
    page.get_by_label("What kind of request is it?").select_option("incident")
    page.get_by_label("P2 – High").check()
    expect(page.locator("#preview")).to_contain_text("P2 High")  # refreshed by htmx
    page.get_by_label("Description").fill("The export stops after 99 rows.")
    page.get_by_role("button", name="File the ticket").click()

    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Ticket TA-\d+ is filed\. You will get a first response by .+\.")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice export stops")
    expect(page.locator(".facts")).to_contain_text("First response by")
    with scope(tenant=cast.tenant_a):
        ticket = Ticket.objects.get()
    assert ticket.priority_id == desk.p2.pk and ticket.category == "incident"


def test_a_named_contact_sees_the_organisations_tickets(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        for contact, subject in (
            (cast.customer_contact, "Carla's printer"),
            (cast.named_contact, "Nils's payroll run"),
        ):
            ticket_create(
                tenant=cast.tenant_a,
                requester=contact,
                subject=subject,
                description="x",
                channel=Channel.PORTAL,
            )
    named = open_session("a-named").go("/portal/")
    expect(named.get_by_role("heading", level=1)).to_have_text("Tickets of Org A")
    expect(named.get_by_role("table")).to_contain_text("Carla's printer")
    expect(named.get_by_role("table")).to_contain_text("Nils's payroll run")

    customer = open_session("a-customer").go("/portal/")
    expect(customer.get_by_role("table")).to_contain_text("Carla's printer")
    expect(customer.get_by_role("table")).not_to_contain_text("Nils's payroll run")


def test_a_refused_filing_shows_its_reason(cast: Cast, desk: Desk, open_session: Any) -> None:
    with scope(tenant=cast.tenant_a):
        desk.plan.named_contacts_only = True
        desk.plan.save()
    page = open_session("a-customer").go("/portal/new/")
    expect(page.locator("#preview")).to_contain_text("This request cannot be filed")
    page.get_by_label("Subject").fill("Please help")
    page.get_by_label("Description").fill("Something is wrong.")
    page.get_by_role("button", name="File the ticket").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Only named contacts may contact support under this contract"
    )
    with scope(tenant=cast.tenant_a):
        assert not Ticket.objects.exists()


def test_billable_work_is_filed_only_after_accepting_the_charge(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    page = open_session("a-customer").go("/portal/new/")
    page.get_by_label("What kind of request is it?").select_option("out_of_scope")
    expect(page.locator("#preview")).to_contain_text("This request is billed")
    page.get_by_label("Subject").fill("Custom report layout")
    page.get_by_label("Description").fill("Please build a new layout.")
    page.get_by_label("I accept that this request is billed.").check()
    page.get_by_role("button", name="File the ticket").click()
    expect(page.locator(".facts")).to_contain_text("Billed, accepted by you")


def test_an_agent_answers_from_the_queue_and_the_customer_reads_it(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Dashboard shows error 500",
            description="Since this morning.",
            channel=Channel.PORTAL,
        )
    agent = open_session("a-agent").go("/agent/queue/")
    agent.get_by_role("link", name=ticket.reference).click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Dashboard shows error 500")
    agent.get_by_label("Message").fill("We restarted the report service; please try again.")
    agent.get_by_role("button", name="Send").click()
    agent.wait_for_load_state()
    with scope(tenant=cast.tenant_a):
        assert Message.objects.filter(ticket=ticket, author=cast.agent, is_public=True).exists()

    customer = open_session("a-customer").go(f"/portal/tickets/{ticket.pk}/")
    expect(customer.locator(".timeline")).to_contain_text("We restarted the report service")
    customer.get_by_role("button", name="My issue is solved, close the ticket").click()
    expect(customer.locator(".facts")).to_contain_text("Solved")


def test_the_portal_works_on_a_phone_and_with_the_keyboard(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    page = open_session("a-customer", phone=True).go("/portal/new/")
    too_wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not too_wide, "the form scrolls sideways on a phone"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll(
            'main input:not([type=hidden]), main select, main textarea'
        )].filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.get_by_label("Subject").focus()
    page.keyboard.type("Typed with the keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("What kind of request is it?")).to_be_focused()
    for path in ("/portal/", "/portal/contract/"):
        page = open_session("a-named", phone=True).go(path)
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
