"""Choices the SLA app owns: the support lines a ticket escalates through (SLA warning rules
move tickets between them) and the metrics a target can promise (their rules: sla/metrics.py)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupportLine(models.IntegerChoices):
    FIRST = 1, _("1st line")
    SECOND = 2, _("2nd line")
    THIRD = 3, _("3rd line")


class Metric(models.TextChoices):
    """What a target promises. Each value has one rule in :mod:`sla.metrics`, which says when
    its clock starts, pauses, stops and starts again."""

    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")
    NEXT_REPLY = "next_reply", _("Next reply")
    PERIODIC_UPDATE = "periodic_update", _("Periodic update")
