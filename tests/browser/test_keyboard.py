"""The agent's keyboard in Chromium: j/k/Enter in the queue, r/n/? on a ticket, and the
confirmation before a destructive action (``static/js/keyboard.js``), with no console error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import Dialog, Page, expect

from supportdesk.models import ApiToken
from tests.browser.test_console import _watch
from tests.conftest import Cast
from tests.portal.conftest import Desk
from tickets.choices import Channel, Status
from tickets.models import Ticket
from tickets.services import ticket_create

pytestmark = pytest.mark.browser


def _tickets(cast: Cast, n: int) -> list[Ticket]:
    with scope(tenant=cast.tenant_a):
        return [
            ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject=f"Keyboard {i}",
                description="",
                channel=Channel.PORTAL,
            )
            for i in range(n)
        ]


def _selected(page: Page) -> Any:
    return page.locator("table[data-shortcut-rows] tbody tr.is-selected")


def test_j_and_k_move_the_selection_in_the_queue_and_enter_opens_the_ticket(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    _tickets(cast, 3)
    session = open_session("a-agent")
    errors: list[str] = []
    _watch(session.page, errors)
    page = session.go("/agent/queue/")
    rows = page.locator("table[data-shortcut-rows] tbody tr")
    expect(rows).to_have_count(3)
    links = [rows.nth(i).locator("a[href]").first.get_attribute("href") for i in range(3)]

    page.locator("#f-q").click()
    page.keyboard.type("j")  # typed into the search field, not a shortcut
    expect(page.locator("#f-q")).to_have_value("j")
    expect(_selected(page)).to_have_count(0)
    page.keyboard.press("Escape")  # leaves the field

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the last row stays selected
    expect(rows.nth(2)).to_have_class(re.compile(r"\bis-selected\b"))
    expect(_selected(page)).to_have_count(1)
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("Control+j")  # with a modifier: the browser's, not ours
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("k")
    expect(_selected(page)).to_have_attribute("aria-current", "true")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(str(links[0]))

    page.go_back()
    page.keyboard.press("j")
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("o")
    assert page.url.endswith(str(links[1]))
    assert not errors, "\n".join(errors)


def test_r_n_and_question_mark_on_a_ticket_in_swedish(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    (ticket,) = _tickets(cast, 1)
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    session = open_session("a-agent")
    errors: list[str] = []
    _watch(session.page, errors)
    page = session.go(f"/agent/tickets/{ticket.pk}/")
    body = page.locator("form[data-shortcut-reply] textarea[name=body]")
    visibility = page.locator("form[data-shortcut-reply] select[name=public]")

    page.keyboard.press("n")
    expect(body).to_be_focused()
    expect(visibility).to_have_value("0")  # an internal note
    page.keyboard.type("only for us, r and n are letters here")
    expect(body).to_have_value("only for us, r and n are letters here")
    expect(visibility).to_have_value("0")
    page.keyboard.press("Escape")
    expect(body).not_to_be_focused()
    page.keyboard.press("r")
    expect(body).to_be_focused()
    expect(visibility).to_have_value("1")  # a reply to the customer
    page.keyboard.press("Escape")

    dialog = page.locator("dialog#shortcuts")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Kortkommandon")
    expect(dialog).to_contain_text("Skriv en intern anteckning")
    page.keyboard.press("r")  # the dialog is open: no shortcut behind it
    expect(body).not_to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Kortkommandon (?)").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Stäng").click()
    expect(dialog).to_be_hidden()
    assert not errors, "\n".join(errors)


def test_dismissing_the_close_confirmation_leaves_the_ticket_open(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    (ticket,) = _tickets(cast, 1)
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    session = open_session("a-agent")
    page = session.go(f"/agent/tickets/{ticket.pk}/")
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("#id_status").select_option(Status.CLOSED)
    page.get_by_role("button", name="Ändra").first.click()
    page.wait_for_timeout(300)  # a form that went anyway would have navigated by now
    assert asked == [f"Stänga {ticket.reference} för gott? Ett stängt ärende kan inte öppnas igen."]
    ticket.refresh_from_db()
    assert ticket.status != Status.CLOSED
    expect(page.locator("input[name=confirm_close]")).not_to_be_checked()

    # A yes ticks the page's own confirmation box, so the server closes the ticket.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Ändra").first.click()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_the_contract_and_token_forms_ask_first(cast: Cast, desk: Desk, open_session: Any) -> None:
    """Suspend, expire, remove a named contact and revoke a token carry a question; a no sends
    nothing, a yes sends the form with its button (the token's id is the button's value)."""
    contract = desk.contract
    session = open_session("a-admin")
    page = session.go(f"/manage/contracts/{contract.pk}/")
    name = contract.organisation.name
    for action in ("suspend", "expire"):
        form = page.locator(f"form[action$='/{contract.pk}/{action}/']")
        expect(form).to_have_attribute("data-confirm", re.compile(re.escape(name)))
    remove = page.locator("form[action$='/remove/']")
    expect(remove).to_have_attribute("data-confirm", re.compile(re.escape(cast.named_contact.name)))
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator(f"form[action$='/{contract.pk}/expire/'] button").click()
    page.wait_for_timeout(300)
    assert asked == [
        f"Mark the contract of {name} as expired? An expired contract cannot be resumed."
    ]
    contract.refresh_from_db()
    assert contract.status == "active"

    with scope(tenant=cast.tenant_a):
        token, _key = ApiToken.issue(tenant=cast.tenant_a, user=cast.admin, name="nightly export")
    page = session.go("/account/tokens/")
    page.once("dialog", dismiss)
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert asked[-1] == f"Revoke the token {token}? Scripts that use it stop working at once."
    assert ApiToken.objects.filter(pk=token.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke").click()
    assert not ApiToken.objects.filter(pk=token.pk).exists()
