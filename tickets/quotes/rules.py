"""The "< 2 h without a quote" rule, read: how much billable time an out-of-scope ticket may
carry before the customer has accepted a quote (Stratsys: 2 h, ``SupportPlan.quote_free_hours``).

- The rule applies to a ticket whose category the plan in force does not include (out of
  scope) and whose plan sets quote-free hours; empty hours means no cap.
- The allowance is the quote-free hours plus the hours of every quote the customer accepted;
  an accepted quote without hours (a fixed price) lifts the cap.
- Only billable time counts and is capped: non-billable time is always allowed.

Read by :func:`tickets.services.time_entry_log` under the ticket's row lock, so two agents
logging at once cannot both squeeze under the cap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from contracts.services import entitlement_check
from supportdesk.models import User

from ..models import Quote, QuoteStatus, Ticket, TimeEntry


def _minutes(hours: Decimal) -> int:
    return int(hours * 60)


@dataclass(frozen=True)
class QuoteCap:
    """The rule as it stands for one ticket now."""

    out_of_scope: bool
    threshold_minutes: int | None  # the plan's quote-free time; None = no rule
    allowed_minutes: int | None  # threshold plus accepted quotes; None = no cap
    logged_minutes: int  # billable minutes logged so far
    notify: list[User] = field(default_factory=list)  # the account manager, if the plan asks

    def refuses(self, minutes: int) -> bool:
        return self.allowed_minutes is not None and self.logged_minutes + minutes > (
            self.allowed_minutes
        )


def quote_cap(*, ticket: Ticket, at: dt.datetime) -> QuoteCap:
    """The billable-time allowance of ``ticket`` at ``at``. Caller holds the tenant scope."""
    logged = (
        TimeEntry.objects.filter(ticket=ticket, billable=True).aggregate(
            total=Sum("minutes", default=0)
        )["total"]
        or 0
    )
    entitlement = entitlement_check(
        contact=ticket.requester, channel=ticket.channel, category=ticket.category, at=at
    )
    plan = entitlement.plan
    if plan is None or plan.includes_category(ticket.category):
        return QuoteCap(False, None, None, logged)
    if plan.quote_free_hours is None:
        return QuoteCap(True, None, None, logged, entitlement.notify)
    threshold = _minutes(plan.quote_free_hours)
    accepted = list(
        Quote.objects.filter(ticket=ticket, status=QuoteStatus.ACCEPTED).values_list(
            "hours", flat=True
        )
    )
    allowed: int | None = threshold
    if any(hours is None for hours in accepted):
        allowed = None
    else:
        allowed = threshold + sum(_minutes(h) for h in accepted if h is not None)
    return QuoteCap(True, threshold, allowed, logged, entitlement.notify)
