"""Notifications: mails about tickets to customers and agents, and portal login links."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils import timezone

from contracts.models import Contact
from supportdesk.models import Membership

from ..models import (
    OutboundEmail,
    OutboundKind,
)
from .outbox import (
    contact_language,
    mail_enqueue,
    render_mail,
    render_mail_html,
    tenant_url,
    thread_ids,
)

if TYPE_CHECKING:
    from supportdesk.models import User
    from tickets.models import Ticket

logger = logging.getLogger(__name__)


def login_link_mail(*, contact: Contact, url: str) -> OutboundEmail:
    """Mail a one-time portal login link. One per contact per ten minutes, so the request
    form cannot be used to flood someone's inbox."""
    tenant = contact.tenant
    bucket = int(timezone.now().timestamp() // 600)
    subject, body = render_mail(
        "login_link", {"contact": contact, "login_url": url}, contact_language(contact), tenant
    )
    return mail_enqueue(
        tenant=tenant,
        key=f"login-link:{contact.pk}:{bucket}",
        kind=OutboundKind.LOGIN_LINK,
        to=contact.email,
        subject=subject,
        body=body,
    )


QUOTE_LIMIT = 4000
"""Characters of a message quoted in a notification; the rest is read on the ticket, so a
15 MB mail is not copied to every agent and participant."""


def _quoted(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with its ``text`` cut to :data:`QUOTE_LIMIT` (at a line end when one is
    near) and ``text_cut`` set, so the template says the rest is on the ticket."""
    text = context.get("text")
    if not isinstance(text, str) or len(text) <= QUOTE_LIMIT:
        return context
    cut = text[:QUOTE_LIMIT]
    line_end = cut.rfind("\n")
    if line_end > QUOTE_LIMIT // 2:
        cut = cut[:line_end]
    # A cut message goes as text only: HTML cannot be cut at a line end and stay well formed.
    return {**context, "text": cut.rstrip() + "\n[…]", "text_cut": True, "html": ""}


def ticket_mail_to_contact(
    *,
    ticket: Ticket,
    contact: Contact,
    key: str,
    kind: str,
    template: str,
    context: dict[str, Any],
) -> OutboundEmail:
    """A mail about ``ticket`` to one of its contacts, in their language, in its thread."""
    tenant = ticket.tenant
    in_reply_to, references = thread_ids(ticket, contact.email)
    full = {
        "ticket": ticket,
        "contact": contact,
        "ticket_url": tenant_url(
            tenant, reverse("portal:ticket-detail", kwargs={"ticket_id": ticket.pk})
        ),
        **_quoted(context),
    }
    language = contact_language(contact)
    subject, body = render_mail(template, full, language, tenant)
    return mail_enqueue(
        html_body=render_mail_html(template, full, language, tenant),
        tenant=tenant,
        key=key,
        kind=kind,
        to=contact.email,
        subject=subject,
        body=body,
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=references,
    )


def ticket_mail_to_agents(
    *, ticket: Ticket, agents: Iterable[User], key: str, kind: str, context: dict[str, Any]
) -> list[OutboundEmail]:
    """A notice about ``ticket`` to each agent with an address, in the agent's language."""
    tenant = ticket.tenant
    sent = []
    for agent in agents:
        if not agent.email or not agent.is_active:
            continue
        language = agent.language or tenant.default_language
        in_reply_to, references = thread_ids(ticket, agent.email)
        full = {
            "ticket": ticket,
            "agent": agent,
            "ticket_url": tenant_url(
                tenant, reverse("tickets:ticket", kwargs={"ticket_id": ticket.pk})
            ),
            **_quoted(context),
        }
        subject, body = render_mail(str(kind), full, language, tenant)
        sent.append(
            mail_enqueue(
                html_body=render_mail_html(str(kind), full, language, tenant),
                tenant=tenant,
                key=f"{key}:agent:{agent.pk}",
                kind=kind,
                to=agent.email,
                subject=subject,
                body=body,
                ticket=ticket,
                in_reply_to=in_reply_to,
                references=references,
            )
        )
    return sent


def agents_to_notify(*, ticket: Ticket) -> list[User]:
    """The assignee, or every agent and admin of the tenant while nobody is assigned."""
    if ticket.assignee_id is not None:
        return [ticket.assignee] if ticket.assignee is not None else []
    memberships = Membership.objects.agents().select_related("user")
    return [m.user for m in memberships]
