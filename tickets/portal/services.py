"""Portal accounts and one-time login links.

A login link is ``<user id>.<token>`` where the token comes from Django's password-reset
token generator, salted per tenant. Its hash covers the user's last login, so the link stops
working the moment anyone logs in as that user: it is one-time without a table of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.formats import date_format
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import Contact, NamedContact, PlanFeature, PlanRequestType, RequestType
from contracts.services import (
    Entitlement,
    contract_for_organisation,
    entitlement_check,
    fallback_plan,
    plan_for_contact,
)
from sla.metrics import METRICS
from sla.models import Calendar, Metric, Priority, SLATarget
from supportdesk.models import Tenant, User
from tickets.choices import Category, Channel, Rating, Status
from tickets.models import EventKind, Ticket
from tickets.services import CONTACT_TRANSITIONS


class _LoginLinkTokens(PasswordResetTokenGenerator):
    def __init__(self, tenant: Tenant) -> None:
        super().__init__()
        # A link for one tenant must not log anybody in on another tenant's site.
        self.key_salt = f"supportdesk.portal.login-link.{tenant.pk}"


def portal_account_ensure(*, contact: Contact) -> User:
    """The contact's portal login, created without a password if they have none.

    Someone who has never set a password logs in with a link sent to their address. An
    existing user with the same e-mail address (a contact of another tenant) is reused, so
    one person keeps one login. Caller holds the contact's tenant scope.
    """
    if contact.user_id is not None:
        return contact.user  # type: ignore[return-value]
    with transaction.atomic():
        email = contact.email.strip().lower()
        user = User.objects.filter(username__iexact=email).first()
        if user is None:
            first, _sep, last = contact.name.strip().partition(" ")
            user = User(username=email, email=email, first_name=first[:150], last_name=last[:150])
            user.set_unusable_password()
            user.save()
        contact.user = user
        contact.save(update_fields=["user"])
    return user


def login_link_token(*, tenant: Tenant, user: User) -> str:
    """The token part of a one-time login link for ``user`` on ``tenant``'s site."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{uid}.{_LoginLinkTokens(tenant).make_token(user)}"


def login_link_url(*, tenant: Tenant, user: User) -> str:
    """A full one-time login link, to put in an e-mail."""
    token = login_link_token(tenant=tenant, user=user)
    path = reverse("portal:login-link", kwargs={"login_token": token})
    return tenant.base_url() + path


def login_link_contact(*, tenant: Tenant, login_token: str) -> Contact | None:
    """The contact a valid, unused login link belongs to, in ``tenant``; else None.

    Caller holds ``tenant``'s scope. Any malformed, expired, used or foreign link is None.
    """
    uid, _sep, token = login_token.partition(".")
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not _LoginLinkTokens(tenant).check_token(user, token):
        return None
    return Contact.objects.filter(user=user).select_related("organisation").first()


def login_link_send(*, tenant: Tenant, email: str) -> bool:
    """Mail a login link to the contact with this address, creating their login if needed.

    Returns whether a link was sent. The caller shows the same answer either way, so the
    page does not tell strangers which addresses are customers. Caller holds the scope.
    """
    # TODO #14: portal -> mail, the reverse of tickets.mail.services.inbound importing this
    # module at its top (portal accounts and login links for senders): a cycle.
    from tickets.mail import services as mail_services

    contact = (
        Contact.objects.filter(email__iexact=email.strip())
        .select_related("organisation", "user")
        .first()
    )
    if contact is None or (contact.user_id is not None and not contact.user.is_active):  # type: ignore[union-attr]
        return False
    user = portal_account_ensure(contact=contact)
    mail_services.login_link_mail(contact=contact, url=login_link_url(tenant=tenant, user=user))
    return True


def cycle_promises(*, ticket: Ticket) -> list[tuple[str, str]]:
    """(label, "today 14:00") for each running clock of a metric that runs in cycles (next
    reply, periodic update), in the registry's order: what the customer is promised next."""
    return [
        (str(rule.promise_label), promise_text(due=due, tenant=ticket.tenant))
        for key, rule in METRICS.items()
        if rule.cycles is not None and (due := ticket.due_of(key)) is not None
    ]


def promise_text(*, due: dt.datetime | None, tenant: Tenant, now: dt.datetime | None = None) -> str:
    """When a promise falls due, the way a person says it: "today 14:00", "Tuesday 10:00",
    "Tuesday 12 March 10:00". In the active language and the tenant's time zone; "" for none.
    """
    if due is None:
        return ""
    zone = ZoneInfo(tenant.time_zone)
    local = timezone.localtime(due, zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    clock = date_format(local, "H:i")
    days = (local.date() - today).days
    if days == 0:
        return _("today %(time)s") % {"time": clock}
    if days == 1:
        return _("tomorrow %(time)s") % {"time": clock}
    if 1 < days < 7:
        return f"{date_format(local, 'l')} {clock}"
    return f"{date_format(local, 'l j F')} {clock}"


@dataclass(frozen=True)
class FilingPreview:
    """What the portal tells a customer before they file: may they, at what cost, and when
    will they hear from support."""

    entitlement: Entitlement
    priority: Priority | None
    first_response_due: dt.datetime | None
    promise: str
    target: str


def filing_preview(
    *,
    contact: Contact,
    category: str,
    priority: Priority | None,
    channel: str = Channel.PORTAL,
    at: dt.datetime | None = None,
    request_type: RequestType | None = None,
) -> FilingPreview:
    """The entitlement answer and the first-response promise for a request filed ``at`` (now).

    The due time is computed as the ticket's clock would start it: the policy's target for
    the priority (or the tenant's default priority), added in business time on the target's
    calendar. Caller holds the tenant scope.
    """
    at = at or timezone.now()
    entitlement = entitlement_check(
        contact=contact, channel=channel, category=category, at=at, request_type=request_type
    )
    if priority is None:
        priority = Priority.objects.filter(is_default=True).first()
    due = None
    target_text = ""
    policy = entitlement.sla_policy
    if entitlement.allowed and policy is not None:
        target = policy.target_for(
            metric=Metric.FIRST_RESPONSE, priority_id=priority.pk if priority else None
        )
        if target is not None:
            engine = target.effective_calendar().engine
            due = engine.add(at, target.budget(start=at, engine=engine))
            target_text = target.describe()
    return FilingPreview(
        entitlement=entitlement,
        priority=priority,
        first_response_due=due,
        promise=promise_text(due=due, tenant=contact.tenant, now=at),
        target=target_text,
    )


def filing_scope_table(*, contact: Contact, at: dt.datetime | None = None) -> list[PlanRequestType]:
    """The scope table of the plan the contact files under (empty: the plan has none)."""
    plan = plan_for_contact(contact=contact, at=at)
    return plan.scope_table() if plan is not None else []


def contact_sees_organisation(*, contact: Contact) -> bool:
    """Whether the contact is a named contact, who sees every ticket of the organisation."""
    return NamedContact.objects.filter(contact=contact).exists()


@dataclass(frozen=True)
class StatusAction:
    status: str
    label: str
    secondary: bool


def contact_status_actions(*, ticket: Ticket) -> list[StatusAction]:
    """The status buttons a customer gets on a ticket, from the tickets state machine."""
    labels = {
        Status.SOLVED: (_("My issue is solved, close the ticket"), True),
        Status.OPEN: (_("Reopen the ticket"), False),
        Status.CLOSED: (_("Confirm it is closed"), True),
    }
    allowed = CONTACT_TRANSITIONS.get(ticket.status, frozenset())
    if ticket.status == Status.PENDING:
        # A reply reopens a ticket that waits on the customer; a bare "reopen" says nothing.
        allowed = allowed - {Status.OPEN}
    return [
        StatusAction(status=str(status), label=str(labels[status][0]), secondary=labels[status][1])
        for status in (Status.OPEN, Status.SOLVED, Status.CLOSED)
        if status in allowed and status in labels
    ]


@dataclass(frozen=True)
class DayHours:
    day: str
    hours: list[str]


@dataclass(frozen=True)
class SpecialDay:
    day: dt.date
    name: str
    hours: list[str]  # empty: closed all day


@dataclass
class ContractOverview:
    """Everything the contract page shows, read in one place."""

    organisation: Any
    contract: Any
    plan: Any
    is_valid: bool
    features: list[Any]
    named_contacts: list[Any]
    named_limit: int | None
    is_named: bool
    week: list[DayHours]
    special_days: list[SpecialDay]
    time_zone: str
    targets: list[tuple[str, str, str]]  # (priority, metric, promise)
    channels: list[str]
    people: list[tuple[str, str]]  # (role, name)
    tenant: Tenant


_WEEKDAY_LABELS = {
    "mon": gettext_lazy("Monday"),
    "tue": gettext_lazy("Tuesday"),
    "wed": gettext_lazy("Wednesday"),
    "thu": gettext_lazy("Thursday"),
    "fri": gettext_lazy("Friday"),
    "sat": gettext_lazy("Saturday"),
    "sun": gettext_lazy("Sunday"),
}

WEEKDAY_KEYS = tuple(_WEEKDAY_LABELS)
SPECIAL_DAYS_AHEAD = 60
SPECIAL_DAY_NAMES = {
    "holiday": gettext_lazy("Public holiday"),
    "eve": gettext_lazy("Day before a public holiday"),
    "closure": gettext_lazy("Closed"),
    "override": gettext_lazy("Changed hours"),
}


def _support_calendar(plan: Any) -> Any:
    if plan is not None and plan.sla_policy_id is not None:
        return plan.sla_policy.calendar
    return Calendar.objects.filter(is_default=True).first()


def _hours_of(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[str]:
    return [
        f"{start:%H:%M}–{end:%H:%M}" if end.hour or end.minute else f"{start:%H:%M}–24:00"
        for start, end in intervals
    ]


def contract_overview(*, contact: Contact, today: dt.date | None = None) -> ContractOverview:
    """The contact's organisation's contract as the portal shows it: plan and features,
    named contacts, support hours with the next closed days, promises, how to reach us.

    Without a valid contract the tenant's rules for customers without one are shown.
    Caller holds the tenant scope.
    """
    tenant = contact.tenant
    zone = ZoneInfo(tenant.time_zone)
    today = today or timezone.localtime(timezone.now(), zone).date()
    organisation = contact.organisation
    contract = (
        contract_for_organisation(organisation=organisation, day=today)
        if organisation is not None
        else None
    )
    is_valid = contract is not None and contract.is_valid_on(today)
    plan = contract.plan if contract is not None else fallback_plan(tenant=tenant)
    features = list(PlanFeature.objects.filter(plan=plan).select_related("feature")) if plan else []
    named = (
        list(NamedContact.objects.filter(contract=contract).select_related("contact"))
        if contract is not None
        else []
    )
    calendar = _support_calendar(plan)
    week: list[DayHours] = []
    special: list[SpecialDay] = []
    if calendar is not None:
        engine = calendar.engine
        config = engine.to_dict()
        for key, day_label in _WEEKDAY_LABELS.items():
            spans = config["week"].get(key) or []
            week.append(DayHours(day=str(day_label), hours=[s.replace("-", "–") for s in spans]))
        for offset in range(SPECIAL_DAYS_AHEAD + 1):
            day = today + dt.timedelta(days=offset)
            kind, name = engine.day_kind(day)
            weekday_opens = bool(config["week"].get(WEEKDAY_KEYS[day.weekday()]))
            if kind not in SPECIAL_DAY_NAMES or not weekday_opens:
                continue
            # Holidays have their own names; closures carry only date labels.
            if kind == "holiday" and name:
                label = name
            elif kind == "eve" and name:
                label = _("Day before %(holiday)s") % {"holiday": name.removesuffix(" eve")}
            else:
                label = str(SPECIAL_DAY_NAMES[kind])
            hours = _hours_of(engine.intervals_on(day))
            special.append(SpecialDay(day=day, name=label, hours=hours))
    targets: list[tuple[str, str, str]] = []
    if plan is not None and plan.sla_policy_id is not None:
        for target in (
            SLATarget.objects.filter(policy_id=plan.sla_policy_id)
            .select_related("priority")
            .order_by("metric", "priority__rank")
        ):
            priority = str(target.priority) if target.priority_id else _("All priorities")
            targets.append((priority, str(target.get_metric_display()), target.describe()))
    people: list[tuple[str, str]] = []
    if organisation is not None:
        for field in ("account_manager", "customer_success_manager", "service_owner"):
            person = getattr(organisation, field, None)
            if person is not None:
                role = getattr(organisation._meta.get_field(field), "verbose_name", field)
                people.append((str(role).capitalize(), str(person)))
        manager = organisation.project_manager_on(today)
        if manager is not None:
            people.append((str(_("Project manager")), str(manager)))
    channels = [str(Channel(c).label) for c in (plan.allowed_channels if plan else Channel.values)]
    return ContractOverview(
        organisation=organisation,
        contract=contract,
        plan=plan,
        is_valid=is_valid,
        features=features,
        named_contacts=named,
        named_limit=contract.named_contact_limit if contract is not None else None,
        is_named=any(n.contact_id == contact.pk for n in named),
        week=week,
        special_days=special,
        time_zone=calendar.engine.tzname if calendar is not None else tenant.time_zone,
        targets=targets,
        channels=channels,
        people=people,
        tenant=tenant,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    who: str
    by_staff: bool
    title: str
    change: str
    message: Any

    @property
    def text(self) -> str:
        """The message as plain text, for the downloadable history."""
        return self.message.plain_text() if self.message is not None else ""


def _value_label(kind: str, value: str) -> str:
    if kind == EventKind.STATUS_CHANGED and value in Status.values:
        return str(Status(value).label)
    if kind == EventKind.CONVERTED and value in Category.values:
        return str(Category(value).label)
    if kind == EventKind.RATED and value in Rating.values:
        return str(Rating(value).label)
    return value


def ticket_timeline(*, ticket: Ticket) -> list[TimelineEntry]:
    """The public history of a ticket as the customer reads it, oldest first."""
    entries = []
    for event in ticket.timeline(public_only=True):
        change = ""
        # A merge's new value names the ticket merged into, which may be another
        # organisation's: the customer reads the notice that carries no reference instead.
        if event.kind not in (EventKind.CREATED, EventKind.REPLIED, EventKind.MERGED) and (
            event.old_value or event.new_value
        ):
            old = _value_label(event.kind, event.old_value) or "–"
            new = _value_label(event.kind, event.new_value) or "–"
            change = f"{old} → {new}"
        entries.append(
            TimelineEntry(
                at=event.at,
                who=event.actor_name,
                by_staff=event.by_staff,
                title=str(event.get_kind_display()),
                change=change,
                message=event.message,
            )
        )
    return entries
