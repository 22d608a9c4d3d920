"""Customer satisfaction: one "How did we do?" mail per solve, signed one-click links that
record at once, refused when tampered, expired, of another ticket or tenant, the portal's
prompt, the agent's page and API, and the monthly report's figure."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from contracts.models import Contact, NamedContact
from notifications import services as relay
from notifications.channels.email import notify_by_mail
from notifications.models import DeliveryStatus, EventDelivery
from reports.services import sla_report_build
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Channel, Rating, Status
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.models import EventKind, SatisfactionRating, Ticket, TicketEvent
from tickets.satisfaction.services import (
    LINK_MAX_AGE,
    rating_link_path,
    rating_link_token,
)
from tickets.services import (
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

from .conftest import Desk, at

pytestmark = pytest.mark.django_db

NOW = at(2026, 10, 6, 10)


@pytest.fixture
def solved(cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any) -> Ticket:
    """Carla's ticket, solved by the agent just now, with everything after commit run."""
    ticket = _file(cast, django_capture_on_commit_callbacks)
    return _status(cast, ticket, Status.SOLVED, django_capture_on_commit_callbacks)


def _file(cast: Cast, capture: Any, requester: Contact | None = None) -> Ticket:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=requester or cast.customer_contact,
            subject="The invoice export stops",
            description="At 99 rows.",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )


def _status(cast: Cast, ticket: Ticket, status: str, capture: Any, **who: Any) -> Ticket:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        return ticket_change_status(
            ticket=ticket,
            status=status,
            actor=who.get("actor", cast.agent),
            channel=Channel.PORTAL,
            contact=who.get("contact"),
        )


def _rating_mails(cast: Cast) -> list[OutboundEmail]:
    with scope(tenant=cast.tenant_a):
        return list(OutboundEmail.objects.filter(kind=OutboundKind.SATISFACTION).order_by("pk"))


def _rating(cast: Cast, ticket: Ticket) -> SatisfactionRating | None:
    with scope(tenant=cast.tenant_a):
        return SatisfactionRating.objects.filter(ticket=ticket).first()


def _events(cast: Cast, ticket: Ticket, *kinds: str) -> list[TicketEvent]:
    with scope(tenant=cast.tenant_a):
        return list(TicketEvent.objects.filter(ticket=ticket, kind__in=kinds).order_by("id"))


def _link(cast: Cast, ticket: Ticket, rating: str, contact: Contact | None = None) -> str:
    with scope(tenant=cast.tenant_a):
        return rating_link_path(
            ticket=ticket, contact=contact or cast.customer_contact, rating=rating
        )


def _anonymous(cast: Cast) -> Any:
    return client_for(None, cast.tenant_a)


# --- The mail -------------------------------------------------------------------------------


def test_solving_a_ticket_mails_its_requester_once_with_a_good_and_a_bad_link(
    cast: Cast, solved: Ticket
) -> None:
    (mail,) = _rating_mails(cast)
    assert mail.to_address == cast.customer_contact.email
    assert mail.subject == f"[{solved.reference}] How did we do? {solved.subject}"
    links = re.findall(r"https?://\S+/rating/\S+/", mail.body)
    assert len(links) == 2
    good, bad = (re.sub(r"^https?://[^/]+", "", link) for link in links)
    assert "30 days" in mail.body

    page = _anonymous(cast).get(good)
    assert page.status_code == 200
    rating = _rating(cast, solved)
    assert rating is not None
    assert (rating.rating, rating.contact_id) == (Rating.GOOD, cast.customer_contact.pk)
    assert _anonymous(cast).get(bad).status_code == 200
    assert _rating(cast, solved).rating == Rating.BAD  # type: ignore[union-attr]


def test_the_relay_running_again_or_the_handler_twice_sends_no_second_mail(
    cast: Cast, solved: Ticket
) -> None:
    with scopes_disabled():
        EventDelivery.objects.update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
    assert relay.deliveries_relay() > 0
    (event,) = _events(cast, solved, EventKind.STATUS_CHANGED)
    with scope(tenant=cast.tenant_a):
        notify_by_mail(TicketEvent.objects.select_related("ticket").get(pk=event.pk))
    assert len(_rating_mails(cast)) == 1


def test_other_changes_and_a_customer_solving_their_own_ticket_send_no_rating_mail(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    ticket = _file(cast, capture)
    with capture(execute=True), scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket, body="Looking.", public=True, channel="portal", author=cast.agent
        )
        ticket_change_priority(ticket=ticket, priority=desk.p1, actor=cast.agent)
    _status(cast, ticket, Status.PENDING, capture)
    _status(
        cast, ticket, Status.SOLVED, capture, actor=cast.customer, contact=cast.customer_contact
    )
    assert _rating_mails(cast) == []


def test_a_tenant_that_turned_the_question_off_sends_none(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    cast.tenant_a.satisfaction_survey = False
    cast.tenant_a.save()
    ticket = _file(cast, django_capture_on_commit_callbacks)
    _status(cast, ticket, Status.SOLVED, django_capture_on_commit_callbacks)
    assert _rating_mails(cast) == []


def test_the_admin_turns_the_question_off_on_the_mail_settings_page(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    page = client.get("/manage/mailboxes/")
    assert 'name="settings-satisfaction_survey"' in page.content.decode()
    answer = client.post(
        "/manage/mailboxes/settings/",
        {"settings-auto_reply_repeat_limit": "3", "settings-auto_reply_repeat_hours": "12"},
    )
    assert answer.status_code == 302
    cast.tenant_a.refresh_from_db()
    assert cast.tenant_a.satisfaction_survey is False


def test_a_ticket_reopened_and_solved_again_asks_again_and_the_new_answer_replaces_the_old(
    cast: Cast, solved: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    client = _anonymous(cast)
    client.get(_link(cast, solved, Rating.BAD))
    _status(cast, solved, Status.OPEN, django_capture_on_commit_callbacks)
    refused = client.get(_link(cast, solved, Rating.GOOD))
    assert refused.status_code == 400
    assert "not solved now" in refused.content.decode()
    _status(cast, solved, Status.SOLVED, django_capture_on_commit_callbacks)
    assert len(_rating_mails(cast)) == 2
    client.get(_link(cast, solved, Rating.GOOD))
    with scope(tenant=cast.tenant_a):
        assert SatisfactionRating.objects.filter(ticket=solved).count() == 1
    assert _rating(cast, solved).rating == Rating.GOOD  # type: ignore[union-attr]
    assert [(e.old_value, e.new_value) for e in _events(cast, solved, EventKind.RATED)] == [
        ("", Rating.BAD),
        (Rating.BAD, Rating.GOOD),
    ]


# --- The link -------------------------------------------------------------------------------


def test_opening_the_same_link_again_changes_nothing(cast: Cast, solved: Ticket) -> None:
    link = _link(cast, solved, Rating.GOOD)
    for _ in range(3):
        assert _anonymous(cast).get(link).status_code == 200
    assert len(_events(cast, solved, EventKind.RATED)) == 1


def test_a_tampered_link_is_a_clear_400_and_saves_nothing(cast: Cast, solved: Ticket) -> None:
    good = _link(cast, solved, Rating.GOOD)
    token = good.rstrip("/").rsplit("/", 1)[1]
    payload, stamp, signature = token.split(":")
    assert json.loads(signing.b64_decode(payload.encode()))["r"] == "good"
    forged = signing.b64_encode(json.dumps({"t": solved.pk, "c": 1, "r": "bad"}).encode())
    for bad in (
        good.replace(token, f"{payload}:{stamp}:{signature[:-2]}xx"),
        good.replace(token, token[:-10]),
        good.replace(token, "bm9uc2Vuc2U"),
        good.replace(token, f"{forged.decode()}:{stamp}:{signature}"),
    ):
        answer = _anonymous(cast).get(bad)
        assert answer.status_code == 400, bad
        assert "Your answer was not recorded" in answer.content.decode()
        assert _anonymous(cast).post(bad, {"comment": "x"}).status_code == 400
    assert _rating(cast, solved) is None


def test_the_link_of_another_ticket_is_refused_on_this_one(
    cast: Cast, solved: Ticket, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    other = _file(cast, django_capture_on_commit_callbacks)
    _status(cast, other, Status.SOLVED, django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        token = rating_link_token(ticket=other, contact=cast.customer_contact, rating="good")
    answer = _anonymous(cast).get(f"/portal/tickets/{solved.pk}/rating/{token}/")
    assert answer.status_code == 400
    assert "not valid for this ticket" in answer.content.decode()
    assert _rating(cast, solved) is None and _rating(cast, other) is None


def test_an_expired_link_is_refused(cast: Cast, solved: Ticket) -> None:
    link = _link(cast, solved, Rating.GOOD)  # made now, as the mail was
    with time_machine.travel(timezone.now() + LINK_MAX_AGE + dt.timedelta(minutes=1)):
        answer = _anonymous(cast).get(link)
    assert answer.status_code == 400
    assert "expired" in answer.content.decode()
    assert _rating(cast, solved) is None
    with time_machine.travel(timezone.now() + LINK_MAX_AGE - dt.timedelta(hours=1)):
        assert _anonymous(cast).get(link).status_code == 200


def test_another_tenants_ticket_is_not_found_and_gets_no_row(
    cast: Cast, solved: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_b):
        theirs = ticket_create(
            tenant=cast.tenant_b,
            requester=cast.contact_b,
            subject="B",
            description="B",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )
        ticket_change_status(
            ticket=theirs, status=Status.SOLVED, actor=cast.agent_b, channel=Channel.PORTAL
        )
        path = rating_link_path(ticket=theirs, contact=cast.contact_b, rating=Rating.GOOD)
        token = rating_link_token(ticket=theirs, contact=cast.contact_b, rating=Rating.GOOD)
    assert _anonymous(cast).get(path).status_code == 404  # on tenant A's host
    mixed = _anonymous(cast).get(f"/portal/tickets/{solved.pk}/rating/{token}/")
    assert mixed.status_code == 400
    with scopes_disabled():
        assert not SatisfactionRating.objects.exists()


def test_the_comment_is_saved_with_the_rating_and_shown_to_the_agent(
    cast: Cast, solved: Ticket
) -> None:
    link = _link(cast, solved, Rating.BAD)
    client = _anonymous(cast)
    page = client.get(link)
    assert 'name="comment"' in page.content.decode()
    answer = client.post(link, {"comment": "  It took three days.  "})
    assert answer.status_code == 302
    rating = _rating(cast, solved)
    assert rating is not None and (rating.rating, rating.comment) == ("bad", "It took three days.")
    (commented,) = _events(cast, solved, EventKind.RATING_COMMENTED)
    assert commented.new_value == "It took three days."
    assert client.post(link, {"comment": "x" * 2001}).status_code == 400
    assert _rating(cast, solved).comment == "It took three days."  # type: ignore[union-attr]

    agent_page = client_for(cast.agent, cast.tenant_a).get(f"/agent/tickets/{solved.pk}/")
    html = agent_page.content.decode()
    assert "Customer satisfaction" in html and "It took three days." in html
    assert "Satisfaction rated" in html and "Bad" in html


# --- Portal, API, report --------------------------------------------------------------------


def test_the_portal_asks_only_those_who_may_see_the_solved_ticket_until_it_is_rated(
    cast: Cast, solved: Ticket, desk: Desk
) -> None:
    url = f"/portal/tickets/{solved.pk}/"
    with scope(tenant=cast.tenant_a):
        colleague = Contact.objects.create(
            tenant=cast.tenant_a,
            organisation=cast.org_a,
            name="Olle Other",
            email="olle@orga.example.test",
            user=cast.manager.__class__.objects.create_user(username="a-olle"),
        )
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    asks = 'id="satisfaction-ask"'
    customer = client_for(cast.customer, cast.tenant_a).get(url).content.decode()
    assert asks in customer
    named = client_for(cast.named, cast.tenant_a).get(url)
    assert asks in named.content.decode()  # a named contact sees the organisation's tickets
    assert client_for(colleague.user, cast.tenant_a).get(url).status_code == 404
    assert client_for(cast.contact_b_user, cast.tenant_a).get(url).status_code == 404

    link = re.search(r'href="([^"]+/rating/[^"]+)">Good<', customer)
    assert link is not None
    assert client_for(cast.customer, cast.tenant_a).get(link[1]).status_code == 200
    assert asks not in client_for(cast.customer, cast.tenant_a).get(url).content.decode()


def test_the_portal_does_not_ask_about_an_open_ticket(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _file(cast, django_capture_on_commit_callbacks)
    page = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/")
    assert 'id="satisfaction-ask"' not in page.content.decode()


def test_the_rating_is_in_the_ticket_api_and_the_portal_api(cast: Cast, solved: Ticket) -> None:
    agent_api = api_client_for(cast.agent, cast.tenant_a)
    assert agent_api.get(f"/api/v1/tickets/{solved.pk}/").json()["satisfaction"] is None
    _anonymous(cast).get(_link(cast, solved, Rating.GOOD))
    rated = agent_api.get(f"/api/v1/tickets/{solved.pk}/").json()["satisfaction"]
    assert (rated["rating"], rated["comment"]) == ("good", "")
    portal = api_client_for(cast.customer, cast.tenant_a)
    mine = portal.get(f"/api/v1/portal/tickets/{solved.pk}/").json()
    assert mine["satisfaction"]["rating"] == "good"


def test_the_monthly_report_shows_the_share_of_good_among_rated_per_organisation(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    answers = [Rating.GOOD, Rating.GOOD, Rating.BAD, None]
    with time_machine.travel(NOW, tick=False):
        for answer in answers:
            ticket = _file(cast, capture)
            _status(cast, ticket, Status.SOLVED, capture)
            if answer is not None:
                _anonymous(cast).get(_link(cast, ticket, answer))
    with scope(tenant=cast.tenant_a):
        report = sla_report_build(tenant=cast.tenant_a, month=dt.date(2026, 10, 1))
    (org,) = report.rows
    assert (org.label, org.rated_good, org.rated_bad) == ("Org A", 2, 1)
    assert round(org.satisfaction_rate or 0) == 67
    assert (report.total.rated_good, report.total.rated) == (2, 3)

    manager = client_for(cast.manager, cast.tenant_a)
    csv_lines = manager.get("/reports/export.csv", {"month": "2026-10"}).content.decode()
    header, org_line = csv_lines.splitlines()[:2]
    assert header.endswith("Rated good,Rated bad,Rated good (%),Reviews done,Reviews overdue")
    assert org_line.endswith(",2,1,66.7,0,0")
    page = manager.get("/reports/monthly/", {"month": "2026-10"}).content.decode()
    assert "Rated good" in page and "(2/3)" in page
