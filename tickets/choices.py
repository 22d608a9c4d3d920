"""Fixed vocabularies of tickets. Channel and Category belong to contracts (what a plan covers),
SupportLine to sla (escalation moves a ticket between lines); they are re-exported here so
tickets code keeps one import."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from contracts.choices import Category, Channel
from sla.choices import SupportLine

__all__ = ["Category", "Channel", "Rating", "Status", "SupportLine", "VendorState"]


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class Rating(models.TextChoices):
    """A customer's answer to "How did we do?" after a ticket was solved."""

    GOOD = "good", _("Good")
    BAD = "bad", _("Bad")


class VendorState(models.TextChoices):
    """Where the ticket stands with the upstream vendor (Synerity: Zendesk)."""

    NONE = "none", _("Not escalated to the vendor")
    ESCALATED = "escalated", _("Escalated to the vendor")
    WAITING = "waiting", _("Waiting on the vendor")
    FIXED = "fixed", _("Fixed by the vendor")
