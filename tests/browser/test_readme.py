"""The README's "What to try", step by step as written, in Chromium on the seeded demo.

``seed_demo`` loads the five tenants into the test database; each step logs in with the
README's user name and password ``demo`` on ``<slug>.localhost``, switches the page to
English with the header's language selector (the README's words are English, the demo
tenants speak Swedish) and does what the README says, expecting what it promises.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django_scopes import scope
from playwright.sync_api import Browser, Page, expect

from contracts.models import Contract
from supportdesk.models import Tenant

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def port(live_server: Any) -> str:
    return str(live_server.url.rsplit(":", 1)[1])


@pytest.fixture
def login(browser: Browser, port: str, demo: None) -> Iterator[Any]:
    contexts = []

    def make(username: str) -> Page:
        context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        slug = username.split("-", 1)[0]
        page.goto(f"http://{slug}.localhost:{port}/accounts/login/")
        english(page)
        page.get_by_label("E-mail or username").fill(username)
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        english(page)
        return page

    yield make
    for context in contexts:
        context.close()


def english(page: Page) -> None:
    """Choose English in the header (it submits itself), unless the page already is."""
    select = page.locator("#lang-select")
    if select.input_value() != "en":
        with page.expect_navigation():
            select.select_option("en")


def file_a_ticket(page: Page) -> Page:
    page.get_by_role("link", name="File a ticket").first.click()
    page.get_by_label("Subject").fill("Lönekörningen stannar")
    page.locator("input[name=priority]").first.check()
    return page


def test_step_1_a_named_softone_contact_is_told_when_the_first_response_is_due(
    login: Any,
) -> None:
    page = file_a_ticket(login("softone-named"))
    expect(page.locator("#preview")).to_contain_text("You will get a first response by")
    page.get_by_label("Description").fill("Since this morning.")
    page.get_by_role("button", name="File the ticket").click()
    expect(page.get_by_role("status").first).to_contain_text(re.compile(r"Ticket SO-\d+ is filed"))

    refused = file_a_ticket(login("softone-customer"))
    expect(refused.locator("#preview")).to_contain_text("This request cannot be filed")
    expect(refused.locator("#preview")).to_contain_text("Only named contacts")


def test_step_2_stratsys_answers_only_named_administrators(login: Any) -> None:
    customer = file_a_ticket(login("stratsys-customer"))
    expect(customer.locator("#preview")).to_contain_text("This request cannot be filed")
    expect(customer.locator("#preview")).to_contain_text("Only named contacts")
    named = file_a_ticket(login("stratsys-named"))
    expect(named.locator("#preview")).not_to_contain_text("cannot be filed")


def test_step_3_the_softone_agent_works_a_ticket_from_the_queue(login: Any) -> None:
    page = login("softone-agent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Queue")
    page.locator("table tbody tr a[href^='/agent/tickets/']").first.click()
    expect(page.locator("#sla").locator("..")).to_contain_text("calendar")  # why it is due
    page.get_by_label("Message").fill("We are looking into it.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("We are looking into it.").first).to_be_visible()
    form = page.locator("form[action$='/priority/']")
    priority = form.locator("select")
    current = priority.input_value()
    other = [v for v in priority.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    priority.select_option(next(v for v in other if v != current))
    form.get_by_role("button", name="Change").click()
    expect(page.locator("section[aria-labelledby=timeline]")).to_contain_text("Priority changed")
    page.locator("form[action$='/time/'] input[name=minutes]").fill("20")
    page.get_by_role("button", name="Log", exact=True).click()
    expect(page.locator("section[aria-labelledby=timeline]")).to_contain_text("Time logged")


def test_step_4_a_suspended_synerity_contract_falls_back_to_billable_support(
    login: Any,
) -> None:
    admin = login("synerity-admin")
    admin.get_by_role("link", name="Administration").click()
    admin.get_by_role("link", name="Plans").first.click()
    plans = admin.locator("main")
    for text in ("Free", "Silver", "Guld", "2500", "15000", "Feature matrix"):
        expect(plans).to_contain_text(text)
    admin.get_by_role("link", name="Administration").click()
    admin.get_by_role("link", name="Contracts").first.click()
    admin.get_by_role("link", name=re.compile("Nordljus Retail AB")).first.click()
    admin.get_by_label("Reason").fill("Faktura 1001 är förfallen")
    admin.once("dialog", lambda dialog: dialog.accept())  # "Suspend … ?" (data-confirm)
    admin.get_by_role("button", name="Suspend").click()
    expect(admin.locator("main")).to_contain_text("fall back to the rules")
    with scope(tenant=Tenant.objects.get(slug="synerity")):
        assert Contract.objects.get(organisation__name="Nordljus Retail AB").status == "suspended"

    customer = file_a_ticket(login("synerity-customer"))
    expect(customer.locator("#preview")).to_contain_text("This request is billed")


def test_step_5_mail_to_softone_from_the_named_contact_and_from_someone_else(
    demo: None, tmp_path: Any
) -> None:
    def ingest(sender: str) -> str:
        message = tmp_path / "message.eml"
        message.write_text(
            f"From: {sender}\r\nTo: support@softone.example.se\r\n"
            "Subject: Lönekörningen stannar\r\nMessage-ID: <"
            f"{sender.split('@')[0]}@example.se>\r\n\r\nSedan i morse.\r\n"
        )
        out = io.StringIO()
        call_command("email_ingest", "softone", str(message), stdout=out)
        return out.getvalue()

    assert "New ticket SO-" in ingest("linnea.bjork@bergstromrevision.example.se")
    assert "Refused by the contract" in ingest("ida.blom@bergstromrevision.example.se")


def test_step_6_the_synerity_manager_reads_the_monthly_report(login: Any) -> None:
    page = login("synerity-manager")
    page.get_by_role("link", name="Reports").click()
    # Reports opens the SLA dashboard; the monthly report is one link further.
    expect(page.locator("main svg").first).to_be_visible()
    page.get_by_role("link", name="Monthly SLA report").click()
    expect(page.locator("main")).to_contain_text("Nordljus Retail AB")
    # Two downloads: the report's figures, and each ticket's outcome.
    expect(page.get_by_role("link", name="Download CSV", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Download the tickets as CSV")).to_be_visible()
    expect(page.get_by_role("link", name="Download the report as PDF")).to_be_visible()
    page.get_by_label("Organisation").select_option(label="Nordljus Retail AB")
    page.get_by_role("button", name="Show").click()
    main = page.locator("main")
    for text in ("Mailed to", "Targets promised", "Tickets of the month"):
        expect(main).to_contain_text(text)
