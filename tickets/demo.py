"""Demo tickets, shared macros and routing rules: a few dozen tickets per tenant in varied
states, so the queue looks like a real Monday. The texts (subjects, replies, macros) and the
rules come from the tenant's ``demo/<slug>.yaml``; the tickets are filed (and routed) and
worked through the ticket services. Runs after ``contracts.demo`` and uses its contacts;
fictional people only. Idempotent: macros and rules are looked up by name, and a tenant that
already has tickets gets no more."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone

from contracts.models import Contact, Organisation, SupportPlan
from contracts.services import entitlement_check
from sla.models import Priority
from supportdesk.demo import Section, load_demo, tenant_demo
from supportdesk.models import Membership, Role, Tenant, User

from .choices import Category, Channel, Status, VendorState
from .links.services import ticket_link, ticket_merge
from .macros.services import MACRO_STATUSES, macro_save
from .major.services import (
    major_incident_link,
    major_incident_priority,
    major_incident_update,
    ticket_declare_major_incident,
)
from .models import ACTIVE_STATUSES, LinkKind, Macro, Problem, RoutingRule, Ticket
from .problems.services import problem_link, problem_save
from .quotes.services import quote_accept, quote_decline, quote_propose
from .reviews.services import (
    review_action_add,
    review_done,
    review_open,
    review_policy,
    review_policy_save,
    review_save,
)
from .routing.services import routing_rule_move, routing_rule_save
from .services import (
    AcceptanceRequired,
    TicketRefused,
    ticket_assign,
    ticket_change_line,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    ticket_vendor_escalate,
    time_entry_log,
)


def _contacts() -> list[Contact]:
    """Contacts of the demo customers, those entitled to support first."""
    contacts = list(
        Contact.objects.filter(organisation__isnull=False).select_related("organisation")[:20]
    )
    entitled = [
        c
        for c in contacts
        if entitlement_check(contact=c, channel=Channel.EMAIL, category=Category.QUESTION).allowed
    ]
    # Mostly entitled customers, and now and then someone the plan does not cover.
    return entitled * 3 + contacts if entitled else contacts


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


def _macros(tenant: Tenant, data: Section, admin: User | None) -> None:
    """The shared macros of the demo's reply boxes (type / on a ticket page), saved by the
    tenant's admin through the service that checks their template text."""
    statuses = list(MACRO_STATUSES)
    for item in data.sections("macros"):
        name = item.str("name")
        if admin is None:
            raise item.error(None, f"needs the admin login {tenant.slug}-admin to save it")
        macro = Macro.objects.filter(owner=None, name=name).first() or Macro(
            tenant=tenant, owner=None, name=name
        )
        macro.body = item.str("body")
        macro.set_status = item.str("set_status", "")
        if macro.set_status and macro.set_status not in statuses:
            raise item.error(
                "set_status",
                f"unknown status {macro.set_status!r}; choose one of {', '.join(statuses)}",
            )
        try:
            macro_save(macro=macro, actor=admin)
        except ValidationError as exc:
            raise item.refused(exc) from exc


def _routing_rules(tenant: Tenant, data: Section, admin: User | None) -> None:
    """The tenant's routing rules, in the file's order, saved by its admin through the
    service that checks them (names are the staff roles of the demo logins, plans and
    organisations by name, priorities by key). Looked up by name: a second run adds none."""
    for position, item in enumerate(data.sections("routing_rules"), start=1):
        name = item.str("name")
        if admin is None:
            raise item.error(None, f"needs the admin login {tenant.slug}-admin to save it")
        rule = RoutingRule.objects.filter(name=name).first() or RoutingRule(
            tenant=tenant, name=name
        )
        for key, model, field in (
            ("organisation", Organisation, "name"),
            ("plan", SupportPlan, "name"),
            ("priority", Priority, "key"),
        ):
            value = item.str(key, None)
            found = None if value is None else model.objects.filter(**{field: value}).first()
            if value is not None and found is None:
                raise item.error(key, f"unknown {key} {value!r}")
            setattr(rule, key, found)
        role = item.str("assignee", None)
        rule.assignee = None
        if role is not None:
            rule.assignee = User.objects.filter(username=f"{tenant.slug}-{role}").first()
            if rule.assignee is None:
                raise item.error("assignee", f"unknown staff role {role!r}")
        rule.category = item.str("category", "")
        rule.channel = item.str("channel", "")
        rule.support_line = item.int("support_line", None)
        rule.notify_roles = item.str_list("notify", [])
        try:
            routing_rule_save(rule=rule, actor=admin)
        except ValidationError as exc:
            raise item.refused(exc, {"notify_roles": "notify"}) from exc
        if rule.position != position:
            routing_rule_move(rule=rule, position=position, actor=admin)


MERGE = "merge"
"""The demo's link "kind" that merges the ticket into the other instead of linking them."""


def _links(data: Section, tickets: list[Ticket], agent: User | None) -> None:
    """The demo's related tickets and merged duplicates (``tickets.links``), made by its
    agent through the link services: ``ticket`` and ``other`` are positions in the order the
    demo tickets are filed (1 is the first), ``kind`` a link kind or ``merge``."""
    if agent is None or not data.has("tickets"):
        return
    for item in data.section("tickets").sections("links"):
        pair = []
        for key in ("ticket", "other"):
            position = item.int(key)
            if not 1 <= position <= len(tickets):
                raise item.error(key, f"no demo ticket {position}; there are {len(tickets)}")
            pair.append(tickets[position - 1])
        kind = item.str("kind")
        if kind != MERGE and kind not in LinkKind.values:
            choices = ", ".join([*LinkKind.values, MERGE])
            raise item.error("kind", f"unknown kind {kind!r}; choose one of {choices}")
        try:
            if kind == MERGE:
                ticket_merge(ticket=pair[0], into=pair[1], actor=agent)
            else:
                ticket_link(ticket=pair[0], other=pair[1], kind=kind, actor=agent)
        except ValidationError as exc:
            raise item.refused(exc, {"other": "other", "into": "other"}) from exc


def _problems(tenant: Tenant, data: Section, tickets: list[Ticket], agent: User | None) -> None:
    """The demo's problems (ITIL problem management, issue #15 item 1), made by its agent
    through the problem services: ``title``, ``status`` (open or known_error), ``root_cause``,
    ``workaround``, and ``incidents``, positions in the order the demo tickets are filed (1 is
    the first), each linked to the problem."""
    if agent is None or not data.has("tickets"):
        return
    for item in data.section("tickets").sections("problems"):
        try:
            problem = problem_save(
                problem=Problem(
                    tenant=tenant, title=item.str("title"), status=item.str("status", "open"),
                    root_cause=item.str("root_cause", ""), workaround=item.str("workaround", ""),
                    assignee=agent,
                ),
                actor=agent,
            )  # fmt: skip
        except ValidationError as exc:
            raise item.refused(exc, {"title": "title", "status": "status"}) from exc
        for position in item.list("incidents", []):
            if not isinstance(position, int) or not 1 <= position <= len(tickets):
                raise item.error(
                    "incidents", f"no demo ticket {position}; there are {len(tickets)}"
                )
            try:
                problem_link(problem=problem, ticket=tickets[position - 1], actor=agent)
            except ValidationError as exc:
                raise item.refused(exc, {"ticket": "incidents"}) from exc


QUOTE_DECISIONS = ("accept", "decline", "")


def _quotes(data: Section, tickets: list[Ticket], agent: User | None) -> None:
    """The demo's quotes for out-of-scope work (Stratsys' "< 2 h without a quote"): each goes
    on the next open out-of-scope demo ticket (the last takes any follow-ups), after
    ``logged_minutes`` of billable time (under the plan's quote-free hours), and the
    customer's ``decision`` (accept, decline, or empty: it waits)."""
    if agent is None or not data.has("tickets"):
        return
    # Read again: the demo's later steps solved or merged some of the filed tickets.
    candidates = list(
        Ticket.objects.filter(
            pk__in=[t.pk for t in tickets],
            category=Category.OUT_OF_SCOPE,
            status__in=ACTIVE_STATUSES,
        ).order_by("pk")
    )
    for item in data.section("tickets").sections("quotes"):
        if not candidates:
            raise item.error(None, "no open out-of-scope demo ticket takes this quote")
        # One quote per ticket in turn; with fewer tickets, the last takes the follow-ups.
        ticket = candidates.pop(0) if len(candidates) > 1 else candidates[0]
        decision = item.str("decision", "")
        if decision not in QUOTE_DECISIONS:
            raise item.error("decision", f"unknown decision {decision!r}; accept or decline")
        try:
            minutes = item.int("logged_minutes", 0)
            if minutes:
                time_entry_log(ticket=ticket, agent=agent, minutes=minutes, billable=True)
            quote_propose(
                ticket=ticket, agent=agent, hours=item.str("hours", ""),
                price=item.str("price", ""), text=item.str("text"),
            )  # fmt: skip
            if decision:
                decide = quote_accept if decision == "accept" else quote_decline
                decide(ticket=ticket, contact=ticket.requester)
        except ValidationError as exc:
            raise item.refused(exc, {}) from exc


def _demo_contact(item: Section, key: str) -> Contact:
    email = item.str(key)
    contact = Contact.objects.filter(email__iexact=email).first()
    if contact is None:
        raise item.error(key, f"no demo contact {email!r}")
    return contact


def _major_incidents(tenant: Tenant, data: Section, agent: User | None) -> None:
    """The demo's major incidents (ITSL's P1 outage hitting several organisations): each is
    filed with the tenant's most urgent priority by its ``requester``, declared by the agent,
    its ``children`` (requester and subject each, of any organisation) filed and linked as
    caused by it, and its ``update`` posted to all of them at once."""
    if agent is None or not data.has("tickets"):
        return
    top = major_incident_priority(tenant_id=tenant.pk)
    now = timezone.now()
    for item in data.section("tickets").sections("major_incidents"):
        try:
            major = _create(
                tenant, _demo_contact(item, "requester"), item.str("subject"),
                Category.INCIDENT, Channel.PHONE, top, now - dt.timedelta(minutes=50), agent,
            )  # fmt: skip
            major = ticket_declare_major_incident(ticket=major, actor=agent)
            for position, child_item in enumerate(item.sections("children")):
                child = _create(
                    tenant, _demo_contact(child_item, "requester"), child_item.str("subject"),
                    Category.INCIDENT, Channel.EMAIL, top,
                    now - dt.timedelta(minutes=45 - 5 * position), agent,
                )  # fmt: skip
                major_incident_link(ticket=major, child=child, actor=agent)
            if item.has("update"):
                major_incident_update(ticket=major, actor=agent, body=item.str("update"))
        except ValidationError as exc:
            raise item.refused(exc, {"body": "update", "other": "children"}) from exc


def _post_incident_reviews(tenant: Tenant, data: Section, agent: User | None) -> None:
    """The demo's review rule (ITSL: P1 and P2, within ``due_working_days``) and its
    ``reviews``: each a ticket of ``priority`` filed by ``requester``, closed, its review
    written (``impact``, ``root_cause``, ``actions``), shared and done as the file says."""
    if agent is None or not data.has("tickets"):
        return
    tickets = data.section("tickets")
    if not tickets.has("post_incident_reviews"):
        return
    item = tickets.section("post_incident_reviews")
    keys = item.str_list("priorities")
    priorities = list(Priority.objects.filter(key__in=keys))
    if len(priorities) != len(set(keys)):
        raise item.error("priorities", f"unknown priorities in {keys!r}")
    try:
        review_policy_save(
            policy=review_policy(tenant=tenant), priorities=priorities,
            due_working_days=item.int("due_working_days"),
        )  # fmt: skip
        now = timezone.now()
        for entry in item.sections("reviews"):
            priority = Priority.objects.get(key=entry.str("priority"))
            ticket = _create(
                tenant, _demo_contact(entry, "requester"), entry.str("subject"),
                Category.INCIDENT, Channel.PHONE, priority, now - dt.timedelta(days=3), agent,
            )  # fmt: skip
            ticket = ticket_change_status(
                ticket=ticket, status=Status.CLOSED, actor=agent, channel=Channel.PORTAL
            )
            review = review_open(ticket=ticket, actor=agent)
            review = review_save(
                review=review, actor=agent, impact=entry.str("impact"),
                timeline=review.timeline, root_cause=entry.str("root_cause"),
                shared_with_customer=entry.bool("shared", False), assignee=agent,
            )  # fmt: skip
            for action in entry.sections("actions"):
                review_action_add(
                    review=review, actor=agent, description=action.str("description"),
                    owner=agent, due_on=now.date() + dt.timedelta(days=action.int("days", 14)),
                )  # fmt: skip
            if entry.bool("done", False):
                review_done(review=review, actor=agent)
    except ValidationError as exc:
        raise item.refused(exc, {}) from exc


def macro_bodies(path: Path) -> list[str]:
    """The bodies of the shared macros in the demo file ``path`` (for checks of the texts)."""
    return [str(item.str("body")) for item in load_demo(path).sections("macros")]


def _texts(data: Section) -> tuple[int, list[tuple[str, str]], list[str]]:
    """(how many tickets, their (subject, category) in turn, the agents' replies)."""
    if not data.has("tickets"):
        return 0, [], []
    tickets = data.section("tickets")
    count = tickets.int("count")
    subjects = []
    for item in tickets.sections("subjects"):
        category = item.str("category")
        if category not in Category.values:
            raise item.error(
                "category",
                f"unknown category {category!r}; choose one of {', '.join(Category.values)}",
            )
        subjects.append((item.str("subject"), category))
    replies = tickets.str_list("replies")
    if count and (not subjects or not replies):
        raise tickets.error("subjects" if not subjects else "replies", "needs at least one")
    return count, subjects, replies


def load(tenant: Tenant, data: Section | None = None) -> list[tuple[str, str]]:
    """Create the tenant's shared macros and demo tickets from ``data`` (default: its demo
    file); no logins are created. Caller holds ``scope(tenant=tenant)``.

    Tickets are filed only while the tenant has none, so a second run adds nothing. A tenant
    without demo data gets nothing.
    """
    data = data if data is not None else tenant_demo(tenant.slug)
    if data is None:
        return []
    agent, admin = _staff(tenant)
    _macros(tenant, data, admin)
    # Before the tickets: the demo's tickets are filed, and routed, as any other.
    _routing_rules(tenant, data, admin)
    count, subjects, replies = _texts(data)
    if Ticket.objects.exists():
        return []
    rng = random.Random(tenant.slug)  # noqa: S311 - demo data; the same on every machine
    contacts = _contacts()
    if not contacts:
        return []
    priorities = list(Priority.objects.all())
    now = timezone.now()
    filed: list[Ticket] = []
    for i in range(count):
        subject, category = subjects[i % len(subjects)]
        # Most arrived in the last hours, some days ago: due times on both sides of now.
        window = rng.choice([3 * 60, 3 * 60, 8 * 60, 24 * 60, 5 * 24 * 60])
        received = now - dt.timedelta(minutes=rng.randint(5, window))
        channel = rng.choice([Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.PHONE])
        try:
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
        except ValidationError as exc:
            where = data.section("tickets").section_at("subjects", i % len(subjects))
            raise where.refused(exc, {"subject": "subject", "category": "category"}) from exc
        filed.append(ticket)
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
            # Escalated to the vendor, and every other one waiting on it (Synerity's Zendesk).
            ticket_vendor_escalate(
                ticket=ticket,
                state=VendorState.WAITING if i % 20 == 6 else VendorState.ESCALATED,
                reference=f"VENDOR-{4000 + i}",
                actor=agent,
            )
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
    _links(data, filed, agent)
    _quotes(data, filed, agent)
    _major_incidents(tenant, data, agent)
    _problems(tenant, data, filed, agent)
    _post_incident_reviews(tenant, data, agent)
    return []
