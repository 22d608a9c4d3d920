"""When support is due: business calendars and SLA policies, stored per tenant."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from supportdesk.models import TenantOwned


class Calendar(TenantOwned):
    """Opening hours in the SLA-engine format (see ``sla/calendar.py``)."""

    name = models.CharField(_("name"), max_length=100)
    config = models.JSONField(_("configuration"))
    is_default = models.BooleanField(_("tenant default"), default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="calendar_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="calendar_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .calendar import BusinessCalendar

        try:
            BusinessCalendar.from_dict(self.config)
        except ValueError as exc:
            raise ValidationError({"config": str(exc)}) from exc

    @property
    def engine(self) -> Any:
        """The compiled calendar (cached by configuration)."""
        from .calendar import BusinessCalendar

        return BusinessCalendar.from_dict(self.config)


class SLAPolicy(TenantOwned):
    """A set of response/resolution targets per priority; plans point at one."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("calendar")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="slapolicy_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
