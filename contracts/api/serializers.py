"""API shapes of organisations, contacts, plans, contracts and the entitlement check.

Every related id is looked up in the request's tenant only, so another tenant's id is
"does not exist" (400), never a cross-tenant link. Serializers parse; services write.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from contracts.choices import Category, Channel
from sla.models import SLAPolicy
from supportdesk.models import User

from ..models import (
    Contact,
    Contract,
    Feature,
    NamedContact,
    Organisation,
    RequestType,
    SupportPlan,
)


class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key of ``model`` looked up among the request tenant's rows only."""

    def __init__(self, model: type[Model], **kwargs: Any) -> None:
        self.model = model
        self.extra_filter: dict[str, Any] = kwargs.pop("extra_filter", {})
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return self.model._default_manager.none()
        return self.model._default_manager.filter(tenant=tenant, **self.extra_filter)


class StaffField(serializers.PrimaryKeyRelatedField):
    """A user id that must belong to a staff member of the request's tenant."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", User.objects.none())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        tenant = getattr(self.context.get("request"), "tenant", None)
        if tenant is None:
            return User.objects.none()
        return User.objects.filter(memberships__tenant=tenant).distinct()


class OrganisationSerializer(serializers.ModelSerializer):
    account_manager = StaffField()
    customer_success_manager = StaffField()
    service_owner = StaffField()
    project_manager = StaffField()

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "org_number",
            "email_domains",
            "is_licence_customer",
            "language",
            "notes",
            "account_manager",
            "customer_success_manager",
            "service_owner",
            "project_manager",
            "project_ends_on",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class ContactSerializer(serializers.ModelSerializer):
    organisation = TenantRelatedField(Organisation, required=False, allow_null=True)
    has_portal_login = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "organisation",
            "name",
            "email",
            "phone",
            "language",
            "trained_on",
            "training_notes",
            "follows_organisation",
            "receives_monthly_report",
            "has_portal_login",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_has_portal_login(self, contact: Contact) -> bool:
        return contact.user_id is not None


class FeatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feature
        fields = ["id", "key", "name", "description", "position"]


class PlanFeatureSerializer(serializers.Serializer):
    """A ticked cell of the feature matrix: the feature's key and an optional label."""

    key = serializers.SlugField(max_length=60, source="feature.key")
    value = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # In a PATCH DRF skips required fields and defaults of nested items too; a cell
        # still needs its key, and its value defaults to no label.
        if "feature" not in attrs:
            raise serializers.ValidationError({"key": [_("This field is required.")]})
        attrs.setdefault("value", "")
        return attrs


class RequestTypeSerializer(serializers.ModelSerializer):
    category_label = serializers.CharField(source="get_category_display", read_only=True)

    class Meta:
        model = RequestType
        fields = [
            "id",
            "name",
            "description",
            "category",
            "category_label",
            "position",
            "is_active",
        ]


class PlanScopeRowSerializer(serializers.Serializer):
    """A row of the plan's scope table: a request type, included in the price or billed."""

    request_type = TenantRelatedField(RequestType)
    request_type_name = serializers.CharField(source="request_type.name", read_only=True)
    included = serializers.BooleanField(default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # In a PATCH DRF skips required fields and defaults of nested items too.
        if "request_type" not in attrs:
            raise serializers.ValidationError({"request_type": [_("This field is required.")]})
        attrs.setdefault("included", True)
        return attrs


class SupportPlanSerializer(serializers.ModelSerializer):
    allowed_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False
    )
    included_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), required=False
    )
    sla_policy = TenantRelatedField(SLAPolicy, required=False, allow_null=True)
    features = PlanFeatureSerializer(many=True, required=False, source="plan_features")
    scope = PlanScopeRowSerializer(
        many=True,
        required=False,
        source="plan_request_types",
        help_text="The scope table: request types included in the price or billed. Sending it "
        "replaces the table; an empty list removes it (the included categories decide).",
    )

    class Meta:
        model = SupportPlan
        fields = [
            "id",
            "name",
            "description",
            "position",
            "currency",
            "price_licence",
            "price_non_licence",
            "consulting_discount_percent",
            "named_contacts_only",
            "named_contact_limit",
            "training_required",
            "allowed_channels",
            "included_categories",
            "quote_free_hours",
            "notify_account_manager_out_of_scope",
            "sla_policy",
            "is_fallback",
            "features",
            "scope",
        ]

    def validate_scope(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [item["request_type"].pk for item in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Each request type may appear once."))
        return value

    def validate_features(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = [item["feature"]["key"] for item in value]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError(_("Each feature may appear once."))
        return value


class ContractSerializer(serializers.ModelSerializer):
    organisation = TenantRelatedField(Organisation)
    plan = TenantRelatedField(SupportPlan, extra_filter={"is_fallback": False})
    named_contact_limit = serializers.IntegerField(read_only=True, allow_null=True)
    named_contacts_used = serializers.SerializerMethodField()
    monthly_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "organisation",
            "plan",
            "starts_on",
            "ends_on",
            "status",
            "suspended_reason",
            "suspended_at",
            "extra_named_contacts",
            "custom_price",
            "monthly_price",
            "named_contact_limit",
            "named_contacts_used",
            "notes",
            "created_at",
        ]
        read_only_fields = ["status", "suspended_reason", "suspended_at", "created_at"]

    def get_named_contacts_used(self, contract: Contract) -> int:
        annotated = getattr(contract, "named_count", None)
        return annotated if annotated is not None else contract.named_contacts.count()

    def validate_organisation(self, organisation: Organisation) -> Organisation:
        if self.instance is not None and self.instance.organisation_id != organisation.pk:
            raise serializers.ValidationError(_("A contract stays with its organisation."))
        return organisation


class SuspendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class NamedContactSerializer(serializers.ModelSerializer):
    contract = TenantRelatedField(Contract)
    contact = TenantRelatedField(Contact)

    class Meta:
        model = NamedContact
        fields = ["id", "contract", "contact", "added_at", "added_by"]
        read_only_fields = ["added_at", "added_by"]


class EntitlementRequestSerializer(serializers.Serializer):
    contact = TenantRelatedField(Contact)
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    request_type = TenantRelatedField(RequestType, required=False, allow_null=True)
    at = serializers.DateTimeField(required=False, allow_null=True)


class EntitlementSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    billable = serializers.BooleanField()
    requires_acceptance = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    contract = serializers.IntegerField(allow_null=True, source="contract.pk", default=None)
    plan = serializers.IntegerField(allow_null=True, source="plan.pk", default=None)
    plan_name = serializers.CharField(allow_null=True, source="plan.name", default=None)
    sla_policy = serializers.IntegerField(allow_null=True, source="sla_policy.pk", default=None)
    sla_policy_name = serializers.CharField(allow_null=True, source="sla_policy.name", default=None)
    notify = serializers.SerializerMethodField()

    def get_notify(self, entitlement: Any) -> list[int]:
        """User ids of the people to notify."""
        return [user.pk for user in entitlement.notify]
