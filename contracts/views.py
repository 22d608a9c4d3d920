"""Tenant admin pages under /manage/: organisations, contacts, features, plans, contracts.

Each view: fetch through ``contracts.access`` (404 for other tenants' rows) -> parse with a
form -> call one service -> render or redirect. Admins only.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supportdesk.access import admin_required
from supportdesk.forms import add_service_errors, add_service_messages, form_save
from supportdesk.http import StaffRequest
from supportdesk.models import User

from . import services
from .access import (
    get_contact_for_admin,
    get_contract_for_admin,
    get_feature_for_admin,
    get_named_contact_for_admin,
    get_organisation_for_admin,
    get_plan_for_admin,
    get_request_type_for_admin,
)
from .forms import (
    ContactForm,
    ContractForm,
    EntitlementCheckForm,
    FeatureForm,
    ImportForm,
    NamedContactForm,
    OrganisationForm,
    PlanForm,
    RequestTypeForm,
    SuspendForm,
)
from .imports import contacts_import_csv
from .models import (
    CURRENT_STATUSES,
    Contact,
    Contract,
    ContractStatus,
    Feature,
    NamedContact,
    Organisation,
    PlanFeature,
    PlanRequestType,
    RequestType,
    SupportPlan,
)

PAGE_SIZE = 50


def _req(request: HttpRequest) -> Any:
    """The request with the tenant middleware's attributes (``tenant``, ``membership``)."""
    return request


def _actor(request: HttpRequest) -> User:
    """The signed-in admin; ``admin_required`` has already turned anonymous visitors away."""
    return cast(User, request.user)


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _current_contracts() -> Prefetch:
    return Prefetch(
        "contracts",
        queryset=Contract.objects.current().select_related("plan"),
        to_attr="current_contracts",
    )


# --- Organisations ---------------------------------------------------------------------


@admin_required
def organisation_list(request: StaffRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    organisations = (
        Organisation.objects.filter(tenant=_req(request).tenant)
        .select_related("account_manager")
        .annotate(contact_count=Count("contacts"))
        .prefetch_related(_current_contracts())
        .order_by("name", "id")
    )
    if query:
        organisations = organisations.filter(
            Q(name__icontains=query) | Q(org_number__icontains=query)
        )
    return render(
        request,
        "contracts/organisation_list.html",
        {"page": _page(request, organisations), "q": query},
    )


@admin_required
def organisation_create(request: StaffRequest) -> HttpResponse:
    tenant = _req(request).tenant
    form = OrganisationForm(
        request.POST or None, instance=Organisation(tenant=tenant), tenant=tenant
    )
    organisation = form_save(
        request,
        form,
        lambda: services.organisation_save(organisation=form.instance, actor=_actor(request)),
    )
    if organisation is not None:
        messages.success(request, _("Organisation created."))
        return redirect("contracts:organisation-detail", organisation_id=organisation.pk)
    return render(request, "contracts/organisation_form.html", {"form": form})


@admin_required
def organisation_detail(request: StaffRequest, organisation_id: int) -> HttpResponse:
    organisation = get_organisation_for_admin(request, organisation_id)
    contracts = organisation.contracts.select_related("plan").annotate(
        named_count=Count("named_contacts")
    )
    contacts = organisation.contacts.prefetch_related(
        Prefetch(
            "named_on",
            queryset=NamedContact.objects.filter(contract__status__in=CURRENT_STATUSES),
        )
    )
    return render(
        request,
        "contracts/organisation_detail.html",
        {"organisation": organisation, "contracts": contracts, "contacts": contacts},
    )


@admin_required
def organisation_edit(request: StaffRequest, organisation_id: int) -> HttpResponse:
    organisation = get_organisation_for_admin(request, organisation_id)
    form = OrganisationForm(
        request.POST or None, instance=organisation, tenant=_req(request).tenant
    )
    saved = form_save(
        request,
        form,
        lambda: services.organisation_save(organisation=form.instance, actor=_actor(request)),
    )
    if saved is not None:
        messages.success(request, _("Organisation saved."))
        return redirect("contracts:organisation-detail", organisation_id=organisation.pk)
    return render(
        request, "contracts/organisation_form.html", {"form": form, "organisation": organisation}
    )


# --- Contacts ----------------------------------------------------------------------------


@admin_required
def contact_list(request: StaffRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    contacts = (
        Contact.objects.filter(tenant=_req(request).tenant)
        .select_related("organisation", "user")
        .order_by("name", "id")
    )
    if query:
        contacts = contacts.filter(
            Q(name__icontains=query)
            | Q(email__icontains=query)
            | Q(organisation__name__icontains=query)
        )
    return render(
        request, "contracts/contact_list.html", {"page": _page(request, contacts), "q": query}
    )


@admin_required
def contact_create(request: StaffRequest) -> HttpResponse:
    tenant = _req(request).tenant
    initial = {"organisation": request.GET.get("organisation")}
    form = ContactForm(
        request.POST or None, instance=Contact(tenant=tenant), tenant=tenant, initial=initial
    )
    contact = form_save(
        request, form, lambda: services.contact_save(contact=form.instance, actor=_actor(request))
    )
    if contact is not None:
        messages.success(request, _("Contact created."))
        if contact.organisation_id:
            return redirect(
                "contracts:organisation-detail", organisation_id=contact.organisation_id
            )
        return redirect("contracts:contact-list")
    return render(request, "contracts/contact_form.html", {"form": form})


@admin_required
def contact_edit(request: StaffRequest, contact_id: int) -> HttpResponse:
    contact = get_contact_for_admin(request, contact_id)
    form = ContactForm(request.POST or None, instance=contact, tenant=_req(request).tenant)
    saved = form_save(
        request, form, lambda: services.contact_save(contact=form.instance, actor=_actor(request))
    )
    if saved is not None:
        messages.success(request, _("Contact saved."))
        return redirect("contracts:contact-list")
    return render(request, "contracts/contact_form.html", {"form": form, "contact": contact})


# --- Features and plans ----------------------------------------------------------------


@admin_required
def feature_list(request: StaffRequest) -> HttpResponse:
    tenant = _req(request).tenant
    form = FeatureForm(request.POST or None, instance=Feature(tenant=tenant))
    saved = form_save(
        request, form, lambda: services.feature_save(feature=form.instance, actor=_actor(request))
    )
    if saved is not None:
        messages.success(request, _("Feature added."))
        return redirect("contracts:feature-list")
    features = Feature.objects.filter(tenant=tenant)
    return render(request, "contracts/feature_list.html", {"form": form, "features": features})


@admin_required
def feature_edit(request: StaffRequest, feature_id: int) -> HttpResponse:
    feature = get_feature_for_admin(request, feature_id)
    form = FeatureForm(request.POST or None, instance=feature)
    saved = form_save(
        request, form, lambda: services.feature_save(feature=form.instance, actor=_actor(request))
    )
    if saved is not None:
        messages.success(request, _("Feature saved."))
        return redirect("contracts:feature-list")
    return render(request, "contracts/feature_form.html", {"form": form, "feature": feature})


@admin_required
def request_type_list(request: StaffRequest) -> HttpResponse:
    """The tenant's request types, and a form to add one; plans mark them on their page."""
    tenant = _req(request).tenant
    form = RequestTypeForm(request.POST or None, instance=RequestType(tenant=tenant))
    saved = form_save(
        request,
        form,
        lambda: services.request_type_save(request_type=form.instance, actor=_actor(request)),
    )
    if saved is not None:
        messages.success(request, _("Request type added."))
        return redirect("contracts:request-type-list")
    types = RequestType.objects.filter(tenant=tenant)
    return render(request, "contracts/request_type_list.html", {"form": form, "types": types})


@admin_required
def request_type_edit(request: StaffRequest, request_type_id: int) -> HttpResponse:
    request_type = get_request_type_for_admin(request, request_type_id)
    form = RequestTypeForm(request.POST or None, instance=request_type)
    saved = form_save(
        request,
        form,
        lambda: services.request_type_save(request_type=form.instance, actor=_actor(request)),
    )
    if saved is not None:
        messages.success(request, _("Request type saved."))
        return redirect("contracts:request-type-list")
    return render(
        request,
        "contracts/request_type_form.html",
        {"form": form, "request_type": request_type},
    )


@admin_required
def plan_list(request: StaffRequest) -> HttpResponse:
    """Every plan with its settings, and the feature matrix as features x plans."""
    tenant = _req(request).tenant
    plans = list(
        SupportPlan.objects.filter(tenant=tenant)
        .select_related("sla_policy")
        .prefetch_related(
            Prefetch("plan_features", queryset=PlanFeature.objects.select_related("feature")),
            Prefetch(
                "plan_request_types",
                queryset=PlanRequestType.objects.select_related("request_type"),
            ),
        )
    )
    features = list(Feature.objects.filter(tenant=tenant))
    cells = {(pf.plan_id, pf.feature_id): pf for plan in plans for pf in plan.plan_features.all()}
    matrix = [(f, [cells.get((p.pk, f.pk)) for p in plans]) for f in features]
    return render(
        request,
        "contracts/plan_list.html",
        {"plans": plans, "features": features, "matrix": matrix},
    )


def _plan_form_view(request: HttpRequest, plan: SupportPlan) -> HttpResponse:
    form = PlanForm(request.POST or None, instance=plan, tenant=_req(request).tenant)
    saved = form_save(
        request,
        form,
        lambda: services.plan_save(
            plan=form.instance,
            features=form.feature_matrix(),
            scope=form.scope_table(),
            actor=_actor(request),
        ),
    )
    if saved is not None:
        messages.success(request, _("Plan saved."))
        return redirect("contracts:plan-list")
    return render(request, "contracts/plan_form.html", {"form": form, "plan": plan})


@admin_required
def plan_create(request: StaffRequest) -> HttpResponse:
    return _plan_form_view(request, SupportPlan(tenant=_req(request).tenant))


@admin_required
def plan_edit(request: StaffRequest, plan_id: int) -> HttpResponse:
    return _plan_form_view(request, get_plan_for_admin(request, plan_id))


# --- Contracts -------------------------------------------------------------------------


@admin_required
def contract_list(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    contracts = (
        Contract.objects.filter(tenant=_req(request).tenant)
        .select_related("organisation", "plan")
        .annotate(named_count=Count("named_contacts"))
        .order_by("organisation__name", "-starts_on", "id")
    )
    if status in ContractStatus.values:
        contracts = contracts.filter(status=status)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "page": _page(request, contracts),
            "status": status,
            "statuses": ContractStatus.choices,
        },
    )


@admin_required
def contract_create(request: StaffRequest) -> HttpResponse:
    tenant = _req(request).tenant
    initial = {"organisation": request.GET.get("organisation")}
    form = ContractForm(
        request.POST or None, instance=Contract(tenant=tenant), tenant=tenant, initial=initial
    )
    contract = form_save(
        request, form, lambda: services.contract_save(contract=form.instance, actor=_actor(request))
    )
    if contract is not None:
        messages.success(request, _("Contract created."))
        return redirect("contracts:contract-detail", contract_id=contract.pk)
    return render(request, "contracts/contract_form.html", {"form": form})


@admin_required
def contract_detail(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    named = contract.named_contacts.select_related("contact", "added_by")
    used, limit = services.named_contacts_used(contract=contract)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "named": named,
            "used": used,
            "limit": limit,
            "named_form": NamedContactForm(contract=contract),
            "suspend_form": SuspendForm(),
            "events": contract.events.select_related("actor")[:50],
        },
    )


@admin_required
def contract_edit(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    form = ContractForm(request.POST or None, instance=contract, tenant=_req(request).tenant)
    saved = form_save(
        request, form, lambda: services.contract_save(contract=form.instance, actor=_actor(request))
    )
    if saved is not None:
        messages.success(request, _("Contract saved."))
        return redirect("contracts:contract-detail", contract_id=contract.pk)
    return render(request, "contracts/contract_form.html", {"form": form, "contract": contract})


@admin_required
@require_POST
def contract_suspend(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the suspension."))
        return redirect("contracts:contract-detail", contract_id=contract.pk)
    try:
        services.contract_suspend(
            contract=contract, reason=form.cleaned_data["reason"], actor=_actor(request)
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Contract suspended."))
    return redirect("contracts:contract-detail", contract_id=contract.pk)


@admin_required
@require_POST
def contract_resume(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    try:
        services.contract_resume(contract=contract, actor=_actor(request))
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(request, _("Contract resumed."))
    return redirect("contracts:contract-detail", contract_id=contract.pk)


@admin_required
@require_POST
def contract_expire(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    services.contract_expire(contract=contract, actor=_actor(request))
    messages.success(request, _("Contract marked as expired."))
    return redirect("contracts:contract-detail", contract_id=contract.pk)


@admin_required
@require_POST
def named_contact_add(request: StaffRequest, contract_id: int) -> HttpResponse:
    contract = get_contract_for_admin(request, contract_id)
    form = NamedContactForm(request.POST, contract=contract)
    if not form.is_valid():
        messages.error(request, _("Choose a contact of this organisation."))
        return redirect("contracts:contract-detail", contract_id=contract.pk)
    try:
        named = services.named_contact_add(
            contract=contract, contact=form.cleaned_data["contact"], actor=_actor(request)
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    else:
        messages.success(
            request, _("%(name)s is now a named contact.") % {"name": named.contact.name}
        )
    return redirect("contracts:contract-detail", contract_id=contract.pk)


@admin_required
@require_POST
def named_contact_remove(request: StaffRequest, named_contact_id: int) -> HttpResponse:
    named = get_named_contact_for_admin(request, named_contact_id)
    contract_id = named.contract_id
    services.named_contact_remove(named_contact=named, actor=_actor(request))
    messages.success(request, _("Named contact removed."))
    return redirect("contracts:contract-detail", contract_id=contract_id)


# --- Import and the entitlement check --------------------------------------------------


@admin_required
def contact_import(request: StaffRequest) -> HttpResponse:
    """Upload a CSV of organisations and contacts; processed at once, reported per row."""
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = contacts_import_csv(
                tenant=_req(request).tenant,
                data=form.cleaned_data["file"].read(),
                actor=_req(request).user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "contracts/contact_import.html", {"form": form, "report": report})


@admin_required
def entitlement_check(request: StaffRequest) -> HttpResponse:
    """Ask the entitlement check by hand: who may ask what, by which channel, when."""
    tenant = _req(request).tenant
    form = EntitlementCheckForm(request.GET or None, tenant=tenant)
    result = None
    if form.is_valid():
        try:
            result = services.entitlement_check(
                contact=form.cleaned_data["contact"],
                channel=form.cleaned_data["channel"],
                category=form.cleaned_data["category"],
                at=form.cleaned_data["at"],
                request_type=form.cleaned_data["request_type"],
            )
        except ValidationError as exc:
            # A type the contact's plan table does not list: said on the field.
            add_service_errors(form, exc)
    return render(request, "contracts/entitlement_check.html", {"form": form, "result": result})
