"""Tenants and the people who work in them.

Every tenant-owned model derives from :class:`TenantOwned`: a direct ``tenant`` foreign key
and a django-scopes manager, so a query with no active tenant raises ``ScopeError`` instead
of returning every tenant's rows.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, TypeVar, cast
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SWEDISH = "sv", _("Swedish")
    DUTCH = "nl", _("Dutch")


TEXT_SEARCH_CONFIG: dict[str, str] = {
    Language.ENGLISH: "english",
    Language.SWEDISH: "swedish",
    Language.DUTCH: "dutch",
}
"""PostgreSQL's text-search configuration (stemmer and stop words) for each language; a
language without one is searched with ``"simple"`` (lower case, no stemming)."""


class User(AbstractUser):
    """A person who can log in: staff of a tenant, a customer contact, or both."""

    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, blank=True, default=""
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username

    def belongs_to(self, tenant: Tenant) -> bool:
        """Staff of ``tenant`` or a customer contact in it."""
        return (
            self.memberships.filter(tenant=tenant).exists()
            or self.contacts.filter(tenant=tenant).exists()  # type: ignore[attr-defined]
        )


def validate_time_zone(value: str) -> None:
    """An IANA time zone name ("Europe/Stockholm"); any other string would only fail later,
    when a due time or a report is computed in it (ZoneInfoNotFoundError)."""
    if value not in available_timezones():
        raise ValidationError(
            _("Unknown time zone %(value)s; use a name such as Europe/Stockholm."),
            code="invalid_time_zone",
            params={"value": value},
        )


class Tenant(models.Model):
    """A support provider running its customer support on supportdesk."""

    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    default_language = models.CharField(
        _("default language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Stockholm", validators=[validate_time_zone]
    )
    ticket_prefix = models.CharField(_("ticket prefix"), max_length=10, default="SD")
    support_email = models.EmailField(_("support e-mail address"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=40, blank=True)
    allow_unknown_senders = models.BooleanField(
        _("accept e-mail from unknown senders"),
        default=False,
        help_text=_(
            "Otherwise only senders whose address or domain belongs to a known organisation."
        ),
    )
    auto_reply_repeat_limit = models.PositiveSmallIntegerField(
        _("confirmations per hour for the same sender and subject"),
        default=3,
        help_text=_(
            "Every distinct e-mail gets its confirmation; beyond this many about the same "
            "subject to the same address in an hour, the ticket notes that none was sent."
        ),
    )
    auto_reply_repeat_hours = models.PositiveSmallIntegerField(
        _("hours in which the same text again is a repeat"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text=_(
            "The same text from the same sender within this many hours is an unmarked "
            "auto-reply: kept on the sender's ticket, never answered (1 to 168)."
        ),
    )
    satisfaction_survey = models.BooleanField(
        _("ask customers how we did"),
        default=True,
        help_text=_(
            "After a ticket is solved, its requester gets one e-mail and a question on the "
            "portal: good or bad, with an optional comment."
        ),
    )
    vendor_wait_pauses_resolution = models.BooleanField(
        _("waiting on the vendor pauses the resolution clock"),
        default=False,
        help_text=_(
            "While a ticket waits on the upstream vendor, its resolution target does not "
            "count down. Applies from the next change of a ticket's vendor escalation."
        ),
    )
    vendor_update_days = models.PositiveSmallIntegerField(
        _("business days between customer updates while waiting on the vendor"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_(
            "On plans with proactive vendor updates, the assignee is reminded when the "
            "customer has had no public update for this many business days (1 to 30)."
        ),
    )
    problem_suggest_count = models.PositiveSmallIntegerField(
        _("incidents that suggest a problem"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "When this many active incidents without a problem arrive within the window below, "
            "with the same category and organisation or with similar subjects, the problem "
            "list suggests opening a problem for them. 0 turns suggestions off."
        ),
    )
    problem_suggest_hours = models.PositiveSmallIntegerField(
        _("suggestion window in hours"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text=_("How far back the incidents of a suggestion may have arrived (1 to 720)."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def base_url(self) -> str:
        """The tenant's own address, as a person would type it."""
        host = self.hosts.order_by("pk").values_list("hostname", flat=True).first()
        if host is None:
            host = f"{self.slug}.{settings.TENANT_DOMAIN}"
        port = settings.SITE_PORT
        suffix = "" if port in (80, 443) or settings.SITE_SCHEME == "https" else f":{port}"
        return f"{settings.SITE_SCHEME}://{host}{suffix}"


class TenantHost(models.Model):
    """A custom host name that routes to a tenant (besides ``<slug>.<TENANT_DOMAIN>``).

    This is the routing table read before any tenant is known, so it is not scoped.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="hosts")
    hostname = models.CharField(_("host name"), max_length=253, unique=True)

    def __str__(self) -> str:
        return self.hostname

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.hostname = self.hostname.lower().strip().rstrip(".")
        super().save(*args, **kwargs)


_M = TypeVar("_M", bound=models.Manager[Any])


def scoped_manager(manager_class: type[_M] | None = None) -> _M:
    """A django-scopes manager filtering on ``tenant``, typed as the manager it extends.

    Use it for every tenant-owned model with its own manager:
    ``objects = scoped_manager(TicketManager)``.
    """
    if manager_class is None:
        return cast(_M, ScopedManager(tenant="tenant"))
    return cast(_M, ScopedManager(tenant="tenant", _manager_class=manager_class))


class TenantOwned(models.Model):
    """Base of every tenant-owned table: direct tenant key, fail-closed manager."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant")
    )

    objects: models.Manager[Any] = scoped_manager(models.Manager)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")


AGENT_ROLES: tuple[str, ...] = (Role.ADMIN, Role.AGENT)
"""Who is an agent: those who work tickets, agents and admins alike."""


class MembershipManager(models.Manager["Membership"]):
    def agents(self) -> models.QuerySet[Membership]:
        """The memberships of agents (:data:`AGENT_ROLES`) in the tenant in scope."""
        return self.filter(role__in=AGENT_ROLES)


class Membership(TenantOwned):
    """A user's role in one tenant; a user may hold memberships in several tenants."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = scoped_manager(MembershipManager)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_agent(self) -> bool:
        """Works tickets (:data:`AGENT_ROLES`)."""
        return self.role in AGENT_ROLES


def _hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenManager(models.Manager["ApiToken"]):
    def find(self, key: str) -> ApiToken | None:
        """The token for a presented key. Only its hash is stored."""
        return self.select_related("tenant", "user").filter(key_hash=_hash_token(key)).first()


class ApiToken(models.Model):
    """An API key for one user in one tenant: the token decides the tenant.

    Looked up before any tenant is known (like :class:`TenantHost`), so not scoped; every
    query on it goes through :meth:`ApiTokenManager.find` or filters by tenant explicitly.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenManager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, tenant: Tenant, user: Any, name: str) -> tuple[ApiToken, str]:
        """Create a token and return it with the clear key, shown to the user once."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            tenant=tenant, user=user, name=name, key_hash=_hash_token(key), prefix=key[:8]
        )
        return token, key


class AuditAction(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    DELETED = "deleted", _("Deleted")


class AuditEvent(TenantOwned):
    """Who changed which configuration row, when, and what changed (field: [old, new]).

    Written by the services in the same transaction as the change; nothing updates or
    deletes these rows. Tickets and contracts keep their own, richer timelines.
    """

    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(_("kind of object"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=40)
    object_repr = models.CharField(_("object"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at"], name="audit_recent"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


class IdempotencyKey(TenantOwned):
    """The first response to an API POST sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the request's effects, so a stored response means
    the effect happened and no stored response means it did not. Kept 24 hours.
    """

    owner = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the path and the body
    status_code = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "owner", "key"], name="idempotency_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
