"""The ticket timeline reads as words in the reader's language, generated over every form of
the agent's ticket page: each is submitted with every field changed, then the page is read
in Swedish, Dutch and English. No raw ``True``/``False``, no status, category or channel
keys, and an agent's change made in these pages is not labelled "· Portal"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.supportdesk.test_audit_words import _changed, _OptionParser
from tests.test_admin_forms import _payload
from tickets.choices import Category, Channel, Status
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_create, ticket_set_billable

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _timeline(html: str) -> str:
    found = re.search(r'<section aria-labelledby="timeline">.*?</section>', html, re.S)
    assert found is not None, "no timeline on the page"
    return re.sub(r"<[^>]+>", " ", found[0])


def _work_the_ticket(cast: Cast, ticket: Ticket) -> set[str]:
    client = client_for(cast.agent, cast.tenant_a)
    url = reverse("tickets:ticket", args=[ticket.pk])
    for _round in range(2):
        parser = _OptionParser()
        parser.feed(client.get(url).content.decode())
        for form in parser.forms:
            if not form.action.startswith(url) or form.action == url:
                continue
            override = {
                f.name: value
                for f in form.fields
                if f.kind not in ("hidden", "file")
                and (value := _changed(f, parser.options.get(f.name, []))) is not None
            }
            payload = _payload(form, override)
            payload.setdefault("minutes", "15")
            payload["confirm_close"] = "1"
            if form.action.endswith("/status/") and _round == 0:
                payload["status"] = Status.PENDING
            if form.action.endswith("/reply/") and _round == 0:
                payload["public"] = "1"
            client.post(form.action, payload)
    with scope(tenant=cast.tenant_a):
        ticket_set_billable(ticket=ticket, billable=not ticket.billable, actor=cast.agent)
        return set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))


@pytest.mark.parametrize("language", ["sv", "nl", "en"])
def test_every_timeline_entry_reads_as_words(cast: Cast, desk: Desk, language: str) -> None:
    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export fails",
            description="Every export ends with an error.",
            channel=Channel.PORTAL,
        )
    kinds = _work_the_ticket(cast, ticket)
    expected = {
        EventKind.CREATED,
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
        EventKind.LINE_CHANGED,
        EventKind.VENDOR_REFERENCE,
        EventKind.CONVERTED,
        EventKind.REPLIED,
        EventKind.TIME_LOGGED,
        EventKind.BILLABLE_CHANGED,
    }
    assert kinds >= expected, f"no events of {sorted(expected - kinds)}"

    cast.agent.language = language
    cast.agent.save(update_fields=["language"])
    page = client_for(cast.agent, cast.tenant_a).get(reverse("tickets:ticket", args=[ticket.pk]))
    text = _timeline(page.content.decode())
    problems = []
    if found := re.findall(r"\b(True|False)\b", text):
        problems.append(f"raw booleans: {found}")
    keys = [*Status.values, *Category.values, *Channel.values]
    if found := sorted({k for k in keys if re.search(rf"(?<![\w/.-]){k}(?![\w/.-])", text)}):
        problems.append(f"raw keys: {found}")
    with translation.override(language):
        portal = str(Channel.PORTAL.label)
    # The customer filed it in the portal (named once); every later line is an agent's.
    if text.count(f"· {portal}") > 1:
        problems.append(f"agent actions labelled '· {portal}': {text.count(f'· {portal}')}")
    assert not problems, "\n".join(problems)
