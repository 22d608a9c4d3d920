"""Tenant admin pages for contracts, under /manage/ (admins only)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "contracts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("manage/organisations/", views.organisation_list, name="organisation-list"),
    path("manage/organisations/new/", views.organisation_create, name="organisation-create"),
    path(
        "manage/organisations/<int:organisation_id>/",
        views.organisation_detail,
        name="organisation-detail",
    ),
    path(
        "manage/organisations/<int:organisation_id>/edit/",
        views.organisation_edit,
        name="organisation-edit",
    ),
    path("manage/contacts/", views.contact_list, name="contact-list"),
    path("manage/contacts/new/", views.contact_create, name="contact-create"),
    path("manage/contacts/import/", views.contact_import, name="contact-import"),
    path("manage/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact-edit"),
    path("manage/features/", views.feature_list, name="feature-list"),
    path("manage/features/<int:feature_id>/edit/", views.feature_edit, name="feature-edit"),
    path("manage/request-types/", views.request_type_list, name="request-type-list"),
    path(
        "manage/request-types/<int:request_type_id>/edit/",
        views.request_type_edit,
        name="request-type-edit",
    ),
    path("manage/plans/", views.plan_list, name="plan-list"),
    path("manage/plans/new/", views.plan_create, name="plan-create"),
    path("manage/plans/<int:plan_id>/edit/", views.plan_edit, name="plan-edit"),
    path("manage/contracts/", views.contract_list, name="contract-list"),
    path("manage/contracts/new/", views.contract_create, name="contract-create"),
    path("manage/contracts/<int:contract_id>/", views.contract_detail, name="contract-detail"),
    path("manage/contracts/<int:contract_id>/edit/", views.contract_edit, name="contract-edit"),
    path(
        "manage/contracts/<int:contract_id>/suspend/",
        views.contract_suspend,
        name="contract-suspend",
    ),
    path(
        "manage/contracts/<int:contract_id>/resume/", views.contract_resume, name="contract-resume"
    ),
    path(
        "manage/contracts/<int:contract_id>/expire/", views.contract_expire, name="contract-expire"
    ),
    path(
        "manage/contracts/<int:contract_id>/named-contacts/",
        views.named_contact_add,
        name="named-contact-add",
    ),
    path(
        "manage/named-contacts/<int:named_contact_id>/remove/",
        views.named_contact_remove,
        name="named-contact-remove",
    ),
    path("manage/entitlements/", views.entitlement_check, name="entitlement-check"),
]
