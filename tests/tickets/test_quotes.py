"""Stratsys' "< 2 h without a quote" (issue #15 item 7): billable time on an out-of-scope
ticket stops at the plan's quote-free hours until the customer accepts a quote; the account
manager hears once when billable work starts and once when the hours are reached."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_scopes import scope

from contracts.models import Organisation, SupportPlan
from notifications.models import Notice
from supportdesk.demo import demo_file
from supportdesk.models import Tenant
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Category, Channel, Status
from tickets.models import EventKind, Quote, QuoteStatus, Ticket, TicketEvent, TimeEntry
from tickets.quotes.services import quote_accept, quote_decline, quote_propose
from tickets.services import ticket_create, time_entry_log

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def _stratsys(cast: Cast, desk: Desk, *, hours: str | None = "2") -> Ticket:
    """Tenant A's plan as Stratsys': out-of-scope work billed, 2 h without a quote, the
    account manager notified; one out-of-scope ticket of the customer."""
    with scope(tenant=cast.tenant_a):
        SupportPlan.objects.filter(pk=desk.plan.pk).update(
            quote_free_hours=Decimal(hours) if hours else None,
            notify_account_manager_out_of_scope=True,
        )
        Organisation.objects.filter(pk=cast.org_a.pk).update(account_manager=cast.manager)
        return ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="New report",
            description="x", channel=Channel.PORTAL, category=Category.OUT_OF_SCOPE,
            accepted_billable=True,
        )  # fmt: skip


def _log(cast: Cast, ticket: Ticket, minutes: int, *, billable: bool = True) -> TimeEntry:
    with scope(tenant=cast.tenant_a):
        return time_entry_log(ticket=ticket, agent=cast.agent, minutes=minutes, billable=billable)


def _notices(cast: Cast) -> list[str]:
    with scope(tenant=cast.tenant_a):
        return sorted(
            n.key.split(":")[0]
            for n in Notice.objects.filter(recipient=cast.manager, key__startswith="quote_")
        )


def test_it_refuses_150_billable_minutes_without_a_quote(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    with pytest.raises(ValidationError) as refused:
        _log(cast, ticket, 150)
    assert "quote" in " ".join(refused.value.messages)
    with scope(tenant=cast.tenant_a):
        assert not TimeEntry.objects.filter(ticket=ticket).exists()


def test_it_allows_the_quote_free_hours_and_refuses_the_next_minute(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    _log(cast, ticket, 90)
    _log(cast, ticket, 30)
    with pytest.raises(ValidationError):
        _log(cast, ticket, 1)


def test_non_billable_time_is_never_capped(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    _log(cast, ticket, 120)
    _log(cast, ticket, 300, billable=False)


def test_in_scope_tickets_and_plans_without_hours_are_not_capped(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk, hours=None)
    _log(cast, ticket, 600)
    with scope(tenant=cast.tenant_a):
        question = ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="Q",
            description="x", channel=Channel.PORTAL, category=Category.QUESTION,
        )  # fmt: skip
    _log(cast, question, 600)


def test_an_accepted_quote_adds_its_hours_to_the_allowance(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    _log(cast, ticket, 120)
    with scope(tenant=cast.tenant_a):
        quote = quote_propose(ticket=ticket, agent=cast.agent, hours="3", text="The report")
        ticket.refresh_from_db()
        assert ticket.status == Status.PENDING
        quote_accept(ticket=ticket, contact=cast.customer_contact)
        ticket.refresh_from_db()
        quote.refresh_from_db()
    assert (quote.status, quote.decided_by, ticket.status) == (
        QuoteStatus.ACCEPTED, cast.customer_contact, Status.OPEN,
    )  # fmt: skip
    _log(cast, ticket, 180)
    with pytest.raises(ValidationError):
        _log(cast, ticket, 1)


def test_a_fixed_price_quote_lifts_the_cap(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, price="4500", text="Fixed price")
        quote_accept(ticket=ticket, contact=cast.customer_contact)
    _log(cast, ticket, 24 * 60)


def test_a_declined_quote_keeps_the_cap_and_the_timeline_says_so(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, hours="1.5", price="2000", text="Work")
        quote_decline(ticket=ticket, contact=cast.customer_contact)
        events = list(
            TicketEvent.objects.filter(ticket=ticket, kind__startswith="quote_").values_list(
                "kind", "new_value"
            )
        )
    assert events == [
        (EventKind.QUOTE_PROPOSED, "1.5 h, 2000.00"),
        (EventKind.QUOTE_DECLINED, f"1.5 h, 2000.00 ({cast.customer_contact.name})"),
    ]
    with pytest.raises(ValidationError):
        _log(cast, ticket, 121)


@pytest.mark.parametrize(
    ("hours", "price", "text", "field"),
    [
        ("", "", "x", "hours"),
        ("abc", "", "x", "hours"),
        ("0", "", "x", "hours"),
        ("-1", "", "x", "hours"),
        ("NaN", "", "x", "hours"),
        ("1", "-5", "x", "price"),
        ("1", "", "   ", "text"),
        ("1", "", "x" * 2001, "text"),
    ],
)
def test_a_bad_quote_is_refused_and_saves_nothing(
    cast: Cast, desk: Desk, hours: str, price: str, text: str, field: str
) -> None:
    ticket = _stratsys(cast, desk)
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError) as refused:
            quote_propose(ticket=ticket, agent=cast.agent, hours=hours, price=price, text=text)
        assert field in refused.value.message_dict
        assert not Quote.objects.exists()


def test_a_second_quote_waits_for_the_first_and_a_decision_needs_one(
    cast: Cast, desk: Desk
) -> None:
    ticket = _stratsys(cast, desk)
    with scope(tenant=cast.tenant_a):
        with pytest.raises(ValidationError):
            quote_accept(ticket=ticket, contact=cast.customer_contact)
        quote_propose(ticket=ticket, agent=cast.agent, hours="1", text="One")
        with pytest.raises(ValidationError):
            quote_propose(ticket=ticket, agent=cast.agent, hours="2", text="Two")
        assert Quote.objects.count() == 1


def test_the_account_manager_hears_once_at_the_start_and_once_at_the_threshold(
    cast: Cast, desk: Desk
) -> None:
    ticket = _stratsys(cast, desk)
    _log(cast, ticket, 30, billable=False)
    assert _notices(cast) == []
    _log(cast, ticket, 30)
    assert _notices(cast) == ["quote_work_started"]
    _log(cast, ticket, 30)
    assert _notices(cast) == ["quote_work_started"]
    _log(cast, ticket, 60)
    assert _notices(cast) == ["quote_threshold", "quote_work_started"]
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, hours="2", text="More")
        quote_accept(ticket=ticket, contact=cast.customer_contact)
    _log(cast, ticket, 60)
    assert _notices(cast) == ["quote_threshold", "quote_work_started"]


def test_the_customer_accepts_a_quote_in_the_portal(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _stratsys(cast, desk)
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, hours="2", text="The new report")
    portal = client_for(cast.customer_contact.user, cast.tenant_a)
    page = portal.get(f"/portal/tickets/{ticket.pk}/")
    assert "The new report" in page.content.decode()
    bad = portal.post(f"/portal/tickets/{ticket.pk}/quote/", {"decision": "maybe"}, follow=True)
    assert bad.status_code == 200
    assert "Choose to accept or to decline the quote." in bad.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Quote.objects.get().status == QuoteStatus.PROPOSED
    with django_capture_on_commit_callbacks(execute=True):
        page = portal.post(
            f"/portal/tickets/{ticket.pk}/quote/", {"decision": "accept"}, follow=True
        )
    assert "You accepted the quote; we go on with the work." in page.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Quote.objects.get().status == QuoteStatus.ACCEPTED
    again = portal.post(f"/portal/tickets/{ticket.pk}/quote/", {"decision": "decline"}, follow=True)
    assert "No quote on this ticket waits for you." in again.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Quote.objects.get().status == QuoteStatus.ACCEPTED


def test_an_agent_proposes_a_quote_on_the_ticket_page(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    agent = client_for(cast.agent, cast.tenant_a)
    bad = agent.post(f"/agent/tickets/{ticket.pk}/quote/", {"hours": "x", "text": "y"}, follow=True)
    assert bad.status_code == 200
    agent.post(f"/agent/tickets/{ticket.pk}/quote/", {"hours": "3", "price": "", "text": "Report"})
    with scope(tenant=cast.tenant_a):
        assert Quote.objects.get().hours == Decimal("3.00")


def test_the_api_proposes_lists_and_refuses_bad_quotes(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    api = api_client_for(cast.agent, cast.tenant_a)
    url = f"/api/v1/tickets/{ticket.pk}/quotes/"
    bad = _post(api, url, {"hours": "-2", "text": "x"})
    assert bad.status_code == 400 and "hours" in bad.json(), bad.content
    made = _post(api, url, {"hours": "2", "text": "Report"})
    assert made.status_code == 201, made.content
    assert api.get(url).json()[0]["status"] == "proposed"
    over = _post(
        api, f"/api/v1/tickets/{ticket.pk}/time-entries/", {"minutes": 150, "billable": True}
    )
    assert over.status_code == 400 and "minutes" in over.json(), over.content


def test_the_customer_decides_through_the_portal_api(cast: Cast, desk: Desk) -> None:
    ticket = _stratsys(cast, desk)
    api = api_client_for(cast.customer_contact.user, cast.tenant_a)
    url = f"/api/v1/portal/tickets/{ticket.pk}/quotes/"
    assert _post(api, url, {"decision": "accept"}).status_code == 400  # none waits
    with scope(tenant=cast.tenant_a):
        quote_propose(ticket=ticket, agent=cast.agent, hours="2", text="Report")
    assert _post(api, url, {"decision": "perhaps"}).status_code == 400
    answer = _post(api, url, {"decision": "decline"})
    assert answer.status_code == 200 and answer.json()["status"] == "declined"
    assert api.get(url).json()[0]["decided_by"] == cast.customer_contact.name


def test_the_stratsys_demo_has_an_accepted_and_a_waiting_quote(tmp_path: Path) -> None:
    data = yaml.safe_load(demo_file("stratsys").read_text(encoding="utf-8"))
    (tmp_path / "stratsys.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("seed_demo", demo_dir=tmp_path, stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="stratsys")
    with scope(tenant=tenant):
        statuses = sorted(Quote.objects.values_list("status", flat=True))
        plan = SupportPlan.objects.filter(quote_free_hours=Decimal("2")).first()
    assert statuses == [QuoteStatus.ACCEPTED, QuoteStatus.PROPOSED]
    assert plan is not None and plan.notify_account_manager_out_of_scope
