"""Forms of the contract admin pages: parsing only; the rules live in models and services.

Every choice of a related row is limited to the request's tenant, so a posted id of
another tenant's row is simply "not a valid choice".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.choices import Category, Channel
from sla.models import SLAPolicy
from supportdesk.models import Tenant

from .imports import import_size_check
from .models import Contact, Contract, Feature, Organisation, RequestType, SupportPlan
from .services import staff_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = [
            "name",
            "org_number",
            "email_domains",
            "is_licence_customer",
            "language",
            "account_manager",
            "customer_success_manager",
            "service_owner",
            "project_manager",
            "project_ends_on",
            "notes",
        ]
        widgets = {"project_ends_on": DATE, "notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = staff_choices(tenant=tenant)
        for name in Organisation.STAFF_FIELDS:
            self.fields[name].queryset = staff  # type: ignore[attr-defined]


class ContactForm(forms.ModelForm):
    # Declared, not generated: a generated field would query every tenant's rows at import.
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), required=False
    )

    class Meta:
        model = Contact
        fields = [
            "organisation",
            "name",
            "email",
            "phone",
            "language",
            "trained_on",
            "training_notes",
            "follows_organisation",
            "receives_monthly_report",
        ]
        widgets = {"trained_on": DATE}

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant
        )


class FeatureForm(forms.ModelForm):
    class Meta:
        model = Feature
        fields = ["key", "name", "description", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class RequestTypeForm(forms.ModelForm):
    class Meta:
        model = RequestType
        fields = ["name", "description", "category", "position", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


SCOPE_CHOICES = [
    ("", _("Not in the table")),
    ("included", _("Included")),
    ("billable", _("Billable")),
]


class PlanForm(forms.ModelForm):
    """The plan's settings plus one checkbox and label per feature of the tenant's matrix."""

    allowed_channels = forms.MultipleChoiceField(
        label=_("Allowed channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    included_categories = forms.MultipleChoiceField(
        label=_("Included request categories"),
        help_text=_("Requests of other categories are out of scope: allowed, but billed."),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sla_policy = forms.ModelChoiceField(
        label=_("SLA policy"),
        help_text=_("Empty means no response-time promise."),
        queryset=SLAPolicy.objects.none(),
        required=False,
    )

    class Meta:
        model = SupportPlan
        fields = [
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
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sla_policy"].queryset = SLAPolicy.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant
        )
        self.matrix_features = list(Feature.objects.filter(tenant=tenant))
        current: dict[str, str] = {}
        if self.instance.pk is not None:
            current = {
                pf.feature.key: pf.value
                for pf in self.instance.plan_features.select_related("feature")
            }
        for feature in self.matrix_features:
            self.fields[f"feature_{feature.key}"] = forms.BooleanField(
                label=feature.name, required=False, initial=feature.key in current
            )
            self.fields[f"feature_{feature.key}_value"] = forms.CharField(
                label=_("Label for %(feature)s") % {"feature": feature.name},
                required=False,
                max_length=100,
                initial=current.get(feature.key, ""),
            )

        self.scope_types = list(RequestType.objects.filter(tenant=tenant))
        table: dict[int, bool] = {}
        if self.instance.pk is not None:
            table = dict(
                self.instance.plan_request_types.values_list("request_type_id", "included")
            )
        for request_type in self.scope_types:
            now = table.get(request_type.pk)
            self.fields[f"scope_{request_type.pk}"] = forms.ChoiceField(
                label=request_type.name,
                choices=SCOPE_CHOICES,
                required=False,
                initial="" if now is None else ("included" if now else "billable"),
            )

    def scope_rows(self) -> list[tuple[RequestType, forms.BoundField]]:
        """(request type, its choice) per type of the tenant, for the scope table."""
        return [(t, self[f"scope_{t.pk}"]) for t in self.scope_types]

    def scope_table(self) -> dict[int, bool]:
        """The scope table as {request type id: included} for ``plan_save``."""
        table: dict[int, bool] = {}
        for request_type in self.scope_types:
            value = self.cleaned_data.get(f"scope_{request_type.pk}")
            if value:
                table[request_type.pk] = value == "included"
        return table

    def matrix_rows(self) -> list[tuple[Feature, forms.BoundField, forms.BoundField]]:
        """(feature, checkbox, label field) per feature, for the matrix table."""
        return [
            (f, self[f"feature_{f.key}"], self[f"feature_{f.key}_value"])
            for f in self.matrix_features
        ]

    def feature_matrix(self) -> dict[str, str]:
        """The ticked features as {key: label} for ``plan_save``."""
        return {
            f.key: self.cleaned_data.get(f"feature_{f.key}_value", "")
            for f in self.matrix_features
            if self.cleaned_data.get(f"feature_{f.key}")
        }


class ContractForm(forms.ModelForm):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none()
    )
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=SupportPlan.objects.none())

    class Meta:
        model = Contract
        fields = [
            "organisation",
            "plan",
            "starts_on",
            "ends_on",
            "extra_named_contacts",
            "custom_price",
            "notes",
        ]
        widgets = {
            "starts_on": DATE,
            "ends_on": DATE,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant
        )
        self.fields["plan"].queryset = SupportPlan.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant, is_fallback=False
        )
        if self.instance.pk is not None:
            # A contract stays with its organisation; a new contract is a new row.
            self.fields["organisation"].disabled = True


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("For example: invoice 1042 is overdue."),
    )


class NamedContactForm(forms.Form):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer the organisation's contacts; the service re-checks the organisation.
        self.fields["contact"].queryset = (  # type: ignore[attr-defined]
            Contact.objects.filter(tenant_id=contract.tenant_id, organisation=contract.organisation)
            .exclude(named_on__contract=contract)
            .order_by("name")
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 or Windows-1252, separated by commas or semicolons."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        import_size_check(upload.size)
        return upload


class EntitlementCheckForm(forms.Form):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    request_type = forms.ModelChoiceField(
        label=_("Request type"),
        queryset=RequestType.objects.none(),
        required=False,
        empty_label=_("(none)"),
        help_text=_("When given, it decides the category, and the plan's scope table billing."),
    )
    at = forms.DateTimeField(
        label=_("At"),
        required=False,
        help_text=_("Empty means now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant
        ).select_related("organisation")
        self.fields["request_type"].queryset = RequestType.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant, is_active=True
        )
