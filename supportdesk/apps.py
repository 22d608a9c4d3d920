from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportdeskConfig(AppConfig):
    name = "supportdesk"
    verbose_name = _("Tenancy and people")
