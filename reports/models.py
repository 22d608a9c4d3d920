"""Frozen monthly SLA reports (issue #17): a closed month's report is stored when it is
first made and read back ever after, so the page, the CSV, the PDF, the API and the mail
show the same figures however the tickets, priorities or calendars change later.

A snapshot holds codes and numbers only (metric keys, category and status codes, instants
in ISO 8601, minutes; organisation, priority and plan names are the tenant's own data), so
each reader gets it worded in their own language (``reports.services.report_from_data``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contracts.models import Organisation
from supportdesk.models import TenantOwned


class ReportSnapshot(TenantOwned):
    """One version of one month's report, of one organisation or (``organisation`` empty)
    of the whole tenant. Version 1 is made by whoever reads the closed month first; a
    manager's recompute adds the next version. Rows are never changed."""

    month = models.DateField(_("month"))
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("figures"))
    made_at = models.DateTimeField(_("made at"), default=timezone.now)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made by"),
    )

    class Meta:
        ordering = ["month", "-version"]
        verbose_name = _("frozen SLA report")
        verbose_name_plural = _("frozen SLA reports")
        # Two constraints: a null organisation (the tenant-wide report) is distinct from
        # every other null in a plain unique constraint, on SQLite and PostgreSQL alike.
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "organisation", "version"],
                condition=models.Q(organisation__isnull=False),
                name="reportsnapshot_unique_version",
            ),
            models.UniqueConstraint(
                fields=["tenant", "month", "version"],
                condition=models.Q(organisation__isnull=True),
                name="reportsnapshot_unique_tenant_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} v{self.version}"
