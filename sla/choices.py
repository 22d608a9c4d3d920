"""The support lines a ticket escalates through; SLA warning rules move tickets between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupportLine(models.IntegerChoices):
    FIRST = 1, _("1st line")
    SECOND = 2, _("2nd line")
    THIRD = 3, _("3rd line")
