"""Who is entitled to support: customer organisations, their contacts and contracts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supportdesk.models import Language, TenantOwned


class Organisation(TenantOwned):
    """A customer organisation of a tenant."""

    name = models.CharField(_("name"), max_length=200)
    org_number = models.CharField(_("organisation number"), max_length=40, blank=True)
    email_domains = models.CharField(
        _("e-mail domains"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated; senders from these domains are known to belong here."),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, blank=True, default=""
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="organisation_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def domain_list(self) -> list[str]:
        return [d.strip().lower() for d in self.email_domains.split(",") if d.strip()]


class Contact(TenantOwned):
    """A person at a customer organisation; may have a portal login (``user``)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contacts", null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("portal user"),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("email"), name="contact_unique_email"),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=models.Q(user__isnull=False),
                name="contact_unique_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
