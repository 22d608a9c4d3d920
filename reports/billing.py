"""The monthly billing export (issue #15 item 7): per organisation, the billable and
non-billable time logged in one month (the tenant's months, as the time report) and the
billable (out-of-scope) tickets behind it, with the quotes the customer accepted.

One grouped query over the month's time entries and one for the accepted quotes, whatever
the number of organisations and tickets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.choices import Category
from contracts.models import Organisation
from supportdesk.forms import is_plain_number
from supportdesk.models import Tenant
from tickets.models import Quote, QuoteStatus, TimeEntry

from .forms import MonthForm
from .selectors import month_following


@dataclass
class BillingTicket:
    ticket_id: int
    reference: str
    subject: str
    category: str
    billable: int  # minutes
    non_billable: int
    quotes: list[str] = field(default_factory=list)  # accepted quotes, in words


@dataclass
class BillingOrganisation:
    organisation_id: int | None
    name: str
    billable: int = 0
    non_billable: int = 0
    tickets: list[BillingTicket] = field(default_factory=list)


@dataclass
class BillingExport:
    month: dt.date
    organisations: list[BillingOrganisation]

    @property
    def period_label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def billable(self) -> int:
        return sum(o.billable for o in self.organisations)


def billing_export_for_month(
    *, tenant: Tenant, month: dt.date, organisation_id: int | None = None
) -> BillingExport:
    """Billable time and billable tickets of ``tenant`` per organisation in the month
    starting ``month`` (one organisation's when given). Caller holds the tenant's scope and
    has checked the reader is a manager or an admin."""
    entries = TimeEntry.objects.filter(
        tenant=tenant, work_date__gte=month, work_date__lt=month_following(month)
    )
    if organisation_id is not None:
        entries = entries.filter(ticket__organisation_id=organisation_id)
    grouped = (
        entries.values(
            "ticket_id", "ticket__reference", "ticket__subject", "ticket__category",
            "ticket__billable", "ticket__organisation_id", "ticket__organisation__name",
        )
        .annotate(
            billable_minutes=Sum("minutes", filter=Q(billable=True), default=0),
            non_billable_minutes=Sum("minutes", filter=Q(billable=False), default=0),
        )
        .order_by()
    )  # fmt: skip
    rows = list(grouped)
    quotes: dict[int, list[str]] = {}
    for quote in Quote.objects.filter(
        ticket_id__in=[r["ticket_id"] for r in rows], status=QuoteStatus.ACCEPTED
    ).order_by("proposed_at", "id"):
        quotes.setdefault(quote.ticket_id, []).append(quote.summary)
    organisations: dict[int | None, BillingOrganisation] = {}
    for row in rows:
        org = organisations.setdefault(
            row["ticket__organisation_id"],
            BillingOrganisation(
                row["ticket__organisation_id"],
                row["ticket__organisation__name"] or _("No organisation"),
            ),
        )
        org.billable += row["billable_minutes"]
        org.non_billable += row["non_billable_minutes"]
        if row["ticket__billable"] or row["billable_minutes"]:
            org.tickets.append(
                BillingTicket(
                    ticket_id=row["ticket_id"],
                    reference=row["ticket__reference"] or "",
                    subject=row["ticket__subject"],
                    category=str(Category(row["ticket__category"]).label),
                    billable=row["billable_minutes"],
                    non_billable=row["non_billable_minutes"],
                    quotes=quotes.get(row["ticket_id"], []),
                )
            )
    for org in organisations.values():
        org.tickets.sort(key=lambda t: t.reference)
    ordered = sorted(
        organisations.values(), key=lambda o: (o.organisation_id is None, o.name.casefold())
    )
    return BillingExport(month=month, organisations=ordered)


def billing_export_for_query(
    *, tenant: Tenant, query: QueryDict
) -> tuple[BillingExport | None, MonthForm]:
    """The billing export of the month (and ``organisation``) in a page's or the API's query,
    and its month form: None with the form's errors. Http404 for an organisation the tenant
    does not have (the scope hides the others)."""
    form = MonthForm(query, today=timezone.localdate(timezone=ZoneInfo(tenant.time_zone)))
    raw_org = query.get("organisation", "")
    if raw_org and not (
        is_plain_number(raw_org) and Organisation.objects.filter(pk=raw_org).exists()
    ):
        raise Http404
    if not form.is_valid():
        return None, form
    export = billing_export_for_month(
        tenant=tenant, month=form.cleaned_data["month"],
        organisation_id=int(raw_org) if raw_org else None,
    )  # fmt: skip
    return export, form
