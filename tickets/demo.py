"""Demo tickets: a few dozen per tenant in varied states, so the queue looks like a real
Monday. Runs after ``contracts.demo`` and uses its contacts; fictional people only.
Idempotent: a tenant that already has tickets is left alone."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from contracts.models import Contact, Organisation
from sla.models import Priority
from supportdesk.models import Membership, Role, Tenant, User

from .choices import Category, Channel, Status
from .models import Macro, Ticket
from .services import (
    AcceptanceRequired,
    TicketRefused,
    ticket_assign,
    ticket_change_line,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    ticket_set_vendor_reference,
    time_entry_log,
)

TICKETS_PER_TENANT = 30

SUBJECTS = {
    "sv": [
        ("Kan inte logga in efter lösenordsbyte", Category.INCIDENT),
        ("Oväntat fel när vi sparar en rapport", Category.BUG),
        ("Hur lägger vi till en ny användare?", Category.QUESTION),
        ("Exporten till Excel saknar kolumner", Category.BUG),
        ("Önskemål: filtrera på avdelning", Category.FEATURE_REQUEST),
        ("Systemet är mycket långsamt i dag", Category.INCIDENT),
        ("Ändra behörigheter för ekonomigruppen", Category.OUT_OF_SCOPE),
        ("Fråga om nästa version", Category.QUESTION),
        ("E-post kommer inte in i ärendekön", Category.INCIDENT),
        ("Vill ändra layouten på fakturan", Category.CHANGE_REQUEST),
        ("Återkommande fel vid lönekörning", Category.PROBLEM),
        ("Integrationen mot HR-systemet stannar", Category.INCIDENT),
    ],
    "nl": [
        ("Kan niet inloggen na wachtwoordwijziging", Category.INCIDENT),
        ("Foutmelding bij het afdrukken van facturen", Category.BUG),
        ("Hoe voeg ik een nieuwe gebruiker toe?", Category.QUESTION),
        ("Rapport toont verkeerde totalen", Category.BUG),
        ("Graag een extra veld op de offerte", Category.CHANGE_REQUEST),
        ("Pakket is traag sinds de update", Category.INCIDENT),
        ("Script op de database gevraagd", Category.OUT_OF_SCOPE),
        ("Vraag over de jaarafsluiting", Category.QUESTION),
        ("Herinstallatie op nieuwe server", Category.OUT_OF_SCOPE),
        ("Lay-out van de pakbon aanpassen", Category.CHANGE_REQUEST),
    ],
}

REPLIES = {
    "sv": [
        "Tack, vi tittar på det direkt.",
        "Kan du skicka en skärmbild?",
        "Nu ska det fungera igen.",
    ],
    "nl": [
        "Bedankt, we bekijken het meteen.",
        "Kunt u een schermafdruk sturen?",
        "Het is opgelost.",
    ],
}


def _contacts(tenant: Tenant) -> list[Contact]:
    """Contacts of the demo customers, those entitled to support first."""
    from contracts.services import entitlement_check

    contacts = list(
        Contact.objects.filter(organisation__isnull=False).select_related("organisation")[:20]
    )
    entitled = [
        c
        for c in contacts
        if entitlement_check(contact=c, channel=Channel.EMAIL, category=Category.QUESTION).allowed
    ]
    if contacts:
        # Mostly entitled customers, and now and then someone the plan does not cover.
        return entitled * 3 + contacts if entitled else contacts
    organisation, _created = Organisation.objects.get_or_create(
        tenant=tenant, name="Demo Kund AB", defaults={"email_domains": "demokund.example"}
    )
    contact, _created = Contact.objects.get_or_create(
        tenant=tenant,
        email="kim.demo@demokund.example",
        defaults={"name": "Kim Demo", "organisation": organisation},
    )
    return [contact]


def _staff(tenant: Tenant) -> tuple[User | None, User | None]:
    by_role = {
        m.role: m.user
        for m in Membership.objects.select_related("user").filter(role__in=[Role.AGENT, Role.ADMIN])
    }
    return by_role.get(Role.AGENT), by_role.get(Role.ADMIN)


def _create(
    tenant: Tenant,
    contact: Contact,
    subject: str,
    category: str,
    channel: str,
    priority: Priority | None,
    received_at: dt.datetime,
    agent: User | None,
) -> Ticket:
    values = {
        "tenant": tenant,
        "requester": contact,
        "subject": subject,
        "description": subject + ".",
        "channel": channel,
        "category": category,
        "priority": priority,
        "received_at": received_at,
        "actor": agent if channel == Channel.PHONE else None,
    }
    try:
        return ticket_create(**values, accepted_billable=True)  # type: ignore[arg-type]
    except (TicketRefused, AcceptanceRequired):
        # The demo shows refused customers' tickets too, as an agent overriding would.
        return ticket_create(**values, enforce_entitlement=False)  # type: ignore[arg-type]


MACROS = {
    "sv": [
        (
            "Be om loggfil",
            "Hej {{ requester.first_name }},\n\ntack för ditt ärende {{ ticket.reference }}. "
            "Kan du skicka loggfilen från tillfället då felet inträffade?\n\n"
            "Vänliga hälsningar\n{{ agent.name }}, {{ tenant.name }}",
            Status.PENDING,
        ),
        (
            "Löst, stäng gärna",
            "Hej {{ requester.first_name }},\n\nvi har åtgärdat felet i {{ ticket.reference }}. "
            "Hör av dig om något fortfarande inte fungerar.\n\n{{ agent.name }}",
            Status.SOLVED,
        ),
        (
            "Vi tittar på det",
            "Hej {{ requester.first_name }},\n\nvi har tagit emot {{ ticket.reference }} och "
            "arbetar med det.{% if ticket.resolution_due %} Vi siktar på en lösning senast "
            "{{ ticket.resolution_due }}.{% endif %}\n\n{{ agent.name }}",
            Status.OPEN,
        ),
    ],
    "nl": [
        (
            "Logbestand vragen",
            "Hallo {{ requester.first_name }},\n\nbedankt voor je melding "
            "{{ ticket.reference }}. Kun je het logbestand van het moment van de fout "
            "sturen?\n\nMet vriendelijke groet,\n{{ agent.name }}, {{ tenant.name }}",
            Status.PENDING,
        ),
        (
            "Opgelost",
            "Hallo {{ requester.first_name }},\n\nwe hebben de fout in {{ ticket.reference }} "
            "verholpen. Laat het weten als er nog iets niet werkt.\n\n{{ agent.name }}",
            Status.SOLVED,
        ),
        (
            "We kijken ernaar",
            "Hallo {{ requester.first_name }},\n\nwe hebben {{ ticket.reference }} ontvangen en "
            "werken eraan.{% if ticket.resolution_due %} We streven naar een oplossing voor "
            "{{ ticket.resolution_due }}.{% endif %}\n\n{{ agent.name }}",
            Status.OPEN,
        ),
    ],
}
"""Shared macros for the demo's reply boxes (type / on a ticket page)."""


def _macros(tenant: Tenant, language: str) -> None:
    for name, body, status in MACROS[language]:
        Macro.objects.get_or_create(
            tenant=tenant, owner=None, name=name, defaults={"body": body, "set_status": status}
        )


def load(tenant: Tenant) -> list[tuple[str, str]]:
    """Create the tenant's demo tickets (inside its scope); no logins are created."""
    if Ticket.objects.exists():
        return []
    rng = random.Random(tenant.slug)  # noqa: S311 - demo data; the same on every machine
    language = "nl" if tenant.default_language == "nl" else "sv"
    subjects, replies = SUBJECTS[language], REPLIES[language]
    _macros(tenant, language)
    contacts = _contacts(tenant)
    priorities = list(Priority.objects.all())
    agent, admin = _staff(tenant)
    now = timezone.now()
    for i in range(TICKETS_PER_TENANT):
        subject, category = subjects[i % len(subjects)]
        # Most arrived in the last hours, some days ago: due times on both sides of now.
        window = rng.choice([3 * 60, 3 * 60, 8 * 60, 24 * 60, 5 * 24 * 60])
        received = now - dt.timedelta(minutes=rng.randint(5, window))
        channel = rng.choice([Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.PHONE])
        ticket = _create(
            tenant,
            rng.choice(contacts),
            subject,
            category,
            channel,
            rng.choice(priorities) if priorities else None,
            received,
            agent,
        )
        if agent is None:
            continue
        fate = i % 10
        if fate in (0, 1, 2):
            continue  # new and unassigned
        ticket = ticket_assign(
            ticket=ticket, assignee=rng.choice([agent, admin or agent]), actor=agent
        )
        if fate in (3, 4):
            continue  # assigned, not yet answered
        reply_at = min(received + dt.timedelta(minutes=rng.randint(20, 600)), now)
        ticket_reply(
            ticket=ticket,
            body=replies[0],
            public=True,
            channel=Channel.PORTAL,
            author=agent,
            at=reply_at,
        )
        if fate == 5:
            ticket_change_status(
                ticket=ticket, status=Status.PENDING, actor=agent, channel=Channel.PORTAL
            )
        elif fate == 6:
            ticket_change_line(ticket=ticket, support_line=2, actor=agent)
            ticket_set_vendor_reference(ticket=ticket, reference=f"VENDOR-{4000 + i}", actor=agent)
        elif fate in (7, 8):
            time_entry_log(
                ticket=ticket, agent=agent, minutes=rng.choice([15, 30, 45]), billable=fate == 8
            )
            ticket_change_status(
                ticket=ticket, status=Status.SOLVED, actor=agent, channel=Channel.PORTAL
            )
        elif fate == 9:
            ticket_change_status(
                ticket=ticket, status=Status.ON_HOLD, actor=agent, channel=Channel.PORTAL
            )
    return []
