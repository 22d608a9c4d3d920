"""Vocabularies an entitlement speaks: the channels a plan allows and the categories in scope."""

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
