"""Every demo tenant's customers get help through the portal and by e-mail, as DOMAIN.md
describes: on the demo data of ``seed_demo``, not on hand-made fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django_scopes import scope

from contracts.models import Contact, PlanRequestType, SupportPlan
from supportdesk.models import Tenant, User
from tickets.choices import VendorState
from tickets.mail import services as mail_services
from tickets.models import Ticket
from tickets.vendor import PROACTIVE_FEATURE

DEMO_TENANTS = ["synerity", "stratsys", "softone", "itsl", "syneton"]


@pytest.fixture
def demo(db: None) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, S108


def _client(slug: str, username: str) -> Client:
    client = Client(HTTP_HOST=f"{slug}.localhost")
    client.force_login(User.objects.get(username=username))
    return client


def test_every_demo_tenants_named_contact_gets_help_in_the_portal_and_by_mail(
    demo: None, django_capture_on_commit_callbacks: Any
) -> None:
    # One test over all five tenants: seeding the demo data is the slow part.
    for slug in DEMO_TENANTS:
        portal_filing_works(slug)
        mail_filing_works(slug, django_capture_on_commit_callbacks)


def portal_filing_works(slug: str) -> None:
    client = _client(slug, f"{slug}-named")
    for path in ("/portal/", "/portal/new/", "/portal/contract/"):
        assert client.get(path).status_code == 200, (slug, path)
    form = {"subject": "Export fails", "category": "incident", "description": "It fails."}
    with scope(tenant=Tenant.objects.get(slug=slug)):
        # A plan with a scope table (Syneton's) asks for the type: an included one.
        included = PlanRequestType.objects.filter(included=True).first()
    if included is not None:
        form["request_type"] = str(included.request_type_id)
    response = client.post("/portal/new/", form)
    assert response.status_code == 302, (slug, response.content.decode()[:3000])
    assert client.get(response["Location"]).status_code == 200


def mail_filing_works(slug: str, capture: Any) -> None:
    tenant = Tenant.objects.get(slug=slug)
    with scope(tenant=tenant):
        contact = Contact.objects.get(user__username=f"{slug}-named")
        before = Ticket.objects.count()
    raw = (
        f"From: {contact.name} <{contact.email}>\r\nTo: {tenant.support_email}\r\n"
        f"Subject: Export fails\r\nMessage-ID: <demo-{slug}@customer.example>\r\n\r\n"
        "The export fails since this morning.\r\n"
    ).encode()
    with capture(execute=True), scope(tenant=tenant):
        inbound, _created = mail_services.email_ingest(tenant=tenant, raw=raw)
        mail_services.email_process(inbound_id=inbound.pk)
    with scope(tenant=tenant):
        assert Ticket.objects.count() == before + 1, slug
        ticket = Ticket.objects.latest("id")
    confirmations = [m for m in mail.outbox if m.to == [contact.email.lower()]]
    assert len(confirmations) == 1, slug
    assert ticket.reference in confirmations[0].subject


def test_synerity_escalates_to_zendesk_with_proactive_updates_on_silver_and_guld(
    demo: None,
) -> None:
    """Issue 15 item 5 in the demo: the rules set, the feature on the plans, tickets waiting."""
    tenant = Tenant.objects.get(slug="synerity")
    assert tenant.vendor_wait_pauses_resolution and tenant.vendor_update_days == 2
    with scope(tenant=tenant):
        plans = {p.name: p for p in SupportPlan.objects.all()}
        assert not plans["Free"].has_feature(PROACTIVE_FEATURE)
        assert plans["Silver"].has_feature(PROACTIVE_FEATURE)
        assert plans["Guld"].has_feature(PROACTIVE_FEATURE)
        states = set(Ticket.objects.values_list("vendor_state", flat=True))
        assert {VendorState.WAITING, VendorState.ESCALATED} <= states
