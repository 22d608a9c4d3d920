from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Read-only reports over the other apps' rows (a leaf: nothing imports it)."""

    name = "reports"
