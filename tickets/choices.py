"""Fixed vocabularies shared by tickets, contracts (scope, channels) and the SLA clocks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    CHAT = "chat", _("Chat")


class Category(models.TextChoices):
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    PROBLEM = "problem", _("Problem")
    CHANGE_REQUEST = "change_request", _("Change request")
    BUG = "bug", _("Bug / issue")
    FEATURE_REQUEST = "feature_request", _("Feature request")
    OUT_OF_SCOPE = "out_of_scope", _("Out-of-scope work")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class SupportLine(models.IntegerChoices):
    FIRST = 1, _("1st line")
    SECOND = 2, _("2nd line")
    THIRD = 3, _("3rd line")


class Rating(models.TextChoices):
    """A customer's answer to "How did we do?" after a ticket was solved."""

    GOOD = "good", _("Good")
    BAD = "bad", _("Bad")
