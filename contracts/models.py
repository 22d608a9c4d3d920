"""Who is entitled to support: customer organisations, their contacts, plans and contracts.

A tenant configures its support plans (tiers) as rows, never in code: prices, a feature
matrix, named-contact rules, allowed channels and the request categories included in the
price. A contract binds an organisation to a plan for a period. The entitlement check in
``contracts/services.py`` reads all of this to answer "may this person ask this, and what
does it cost?".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from contracts.choices import Category, Channel
from supportdesk.models import Language, Membership, TenantOwned


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
    is_licence_customer = models.BooleanField(
        _("licence customer"),
        default=False,
        help_text=_("Licence customers pay the plan's licence price list."),
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account manager"),
    )
    customer_success_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Customer Success Manager"),
    )
    service_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service owner"),
    )
    project_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("project manager"),
        help_text=_("The first contact while a project runs."),
    )
    project_ends_on = models.DateField(
        _("project ends on"),
        null=True,
        blank=True,
        help_text=_("After this day the project manager is no longer the first contact."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    STAFF_FIELDS = (
        "account_manager",
        "customer_success_manager",
        "service_owner",
        "project_manager",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="organisation_unique_name",
                violation_error_message=_("An organisation with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def domain_list(self) -> list[str]:
        return [d.strip().lower() for d in self.email_domains.split(",") if d.strip()]

    def clean(self) -> None:
        # The people on the account must work for this tenant, not merely exist as users.
        errors: dict[str, Any] = {}
        for field in self.STAFF_FIELDS:
            user_id = getattr(self, f"{field}_id")
            if user_id is None:
                continue
            is_staff = Membership.objects.filter(tenant_id=self.tenant_id, user_id=user_id).exists()
            if not is_staff:
                errors[field] = _("Choose a staff member of this tenant.")
        if errors:
            raise ValidationError(errors)

    def project_runs_on(self, day: dt.date) -> bool:
        """Whether a project with a project manager runs on ``day`` (not yet ended)."""
        if self.project_manager_id is None:
            return False
        return self.project_ends_on is None or self.project_ends_on >= day

    def project_manager_on(self, day: dt.date) -> Any:
        """The project manager while the project runs on ``day``, else None."""
        return self.project_manager if self.project_runs_on(day) else None


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
    trained_on = models.DateField(
        _("training completed on"),
        null=True,
        blank=True,
        help_text=_("Plans that require training admit named contacts trained on or before today."),
    )
    training_notes = models.CharField(
        _("training"),
        max_length=200,
        blank=True,
        help_text=_("Which course or modules, e.g. 'Payroll and Time modules'."),
    )
    follows_organisation = models.BooleanField(
        _("follows the organisation's tickets"),
        default=False,
        help_text=_(
            "A named contact who follows gets every public reply on the organisation's tickets."
        ),
    )
    receives_monthly_report = models.BooleanField(
        _("receives the monthly report"),
        default=False,
        help_text=_(
            "When no contact of the organisation is chosen, its named contacts receive the "
            "monthly report, else its contacts with portal access, else its account manager."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("email"),
                name="contact_unique_email",
                violation_error_message=_("A contact with this e-mail address already exists."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=models.Q(user__isnull=False),
                name="contact_unique_user",
                violation_error_message=_("This portal user already belongs to another contact."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def clean(self) -> None:
        # Foreign-key validation does not look at tenants; a contact never crosses one.
        if self.organisation is not None and self.organisation.tenant_id != self.tenant_id:
            raise ValidationError({"organisation": _("Choose an organisation of this tenant.")})
        if self.receives_monthly_report and self.organisation_id is None:
            raise ValidationError(
                {
                    "receives_monthly_report": _(
                        "Only a contact of an organisation receives its monthly report."
                    )
                }
            )

    def is_trained_on(self, day: dt.date) -> bool:
        return self.trained_on is not None and self.trained_on <= day


class Feature(TenantOwned):
    """One line of a tenant's feature matrix, e.g. "Knowledge centre access".

    Code that gates behaviour on a feature asks by ``key`` (``knowledge_centre``,
    ``monthly_reports``); the name and description are what customers read.
    """

    key = models.SlugField(
        _("key"),
        max_length=60,
        help_text=_("Stable identifier used by the application, e.g. knowledge_centre."),
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"],
                name="feature_unique_key",
                violation_error_message=_("A feature with this key already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RequestType(TenantOwned):
    """A kind of request the tenant names itself ("Training", "Database script"), beyond the
    fixed categories it maps to. A plan's scope table (:class:`PlanRequestType`) marks each
    one included or billable; the type a customer picks decides what the request costs."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=Category.choices,
        default=Category.QUESTION,
        help_text=_("The fixed category a request of this type is filed under."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive types are not offered when filing.")
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("request type")
        verbose_name_plural = _("request types")
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="requesttype_unique_name",
                violation_error_message=_("A request type with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _validate_channels(value: Any) -> None:
    if not isinstance(value, list) or any(v not in Channel.values for v in value):
        raise ValidationError(
            _("Choose channels from: %(choices)s."), params={"choices": ", ".join(Channel.values)}
        )


def _validate_categories(value: Any) -> None:
    if not isinstance(value, list) or any(v not in Category.values for v in value):
        raise ValidationError(
            _("Choose categories from: %(choices)s."),
            params={"choices": ", ".join(Category.values)},
        )


# The audit trail names the values of these lists in the reader's language (supportdesk/audit.py).
_validate_channels.choices = Channel  # type: ignore[attr-defined]
_validate_categories.choices = Category  # type: ignore[attr-defined]


def all_channels() -> list[str]:
    return list(Channel.values)


class SupportPlan(TenantOwned):
    """A support tier as a tenant sells it: price, features, who may ask, how, and about what."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="SEK")
    price_licence = models.DecimalField(
        _("monthly price, licence customers"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    price_non_licence = models.DecimalField(
        _("monthly price, other customers"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    consulting_discount_percent = models.DecimalField(
        _("consulting discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    named_contacts_only = models.BooleanField(
        _("only named contacts may ask"),
        default=False,
        help_text=_("Other contacts of the organisation are turned away."),
    )
    named_contact_limit = models.PositiveIntegerField(
        _("named contact limit"),
        null=True,
        blank=True,
        help_text=_("Empty means no limit. Contracts may add extra places."),
    )
    training_required = models.BooleanField(
        _("named contacts must have completed training"), default=False
    )
    allowed_channels = models.JSONField(
        _("allowed channels"), default=all_channels, blank=True, validators=[_validate_channels]
    )
    included_categories = models.JSONField(
        _("included request categories"),
        default=list,
        blank=True,
        validators=[_validate_categories],
        help_text=_("Requests of other categories are out of scope: allowed, but billed."),
    )
    quote_free_hours = models.DecimalField(
        _("out-of-scope work done without a quote below (hours)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    notify_account_manager_out_of_scope = models.BooleanField(
        _("notify the account manager of out-of-scope requests"), default=False
    )
    sla_policy = models.ForeignKey(
        "sla.SLAPolicy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy"),
        help_text=_("Empty means no response-time promise."),
    )
    is_fallback = models.BooleanField(
        _("rules for customers without a valid contract"),
        default=False,
        help_text=_(
            "At most one plan per tenant. Without one, requests from customers without a "
            "valid contract are refused."
        ),
    )
    features: models.ManyToManyField[Feature, PlanFeature] = models.ManyToManyField(
        Feature, through="PlanFeature", related_name="plans"
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="supportplan_unique_name",
                violation_error_message=_("A plan with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_fallback=True),
                name="supportplan_one_fallback",
                violation_error_message=_(
                    "Another plan already holds the rules for customers without a contract."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(price_licence__gte=0, price_non_licence__gte=0),
                name="supportplan_prices_not_negative",
                violation_error_message=_("Prices cannot be negative."),
            ),
            models.CheckConstraint(
                condition=models.Q(
                    consulting_discount_percent__gte=0, consulting_discount_percent__lte=100
                ),
                name="supportplan_discount_is_a_percentage",
                violation_error_message=_("The discount must be between 0 and 100 percent."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def has_feature(self, key: str) -> bool:
        """Whether the plan's feature matrix ticks ``key`` (uses prefetched rows if any)."""
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "plan_features" in cache:
            return any(pf.feature.key == key for pf in self.plan_features.all())
        return self.plan_features.filter(feature__key=key).exists()

    def allows_channel(self, channel: str) -> bool:
        return channel in self.allowed_channels

    def includes_category(self, category: str) -> bool:
        return category in self.included_categories

    @property
    def channel_labels(self) -> list[str]:
        """The allowed channels as the reader's language names them."""
        labels = dict(Channel.choices)
        return [str(labels.get(c, c)) for c in self.allowed_channels]

    @property
    def category_labels(self) -> list[str]:
        """The included request categories as the reader's language names them."""
        labels = dict(Category.choices)
        return [str(labels.get(c, c)) for c in self.included_categories]

    def scope_table(self) -> list[PlanRequestType]:
        """The plan's scope table, active types only, in the tenant's order (uses prefetched
        rows if any)."""
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "plan_request_types" in cache:
            rows = list(self.plan_request_types.all())
        else:
            rows = list(self.plan_request_types.select_related("request_type"))
        return [row for row in rows if row.request_type.is_active]

    def price_for(self, organisation: Organisation) -> Decimal:
        """The monthly list price for this organisation's price list."""
        if organisation.is_licence_customer:
            return self.price_licence
        return self.price_non_licence


class PlanFeature(TenantOwned):
    """A ticked cell in the feature matrix, with an optional label ("on request", "proactive")."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="plan_features")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="plan_features")
    value = models.CharField(_("value"), max_length=100, blank=True)

    class Meta:
        ordering = ["feature__position", "feature__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "feature"],
                name="planfeature_unique_feature",
                violation_error_message=_("The plan already has this feature."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.feature}" + (f" ({self.value})" if self.value else "")


class PlanRequestType(TenantOwned):
    """A row of a plan's scope table: this request type is included in the price, or billed."""

    plan = models.ForeignKey(
        SupportPlan, on_delete=models.CASCADE, related_name="plan_request_types"
    )
    request_type = models.ForeignKey(
        RequestType, on_delete=models.CASCADE, related_name="plan_request_types"
    )
    included = models.BooleanField(
        _("included"), default=True, help_text=_("Not included means billed.")
    )

    class Meta:
        ordering = ["request_type__position", "request_type__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "request_type"],
                name="planrequesttype_unique_type",
                violation_error_message=_("The plan's scope table already has this type."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.request_type}"


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    EXPIRED = "expired", _("Expired")


CURRENT_STATUSES = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)


class ContractQuerySet(models.QuerySet["Contract"]):
    def current(self) -> ContractQuerySet:
        """Contracts not (yet) marked expired: active or suspended."""
        return self.filter(status__in=CURRENT_STATUSES)

    def past_end(self, day: dt.date) -> ContractQuerySet:
        """Current contracts whose last day is before ``day``; the expiry job flips these."""
        return self.current().filter(ends_on__lt=day)


class ContractManager(models.Manager.from_queryset(ContractQuerySet)):  # type: ignore[misc]
    """Offers the queryset's methods (``current``, ``past_end``) on ``Contract.objects``."""


class Contract(TenantOwned):
    """An organisation's support contract on a plan, for a period.

    At most one current (active or suspended) contract per organisation: the database
    refuses a second one, the services refuse it first with a readable message.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contracts"
    )
    plan = models.ForeignKey(SupportPlan, on_delete=models.PROTECT, related_name="contracts")
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(
        _("ends on"),
        null=True,
        blank=True,
        help_text=_("Last day covered; empty means open-ended."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    suspended_reason = models.CharField(_("reason for suspension"), max_length=300, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suspended by"),
    )
    extra_named_contacts = models.PositiveIntegerField(
        _("extra named contacts"),
        default=0,
        help_text=_("Places on top of the plan's named-contact limit."),
    )
    custom_price = models.DecimalField(
        _("custom monthly price"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Empty means the plan's list price."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopedManager(tenant="tenant", _manager_class=ContractManager)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organisation"],
                condition=models.Q(status__in=["active", "suspended"]),
                name="contract_one_current_per_organisation",
                violation_error_message=_(
                    "This organisation already has a current contract; end it first."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
            models.CheckConstraint(
                condition=models.Q(custom_price__isnull=True) | models.Q(custom_price__gte=0),
                name="contract_price_not_negative",
                violation_error_message=_("The price cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} – {self.plan}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        # Foreign-key validation does not look at tenants; a contract never crosses one.
        if self.organisation_id is not None and self.organisation.tenant_id != self.tenant_id:
            errors["organisation"] = _("Choose an organisation of this tenant.")
        if self.plan_id is not None:
            if self.plan.tenant_id != self.tenant_id:
                errors["plan"] = _("Choose a plan of this tenant.")
            elif self.plan.is_fallback:
                errors["plan"] = _(
                    "The rules for customers without a contract cannot be sold as a contract."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def named_contact_limit(self) -> int | None:
        """The plan's limit plus this contract's extra places; None means no limit."""
        if self.plan.named_contact_limit is None:
            return None
        return self.plan.named_contact_limit + self.extra_named_contacts

    @property
    def monthly_price(self) -> Decimal:
        if self.custom_price is not None:
            return self.custom_price
        return self.plan.price_for(self.organisation)

    def is_expired_on(self, day: dt.date) -> bool:
        """Expired by status, or by date even before the expiry job has flipped it."""
        return self.status == ContractStatus.EXPIRED or (
            self.ends_on is not None and self.ends_on < day
        )

    def is_valid_on(self, day: dt.date) -> bool:
        return (
            self.status == ContractStatus.ACTIVE
            and self.starts_on <= day
            and not self.is_expired_on(day)
        )


class NamedContact(TenantOwned):
    """A contact named on a contract: one of those who may contact support under it."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="named_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="named_on")
    added_at = models.DateTimeField(_("added at"), default=timezone.now, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )

    class Meta:
        ordering = ["contact__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "contract", "contact"],
                name="namedcontact_unique_contact",
                violation_error_message=_("This contact is already a named contact."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact.name} ({self.contract})"


class ContractEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    SUSPENDED = "suspended", _("Suspended")
    RESUMED = "resumed", _("Resumed")
    EXPIRED = "expired", _("Expired")
    NAMED_CONTACT_ADDED = "named_contact_added", _("Named contact added")
    NAMED_CONTACT_REMOVED = "named_contact_removed", _("Named contact removed")


class ContractEvent(TenantOwned):
    """What happened to a contract, by whom and when: the contract's audit trail."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=32, choices=ContractEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.contract}: {self.get_kind_display()}"


class EntitlementChange(TenantOwned):
    """Outbox row: what these organisations are entitled to changed in the transaction that
    wrote it (a contract's plan or status, a plan's SLA policy). Written with the change, so
    the open tickets' move to the policy now in force survives a broker that was away at
    commit; ``done_at`` is set once a listener has acted (``contracts.services``)."""

    organisation_ids = models.JSONField(_("organisations"), default=list)
    # What changed (a contract or a plan, as "app_label.model" and pk): the admin page of
    # that object shows the open tickets' move to the new policy while it runs.
    object_type = models.CharField(_("object type"), max_length=100, blank=True, default="")
    object_id = models.CharField(_("object id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("entitlement change")
        verbose_name_plural = _("entitlement changes")
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(done_at__isnull=True),
                name="contracts_entchange_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_ids} {'done' if self.done_at else 'pending'}"
