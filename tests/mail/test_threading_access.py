"""Threading never grants access: the attack of issue #10, over every threading path.

Carla (Org A) has a ticket with a staff reply; its outbox holds ids stored under the old,
computable scheme (``sd.<tenant>.<sha256("<tenant>:<key>")>``) and under the keyed one. An
attacker sends one mail naming that ticket, by each header a mail can name a ticket with,
listing hundreds of ids computed with the old formula and every real id stored for it. The
attackers: a customer of another organisation, a non-named colleague in Carla's organisation,
a newcomer from her organisation's domain, and a complete outsider while the tenant accepts
unknown senders. None of them may join, change, be copied on, hear about or see the ticket.
The people who may see it (requester, a contact staff copied, a named contact, an agent)
still thread, also on ids stored under the old scheme.

Every case runs through ``email_ingest`` and through a real Dovecot poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as MailMessage
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from contracts.models import Contact, Contract, Organisation
from supportdesk.models import Tenant, User
from tests.conftest import Cast, client_for
from tests.mail.conftest import SUPPORT_ADDRESS
from tests.mail.servers import SmtpCapture
from tests.portal.conftest import Desk, stockholm
from tickets.choices import Channel, Status
from tickets.mail.models import (
    InboundEmail,
    InboundOutcome,
    OutboundEmail,
    OutboundKind,
)
from tickets.mail.services.inbound import MAX_THREAD_IDS
from tickets.models import Message, Ticket, TicketEvent
from tickets.services import ticket_change_status, ticket_reply

pytestmark = pytest.mark.mail

NOW = stockholm(2024, 3, 5, 9, 30)
CARLA = "carla@orga.example.test"
CORA = "cora@orga.example.test"
DOMAIN = "tenant-a.example.test"
SECRET = "VICTIM-SECRET-k3q"
SUBJECT = "Payroll export VICTIM-SUBJECT-q8z"


def old_message_id(tenant_id: int, key: str) -> str:
    """The formula our outgoing Message-IDs used before they carried a keyed MAC."""
    digest = hashlib.sha256(f"{tenant_id}:{key}".encode()).hexdigest()[:32]
    return f"sd.{tenant_id}.{digest}@{DOMAIN}"


def mail(
    sender: str,
    *,
    message_id: str,
    subject: str = "Re: Hello",
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
    text: str = "Thanks, this is my answer.",
) -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {SUPPORT_ADDRESS}",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        "Date: Tue, 05 Mar 2024 09:30:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        lines.append("In-Reply-To: " + "\r\n ".join(f"<{i}>" for i in in_reply_to))
    if references:
        lines.append("References: " + "\r\n ".join(f"<{i}>" for i in references))
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode()


@dataclass
class Scene:
    cast: Cast
    desk: Desk
    smtp: SmtpCapture
    send: Callable[[bytes], InboundEmail]
    ticket: Ticket
    legacy_id: str = ""  # Carla's confirmation, stored under the old formula
    keyed_id: str = ""  # the staff reply to Carla, stored under the keyed scheme
    customer_id: str = ""  # Carla's own first mail
    stored_ids: list[str] = field(default_factory=list)
    contacts: dict[str, Contact] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant:
        return self.cast.tenant_a

    def mails_to(self, address: str) -> list[MailMessage]:
        return [message_from_bytes(m.raw) for m in self.smtp.to(address)]

    def snapshot(self) -> dict[str, Any]:
        with scope(tenant=self.tenant):
            ticket = Ticket.objects.get(pk=self.ticket.pk)
            return {
                "row": (ticket.status, ticket.version, ticket.updated_at, ticket.requester_id),
                "cc": sorted(ticket.cc.values_list("pk", flat=True)),
                "messages": list(
                    Message.objects.filter(ticket=ticket).values_list("pk", "body", "is_public")
                ),
                "events": list(TicketEvent.objects.filter(ticket=ticket).values_list("pk", "kind")),
                "outbox": list(
                    OutboundEmail.objects.filter(ticket=ticket).values_list("pk", "to_address")
                ),
            }


def _legacy(tenant: Tenant, outbound: OutboundEmail) -> str:
    """Store a mail's id as the old scheme did, as rows sent before the fix have it."""
    legacy = old_message_id(tenant.pk, outbound.key)
    OutboundEmail.objects.filter(pk=outbound.pk).update(message_id=legacy)
    return legacy


@pytest.fixture
def scene(
    cast: Cast,
    desk: Desk,
    smtp: SmtpCapture,
    transport: Callable[[bytes], InboundEmail],
    django_capture_on_commit_callbacks: Any,
) -> Iterator[Scene]:
    with time_machine.travel(NOW, tick=False):
        tenant = cast.tenant_a
        inbound = transport(
            mail(CARLA, message_id="victim-1@mail.orga.example.test", subject=SUBJECT,
                 text="Our payroll export fails.")
        )  # fmt: skip
        assert inbound.outcome == InboundOutcome.TICKET_CREATED
        with scope(tenant=tenant):
            ticket = Ticket.objects.get(pk=inbound.ticket_id)
            cora = Contact.objects.create(
                tenant=tenant, organisation=cast.org_a, name="Cora Copied", email=CORA
            )
            ticket.cc.add(cora)  # staff copied her
            org_x = Organisation.objects.create(
                tenant=tenant, name="Org X", email_domains="orgx.example.test"
            )
            Contract.objects.create(
                tenant=tenant, organisation=org_x, plan=desk.plan, starts_on=dt.date(2020, 1, 1)
            )
            contacts = {
                "requester": cast.customer_contact,
                "copied": cora,
                "named": cast.named_contact,
                "other_org": Contact.objects.create(
                    tenant=tenant, organisation=org_x, name="Xena Other",
                    email="xena@orgx.example.test",
                    user=User.objects.create_user(username="xena", email="xena@orgx.example.test"),
                ),
                "colleague": Contact.objects.create(
                    tenant=tenant, organisation=cast.org_a, name="Olga Colleague",
                    email="olga@orga.example.test",
                    user=User.objects.create_user(username="olga", email="olga@orga.example.test"),
                ),
            }  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True), scope(tenant=tenant):
            ticket_reply(
                ticket=ticket,
                body=f"Here is the payroll file: {SECRET}",
                public=True,
                channel=Channel.PORTAL,
                author=cast.agent,
            )
        with scope(tenant=tenant):
            confirmation = OutboundEmail.objects.get(ticket=ticket, kind=OutboundKind.AUTO_REPLY)
            legacy_id = _legacy(tenant, confirmation)
            for notice in OutboundEmail.objects.filter(
                ticket=ticket, kind=OutboundKind.AGENT_NEW_TICKET
            ):
                _legacy(tenant, notice)
            keyed_id = OutboundEmail.objects.get(
                ticket=ticket, kind=OutboundKind.REPLY, to_address=CARLA
            ).message_id
            stored = list(
                OutboundEmail.objects.filter(ticket=ticket).values_list("message_id", flat=True)
            )
            ticket.refresh_from_db()
        assert keyed_id != old_message_id(tenant.pk, f"event:0:to:{cast.customer_contact.pk}")
        yield Scene(
            cast=cast,
            desk=desk,
            smtp=smtp,
            send=transport,
            ticket=ticket,
            legacy_id=legacy_id,
            keyed_id=keyed_id,
            customer_id="victim-1@mail.orga.example.test",
            stored_ids=[*stored, "victim-1@mail.orga.example.test"],
            contacts=contacts,
        )


# --- The attack --------------------------------------------------------------------------------

ATTACKERS = {
    "other_org": "xena@orgx.example.test",
    "colleague": "olga@orga.example.test",
    "newcomer": "olle@orga.example.test",  # unknown, her organisation's domain: gets an account
    "outsider": "eve@elsewhere.example.test",  # unknown; the tenant accepts unknown senders
}
HEADERS = ["in_reply_to", "references", "subject", "message_id"]


def _computed_ids(scene: Scene) -> list[str]:
    """What an attacker computes with the old formula: hundreds of small numbers around ours,
    which also hit every row we stored under that formula."""
    tenant_id = scene.tenant.pk
    with scope(tenant=scene.tenant):
        top = max(
            OutboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            InboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        )
        contact_top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    events = range(top - 40, top + 10)
    people = range(contact_top - 5, contact_top + 1)
    keys = [f"event:{e}:to:{c}" for e, c in itertools.product(events, people)]
    keys += [f"event:{e}:agent:{u}" for e in events for u in range(1, 4)]
    keys += [f"auto-reply:{n}" for n in range(top - 50, top + 10)]
    return [old_message_id(tenant_id, key) for key in keys]


def _attack(scene: Scene, attacker: str, header: str) -> bytes:
    """One mail naming Carla's ticket every way the header allows. The ids that hit come
    first in the order the lookup reads them, so they are never beyond its limit."""
    address = ATTACKERS[attacker]
    real = [*scene.stored_ids, old_message_id(scene.tenant.pk, _confirmation_key(scene))]
    computed = _computed_ids(scene)
    assert len(computed) >= 300
    if header == "in_reply_to":
        return mail(address, message_id="attack-1@evil.example.test", in_reply_to=real + computed)
    if header == "references":
        # References are read newest (last) first.
        return mail(address, message_id="attack-1@evil.example.test", references=computed + real)
    if header == "subject":
        return mail(
            address,
            message_id="attack-1@evil.example.test",
            subject=f"Re: [{scene.ticket.reference}] {scene.ticket.reference} payroll",
        )
    # Our own Message-ID as the mail's: not a threading header, but the id then lands on a
    # message of the attacker's ticket, and must not pull Carla's replies there later.
    return mail(address, message_id=scene.keyed_id, references=[scene.legacy_id])


def _confirmation_key(scene: Scene) -> str:
    with scope(tenant=scene.tenant):
        return OutboundEmail.objects.get(message_id=scene.legacy_id).key


@pytest.mark.parametrize("state", ["open", "closed"])
@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("attacker", list(ATTACKERS))
def test_naming_someone_elses_ticket_by_mail_gives_no_access_to_it(
    scene: Scene, attacker: str, header: str, state: str
) -> None:
    tenant, ticket = scene.tenant, scene.ticket
    if attacker == "outsider":
        tenant.allow_unknown_senders = True
        tenant.save()
    if state == "closed":
        with scope(tenant=tenant):
            for status in (Status.SOLVED, Status.CLOSED):
                ticket_change_status(
                    ticket=ticket, status=status, actor=scene.cast.agent, channel=Channel.EMAIL
                )
    raw = _attack(scene, attacker, header)
    if header in ("in_reply_to", "references"):
        # The mail does name the ticket by stored ids within what the lookup reads.
        sent = message_from_bytes(raw)
        named = [i.strip("<>") for i in str(sent[header.replace("_", "-")]).split()]
        looked_up = (named if header == "in_reply_to" else named[::-1])[:MAX_THREAD_IDS]
        with scope(tenant=tenant):
            hits = OutboundEmail.objects.filter(message_id__in=looked_up, ticket=ticket)
            assert hits.count() >= 2
    address = ATTACKERS[attacker]
    before = scene.snapshot()

    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        inbound = scene.send(raw)

    assert inbound.ticket_id != ticket.pk
    assert scene.snapshot() == before  # unchanged: status, version, cc, messages, events, mail
    with scope(tenant=tenant):
        sender = Contact.objects.select_related("user").get(email=address)
        assert not ticket.cc.filter(pk=sender.pk).exists()
        assert not Ticket.objects.for_contact(sender).filter(pk=ticket.pk).exists()
        assert not OutboundEmail.objects.filter(to_address=address, ticket=ticket).exists()
        own = Ticket.objects.filter(requester=sender)
        for mine in own:
            assert ticket.reference not in mine.description  # no "follow-up to TA-…"
    if attacker == "outsider":
        assert inbound.outcome == InboundOutcome.REFUSED  # no organisation, no contract
    else:
        assert inbound.outcome == InboundOutcome.TICKET_CREATED
        assert own.count() == 1
    own_id = message_from_bytes(raw)["Message-ID"]
    for answer in scene.mails_to(address):
        text = answer.as_string()
        assert SECRET not in text and "VICTIM-SUBJECT" not in text
        threading = f"{answer['In-Reply-To'] or ''} {answer['References'] or ''}".split()
        assert set(threading) <= {own_id}  # threaded on nothing but the attacker's own mail
    assert sender.user is not None
    page = client_for(sender.user, tenant).get(
        reverse("portal:ticket-detail", kwargs={"ticket_id": ticket.pk})
    )
    assert page.status_code == 404
    listing = client_for(sender.user, tenant).get(reverse("portal:list"))
    assert SECRET not in listing.content.decode()
    assert "VICTIM-SUBJECT" not in listing.content.decode()

    if state == "open":
        # Carla's own answer to what we sent her still lands on her ticket.
        with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
            answer = scene.send(
                mail(CARLA, message_id="victim-2@mail.orga.example.test",
                     in_reply_to=[scene.keyed_id], references=[scene.legacy_id])
            )  # fmt: skip
        assert (answer.outcome, answer.ticket_id) == (InboundOutcome.REPLY_ADDED, ticket.pk)


# --- The people who may see the ticket ---------------------------------------------------------

PARTICIPANTS = {
    "requester": CARLA,
    "copied": CORA,
    "named": "nils@orga.example.test",
    "staff": "a-agent@example.test",
}
WAYS = [
    ("in_reply_to", "legacy"),
    ("in_reply_to", "keyed"),
    ("in_reply_to", "customer"),
    ("references", "legacy"),
    ("references", "keyed"),
    ("references", "customer"),
    ("subject", ""),
]


def _reply(scene: Scene, address: str, header: str, id_kind: str) -> bytes:
    named = {"legacy": scene.legacy_id, "keyed": scene.keyed_id, "customer": scene.customer_id}
    if header == "subject":
        return mail(
            address,
            message_id="reply-1@mail.example.test",
            subject=f"Re: [{scene.ticket.reference}] {SUBJECT}",
            text="Still broken.",
        )
    ids = [named[id_kind]]
    return mail(
        address,
        message_id="reply-1@mail.example.test",
        in_reply_to=ids if header == "in_reply_to" else [],
        references=ids if header == "references" else [],
        text="Still broken.",
    )


@pytest.mark.parametrize(("header", "id_kind"), WAYS, ids=[f"{h}-{k}" for h, k in WAYS])
@pytest.mark.parametrize("who", list(PARTICIPANTS))
def test_those_who_may_see_the_ticket_still_thread_into_it(
    scene: Scene, who: str, header: str, id_kind: str
) -> None:
    tenant, ticket = scene.tenant, scene.ticket
    address = PARTICIPANTS[who]
    customers_mail = {a: len(scene.mails_to(a)) for a in (CARLA, CORA)}
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        inbound = scene.send(_reply(scene, address, header, id_kind))

    assert (inbound.outcome, inbound.ticket_id) == (InboundOutcome.REPLY_ADDED, ticket.pk)
    with scope(tenant=tenant):
        message = Message.objects.filter(ticket=ticket).latest("id")
        assert message.body == "Still broken."
        ticket.refresh_from_db()
        if who == "staff":
            # An agent answering from their mail client: internal, never mailed to customers.
            assert (message.is_public, message.author_id) == (False, scene.cast.agent.pk)
            assert {a: len(scene.mails_to(a)) for a in (CARLA, CORA)} == customers_mail
            return
        contact = scene.contacts[who]
        assert (message.is_public, message.author_contact_id) == (True, contact.pk)
        if who == "named":
            # Of the ticket's organisation and entitled to mail support: copied from now on.
            assert ticket.cc.filter(pk=contact.pk).exists()
        assert Ticket.objects.for_contact(contact).filter(pk=ticket.pk).exists()


def test_a_named_contact_whose_plan_has_no_mail_support_threads_but_is_not_copied(
    scene: Scene,
) -> None:
    with scope(tenant=scene.tenant):
        scene.desk.plan.allowed_channels = [Channel.PORTAL]
        scene.desk.plan.save()
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        inbound = scene.send(_reply(scene, "nils@orga.example.test", "in_reply_to", "keyed"))
    assert inbound.ticket_id == scene.ticket.pk
    with scope(tenant=scene.tenant):
        assert not scene.ticket.cc.filter(pk=scene.cast.named_contact.pk).exists()


def test_our_message_ids_cannot_be_computed_without_the_secret_key(settings: Any) -> None:
    key = "event:42:to:7"
    ours = OutboundEmail.message_id_for(tenant_id=1, key=key, domain=DOMAIN)
    assert ours == OutboundEmail.message_id_for(tenant_id=1, key=key, domain=DOMAIN)
    assert ours != old_message_id(1, key)
    assert ours != OutboundEmail.message_id_for(tenant_id=2, key=key, domain=DOMAIN)
    settings.SECRET_KEY = "another-installation-" + "x" * 40
    assert ours != OutboundEmail.message_id_for(tenant_id=1, key=key, domain=DOMAIN)


@pytest.mark.parametrize("who", ["other_org", "colleague"])
def test_the_reply_service_refuses_a_contact_who_may_not_see_the_ticket(
    cast: Cast, desk: Desk, who: str
) -> None:
    from django.core.exceptions import ValidationError

    from tickets.services import ticket_create

    with scope(tenant=cast.tenant_a):
        ticket = ticket_create(
            tenant=cast.tenant_a, requester=cast.customer_contact, subject="Mine",
            description="", channel=Channel.PORTAL,
        )  # fmt: skip
        organisation = cast.org_a
        if who == "other_org":
            organisation = Organisation.objects.create(tenant=cast.tenant_a, name="Org X")
        intruder = Contact.objects.create(
            tenant=cast.tenant_a, organisation=organisation, name="In Truder",
            email="intruder@example.test",
        )  # fmt: skip
        with pytest.raises(ValidationError):
            ticket_reply(
                ticket=ticket, body="Hello", public=True, channel=Channel.EMAIL,
                author_contact=intruder,
            )  # fmt: skip
        assert not ticket.cc.exists()
        assert not Message.objects.filter(ticket=ticket).exists()
